"""Threads: 16 threads share one project and mix every kind of operation (upload, download,
ranged read, stat, list, delete, multipart, whole-object helpers), checking every byte and
every listing against what each thread knows it wrote; 16 threads read one Download; a
project closed under 16 busy threads stops them all with clean errors.

test_objects.py::test_threads_share_one_project covers a few threads uploading and
downloading; this is the heavier mix.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from uplink_py import DownloadOptions, ListObjectsOptions, Project
from uplink_py.errors import InvalidHandleError, ObjectNotFoundError, StorjException

from conftest import assert_same_bytes, random_bytes

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

THREADS = 16
KiB, MiB = 1024, 1024 * 1024


def run_threads(target: Callable[[int], None], count: int = THREADS, timeout: float = 240) -> None:
    """Runs target(i) on count threads started together; re-raises the first failure."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), name=f"worker-{i}") for i in range(count)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in threads if t.is_alive()]
    assert not alive, f"threads still running after {timeout} s: {alive}"
    if errors:
        raise errors[0]


def test_sixteen_threads_mixed_operations(project: Project, py_bucket: str) -> None:
    shared = random_bytes(3 * MiB + 17)
    project.upload_bytes(py_bucket, "shared", shared)
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def worker(t: int) -> None:
        rng = random.Random(t)
        prefix = f"t{t:02d}/"
        mine: dict[str, bytes] = {}  # what this thread stored and did not delete

        def new_data() -> bytes:
            return random_bytes(rng.choice([0, 1, 100, 4 * KiB, 64 * KiB, 300 * KiB, 2 * MiB + 3]))

        def op_upload() -> None:
            key = f"{prefix}{rng.randrange(6)}"
            data = new_data()
            with project.upload_object(py_bucket, key) as upload:
                upload.set_custom_metadata({"thread": str(t), "length": str(len(data))})
                view = memoryview(data)
                step = rng.choice([7 * KiB, 64 * KiB, MiB])
                for offset in range(0, len(data), step):
                    upload.write(view[offset: offset + step])
            mine[key] = data

        def op_upload_bytes() -> None:
            key = f"{prefix}parts{rng.randrange(2)}"
            data = random_bytes(rng.choice([100 * KiB, 700 * KiB]))
            project.upload_bytes(py_bucket, key, data, part_size=256 * KiB, max_concurrency=3)
            mine[key] = data

        def op_download() -> None:
            if not mine:
                return op_upload()
            key = rng.choice(sorted(mine))
            how = rng.randrange(3)
            with project.download_object(py_bucket, key) as download:
                if how == 0:
                    got = download.readall()
                elif how == 1:
                    buffer = bytearray(len(mine[key]) + 10)
                    n = download.readinto(buffer)
                    got = bytes(buffer[:n])
                else:
                    got = b"".join(iter(lambda: download.read(50 * KiB)[0], b""))
            assert_same_bytes(got, mine[key])

        def op_range() -> None:
            offset = rng.randrange(len(shared))
            length = rng.choice([-1, 0, 1, 4 * KiB, MiB])
            with project.download_object(py_bucket, "shared", DownloadOptions(offset, length)) as download:
                got = download.readall()
            end = len(shared) if length < 0 else offset + length
            assert_same_bytes(got, shared[offset:end])

        def op_stat() -> None:
            if not mine:
                return op_upload()
            key = rng.choice(sorted(mine))
            info = project.stat_object(py_bucket, key)
            assert info.key == key and info.system.content_length == len(mine[key])
            if key[len(prefix):].isdigit():  # written by op_upload, with metadata
                assert info.custom.to_dict() == {"thread": str(t), "length": str(len(mine[key]))}

        def op_list() -> None:
            listed = project.list_objects(py_bucket, ListObjectsOptions(prefix=prefix, recursive=True, system=True))
            assert {o.key: o.system.content_length for o in listed} == {k: len(v) for k, v in mine.items()}
            if rng.random() < 0.5:  # a lazy iterator interleaved with other threads' calls
                iterator = project.iter_objects(py_bucket, ListObjectsOptions(prefix=prefix, recursive=True))
                assert {o.key for o in iterator} == set(mine)

        def op_delete() -> None:
            if not mine:
                return
            key = rng.choice(sorted(mine))
            deleted = project.delete_object(py_bucket, key)
            assert deleted is not None and deleted.key == key
            del mine[key]
            with pytest.raises(ObjectNotFoundError):
                project.stat_object(py_bucket, key)

        def op_multipart() -> None:
            key = f"{prefix}mp"
            parts = [random_bytes(rng.choice([10 * KiB, 100 * KiB])) for _ in range(rng.randint(1, 3))]
            upload_id = project.begin_upload(py_bucket, key).upload_id
            for number in reversed(range(1, len(parts) + 1)):  # out of order
                with project.upload_part(py_bucket, key, upload_id, number) as part:
                    part.write(parts[number - 1])
            listed = project.list_upload_parts(py_bucket, key, upload_id)
            assert sorted(p.part_number for p in listed) == list(range(1, len(parts) + 1))
            project.commit_upload(py_bucket, key, upload_id)
            mine[key] = b"".join(parts)

        ops = [op_upload, op_upload, op_download, op_download, op_range, op_stat, op_list, op_delete,
               op_multipart, op_upload_bytes]
        for _ in range(24):
            op = rng.choice(ops)
            op()
            with lock:
                counts[op.__name__] = counts.get(op.__name__, 0) + 1
        op_list()  # the thread's final state, as the satellite sees it
        for key, data in mine.items():
            assert_same_bytes(project.download_bytes(py_bucket, key), data)

    run_threads(worker)
    assert sum(counts.values()) == THREADS * 24 and len(counts) == 8, counts
    assert_same_bytes(project.download_bytes(py_bucket, "shared"), shared)


