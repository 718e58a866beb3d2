"""uplink_py.aio against the local network: many transfers at once, streams,
cancellation that leaves nothing committed, errors as uplink_py.errors classes."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import StorjNetwork, assert_same_bytes, random_bytes

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


def run(coro: Any) -> Any:
    """asyncio.run, failing on anything the loop reports (e.g. "exception was never retrieved")."""
    reports: list[dict[str, Any]] = []

    async def checked() -> Any:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: reports.append(context))
        try:
            return await coro
        finally:
            await asyncio.sleep(0)
            gc.collect()
            await asyncio.sleep(0)

    result = asyncio.run(checked())
    assert reports == [], [r.get("message") for r in reports]
    return result


def test_import_does_not_load_the_native_module() -> None:
    import subprocess
    import sys

    code = "import sys, uplink_py.aio; print('uplink_py._core' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", check=True)
    assert res.stdout.strip() == "False"


def test_gather_many_transfers(storj_network: StorjNetwork, py_bucket: str) -> None:
    """50 uploads, then 50 downloads (bytes and into numpy), all in one gather each."""
    from uplink_py import ListObjectsOptions, aio

    blobs = {f"many/{i:02d}": random_bytes(1 + (i * 7919) % (300 * 1024)) for i in range(50)}

    async def main() -> None:
        async with await aio.open_project(storj_network.access, max_workers=12) as project:
            infos = await asyncio.gather(*(project.upload_bytes(py_bucket, k, v) for k, v in blobs.items()))
            assert [i.key for i in infos] == list(blobs)
            assert [i.system.content_length for i in infos] == [len(v) for v in blobs.values()]

            got = await asyncio.gather(*(project.download_bytes(py_bucket, k) for k in blobs))
            for data, want in zip(got, blobs.values()):
                assert_same_bytes(data, want)

            arrays = [np.zeros(len(v), dtype=np.uint8) for v in blobs.values()]
            counts = await asyncio.gather(*(project.download_into(py_bucket, k, a) for k, a in zip(blobs, arrays)))
            assert counts == [len(v) for v in blobs.values()]
            for array, want in zip(arrays, blobs.values()):
                assert_same_bytes(array, want)

            listed = {o.key: o.system.content_length async for o in project.list_objects(
                py_bucket, ListObjectsOptions(prefix="many/", recursive=True, system=True))}
            assert listed == {k: len(v) for k, v in blobs.items()}
        assert project.closed

    run(main())


def test_listing_pages_through_many_items(access: Any, py_bucket: str) -> None:
    """The async iterators fetch in batches; every item arrives once, buckets too."""
    from uplink_py import ListObjectsOptions, aio

    async def main() -> None:
        async with await aio.open_project(access) as project:
            aio_mod: Any = aio
            old, aio_mod._LIST_BATCH = aio_mod._LIST_BATCH, 3  # force several batches
            try:
                keys = [f"k{i:02d}" for i in range(10)]
                await asyncio.gather(*(project.upload_bytes(py_bucket, k, k.encode()) for k in keys))
                listed = [o.key async for o in project.list_objects(py_bucket, ListObjectsOptions(recursive=True))]
                assert sorted(listed) == keys
                names = [b.name async for b in project.list_buckets()]
                assert py_bucket in names
            finally:
                aio_mod._LIST_BATCH = old

    run(main())


def test_buckets_and_object_calls(access: Any) -> None:
    from uplink_py import aio
    from uplink_py.errors import BucketAlreadyExistError, BucketNotEmptyError, BucketNotFoundError

    from conftest import unique_bucket_name

    name = unique_bucket_name("aio-buckets")

    async def main() -> None:
        async with await aio.open_project(access, max_workers=2) as project:
            created = await project.create_bucket(name)
            assert created.name == name
            assert (await project.ensure_bucket(name)).name == name
            assert (await project.stat_bucket(name)).name == name
            with pytest.raises(BucketAlreadyExistError):
                await project.create_bucket(name)

            await project.upload_bytes(name, "a", b"alpha", custom_metadata={"k": "v"})
            copied = await project.copy_object(name, "a", name, "b")
            assert copied.key == "b"
            await project.move_object(name, "b", name, "c")
            assert await project.download_bytes(name, "c") == b"alpha"
            assert (await project.stat_object(name, "a")).custom.to_dict() == {"k": "v"}
            deleted = await project.delete_object(name, "a")
            assert deleted is not None and deleted.key == "a"
            with pytest.raises(BucketNotEmptyError):
                await project.delete_bucket(name)
            await project.delete_bucket(name, with_objects=True)
            with pytest.raises(BucketNotFoundError):
                await project.stat_bucket(name)

    run(main())


def test_streams_and_files(access: Any, py_bucket: str, tmp_path: Path) -> None:
    from uplink_py import DownloadOptions, aio
    from uplink_py.errors import ObjectNotFoundError

    data = random_bytes(3 * MiB + 17)

    async def main() -> None:
        async with await aio.open_project(access) as project:
            async with await project.upload_object(py_bucket, "stream") as upload:
                for offset in range(0, len(data), MiB):
                    assert await upload.write(data[offset : offset + MiB]) == len(data[offset : offset + MiB])
                await upload.set_custom_metadata({"via": "aio"})
            assert upload.closed
            assert (await upload.info()).custom.to_dict() == {"via": "aio"}

            async with await project.download_object(py_bucket, "stream") as download:
                assert await download.file_size() == len(data)
                head = await download.read(100)
                buffer = bytearray(MiB)
                assert await download.readinto(buffer) == MiB
                rest = await download.read()
            assert_same_bytes(head + buffer + rest, data)
            assert download.closed

            async with await project.download_object(py_bucket, "stream", DownloadOptions(10, 20)) as ranged:
                assert await ranged.read() == data[10:30]

            # an error inside the block aborts: nothing is committed
            with pytest.raises(ZeroDivisionError):
                async with await project.upload_object(py_bucket, "aborted") as upload:
                    await upload.write(b"never committed")
                    1 / 0
            with pytest.raises(ObjectNotFoundError):
                await project.stat_object(py_bucket, "aborted")

            source = tmp_path / "source.bin"
            source.write_bytes(data)
            await project.upload_file(py_bucket, "file", source, part_size=MiB, max_concurrency=3)
            target = tmp_path / "target.bin"
            info = await project.download_file(py_bucket, "file", target, part_size=MiB)
            assert info.system.content_length == len(data)
            assert_same_bytes(target.read_bytes(), data)

    run(main())


async def _cancel_when(task: asyncio.Task[Any], reached: asyncio.Event) -> float:
    """Cancels ``task`` once ``reached`` is set; the seconds the task took to stop."""
    await asyncio.wait_for(reached.wait(), 120)
    assert not task.done()
    task.cancel()
    start = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await task
    return time.monotonic() - start


def _progress_event(threshold: int) -> tuple[asyncio.Event, Any, list[int]]:
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if done >= threshold:
            loop.call_soon_threadsafe(event.set)

    return event, progress, seen


@pytest.mark.parametrize("max_concurrency", [1, 3], ids=["one-stream", "parallel-parts"])
def test_cancelling_a_large_upload_commits_nothing(access: Any, py_bucket: str, max_concurrency: int) -> None:
    from uplink_py import ListUploadsOptions, aio
    from uplink_py.errors import ObjectNotFoundError

    data = random_bytes(160 * MiB)

    async def main() -> None:
        async with await aio.open_project(access) as project:
            reached, progress, seen = _progress_event(24 * MiB)
            task = asyncio.create_task(project.upload_bytes(
                py_bucket, "big", data, max_concurrency=max_concurrency, part_size=16 * MiB, progress=progress))
            stopped_in = await _cancel_when(task, reached)
            assert stopped_in < 20
            assert seen[-1] < len(data), "the upload finished before it was cancelled"
            with pytest.raises(ObjectNotFoundError):
                await project.stat_object(py_bucket, "big")
            # the upload was aborted: its pending object goes within a few seconds (an abort
            # waits about a second for the satellite, then finishes in the background)
            deadline = time.monotonic() + 10
            while True:
                pending = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: project.project.list_uploads(py_bucket, ListUploadsOptions(recursive=True)))
                if not pending or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            assert [u.key for u in pending] == []
            # the project is still fine for the next transfer
            await project.upload_bytes(py_bucket, "after", b"ok")
            assert await project.download_bytes(py_bucket, "after") == b"ok"

    run(main())


def test_cancelling_a_streamed_write(access: Any, py_bucket: str) -> None:
    from uplink_py import aio
    from uplink_py.errors import InvalidHandleError, ObjectNotFoundError

    async def main() -> None:
        async with await aio.open_project(access) as project:
            upload = await project.upload_object(py_bucket, "stream")
            task = asyncio.create_task(upload.write(random_bytes(256 * MiB)))
            await asyncio.sleep(1.0)
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert upload.closed
            with pytest.raises(InvalidHandleError):
                await upload.commit()
            with pytest.raises(ObjectNotFoundError):
                await project.stat_object(py_bucket, "stream")

            async def write_in_block() -> None:  # the same inside `async with`: it aborts
                async with await project.upload_object(py_bucket, "block") as upload:
                    await upload.write(random_bytes(256 * MiB))

            task = asyncio.create_task(write_in_block())
            await asyncio.sleep(1.0)
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            with pytest.raises(ObjectNotFoundError):
                await project.stat_object(py_bucket, "block")

    run(main())


def test_cancelling_downloads(access: Any, py_bucket: str, tmp_path: Path) -> None:
    from uplink_py import aio

    data = random_bytes(128 * MiB)

    async def main() -> None:
        async with await aio.open_project(access) as project:
            await project.upload_bytes(py_bucket, "big", data, part_size=32 * MiB)

            reached, progress, seen = _progress_event(16 * MiB)
            task = asyncio.create_task(project.download_bytes(py_bucket, "big", part_size=8 * MiB,
                                                              max_concurrency=2, progress=progress))
            assert await _cancel_when(task, reached) < 20
            assert seen[-1] < len(data)

            reached, progress, seen = _progress_event(16 * MiB)
            target = tmp_path / "big.bin"
            task = asyncio.create_task(project.download_file(py_bucket, "big", target, part_size=8 * MiB,
                                                             max_concurrency=2, progress=progress))
            await _cancel_when(task, reached)
            assert seen[-1] < len(data)
            assert list(tmp_path.iterdir()) == []  # neither the target nor a partial file

            download = await project.download_object(py_bucket, "big")
            task = asyncio.create_task(download.read())
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert download.closed

            # the project still works after all that
            assert_same_bytes(await project.download_bytes(py_bucket, "big"), data)

    run(main())


def test_cancelling_a_queued_call_leaves_the_others_alone(access: Any, py_bucket: str) -> None:
    """With one worker, a stat queued behind a download can be cancelled while it waits,
    and the download ahead of it completes."""
    from uplink_py import aio

    data = random_bytes(8 * MiB)

    async def main() -> None:
        async with await aio.open_project(access, max_workers=1) as project:
            await project.upload_bytes(py_bucket, "x", data)
            download = asyncio.create_task(project.download_bytes(py_bucket, "x"))
            await asyncio.sleep(0)
            stat = asyncio.create_task(project.stat_object(py_bucket, "x"))
            await asyncio.sleep(0.01)
            stat.cancel()
            with pytest.raises(asyncio.CancelledError):
                await stat
            assert_same_bytes(await download, data)

    run(main())


def test_the_executor_is_bounded(access: Any, py_bucket: str) -> None:
    from uplink_py import aio

    threads: set[str] = set()

    def progress(done: int, total: int) -> None:  # called on the thread that uploads
        threads.add(threading.current_thread().name)

    async def upload(project: aio.AsyncProject, i: int) -> None:
        await project.upload_bytes(py_bucket, f"b{i}", random_bytes(1000), progress=progress)

    async def main() -> None:
        async with await aio.open_project(access, max_workers=2) as project:
            await asyncio.gather(*(upload(project, i) for i in range(8)))
            count = sum([1 async for _ in project.list_objects(py_bucket)])
            assert count == 8

    run(main())
    assert 1 <= len(threads) <= 2, threads
    assert all(name.startswith("uplink-py-aio") for name in threads), threads


def test_errors_are_uplink_py_classes(access: Any, py_bucket: str) -> None:
    from uplink_py import aio
    from uplink_py.errors import (
        BucketNotFoundError,
        InvalidHandleError,
        ObjectKeyInvalidError,
        ObjectNotFoundError,
        StorjException,
    )

    async def main() -> None:
        project = await aio.open_project(access)
        with pytest.raises(ObjectNotFoundError) as info:
            await project.stat_object(py_bucket, "missing")
        assert isinstance(info.value, FileNotFoundError)
        with pytest.raises(ObjectNotFoundError):
            await project.download_bytes(py_bucket, "missing")
        with pytest.raises(BucketNotFoundError):
            await project.upload_bytes("no-such-bucket-aio", "k", b"x")
        with pytest.raises(ObjectKeyInvalidError):
            await project.upload_bytes(py_bucket, "", b"x")
        with pytest.raises(BucketNotFoundError):
            [o async for o in project.list_objects("no-such-bucket-aio")]
        await project.close()
        assert project.closed
        with pytest.raises(InvalidHandleError):
            await project.stat_object(py_bucket, "missing")

    run(main())
    with pytest.raises(ValueError):
        asyncio.run(_open_with_zero_workers(access))


async def _open_with_zero_workers(access: Any) -> None:
    from uplink_py import aio

    await aio.open_project(access, max_workers=0)