def test_sixteen_threads_read_one_download(project: Project, py_bucket: str) -> None:
    """Reads of one Download from 16 threads are serialized: each 4 KiB read returns one
    aligned chunk of the object, and together they cover it exactly once."""
    chunk = 4 * KiB
    data = random_bytes(1500 * chunk)
    project.upload_bytes(py_bucket, "k", data)
    seen: list[bytes] = []
    lock = threading.Lock()
    with project.download_object(py_bucket, "k") as download:

        def reader(_: int) -> None:
            while True:
                got, n = download.read(chunk)
                if n == 0:
                    return
                with lock:
                    seen.append(got)

        run_threads(reader)
    index = {data[i: i + chunk]: i for i in range(0, len(data), chunk)}
    offsets = sorted(index[got] for got in seen)  # KeyError: a chunk that is not an aligned piece
    assert offsets == list(range(0, len(data), chunk))


def test_project_closed_under_sixteen_busy_threads(access: Any, py_bucket: str) -> None:
    """Every call either succeeds with correct content or raises a StorjException; after the
    close every thread ends with InvalidHandleError; nothing hangs."""
    project = access.open_project()
    data = random_bytes(512 * KiB)
    project.upload_bytes(py_bucket, "k", data)
    outcomes: dict[int, list[str]] = {}
    closed = threading.Event()

    def worker(t: int) -> None:
        rng = random.Random(t)
        log = outcomes.setdefault(t, [])
        while True:
            try:
                which = rng.randrange(4)
                if which == 0:
                    assert_same_bytes(project.download_bytes(py_bucket, "k"), data)
                elif which == 1:
                    with project.upload_object(py_bucket, f"w{t}") as upload:
                        upload.write(data[: rng.randrange(1, len(data))])
                elif which == 2:
                    assert project.stat_object(py_bucket, "k").system.content_length == len(data)
                else:
                    assert any(o.key == "k" for o in project.list_objects(py_bucket))
                log.append("ok")
            except InvalidHandleError:
                log.append("invalid")
                if closed.is_set():
                    return
            except StorjException as exc:  # cancelled mid-call by the close
                log.append(type(exc).__name__)

    def closer() -> None:
        time.sleep(1.0)
        project.close()
        closed.set()

    threading.Thread(target=closer).start()
    run_threads(worker, timeout=120)
    assert closed.is_set()
    assert all(log and log[-1] == "invalid" for log in outcomes.values()), outcomes
    assert sum(log.count("ok") for log in outcomes.values()) > THREADS  # they did work before the close
    with access.open_project() as check:
        assert_same_bytes(check.download_bytes(py_bucket, "k"), data)
