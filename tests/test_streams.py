"""File objects: ``Project.open_writer`` (parallel parts while written, committed only on a
clean close) and ``Project.open_reader`` (one version, parallel read ahead), checked by
content hash, exact ranges, what is left under the key after failures, and memory."""

from __future__ import annotations

import gc
import io
import os
import random
import time
import tracemalloc
import warnings
from typing import Any

import numpy as np
import pytest

from conftest import assert_same_bytes, random_bytes, sha256
from uplink_py.errors import AbortedWriteWarning, ObjectChangedError, ObjectNotFoundError, StorjException
from uplink_py.module_classes import ListUploadsOptions
from uplink_py.project import Project

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
PART = 5 * MiB  # Storj's smallest part: the most parts for the bytes


def pending(project: Project, bucket: str) -> list[str]:
    return [u.key for u in project.list_uploads(bucket, ListUploadsOptions(recursive=True))]


def write_in_pieces(writer: io.BufferedIOBase, data: bytes, seed: int = 1) -> None:
    rng, view, at = random.Random(seed), memoryview(data), 0
    while at < len(data):
        n = min(len(data) - at, rng.choice([1, 7, 4096, 65536, MiB, 3 * MiB + 1]))
        assert writer.write(view[at : at + n]) == n
        at += n


# ------------------------------------------------------------------ the writer


@pytest.mark.parametrize("size", [0, 1, PART - 1, PART, PART + 1, 3 * PART + 7],
                         ids=["empty", "1B", "part-1", "part", "part+1", "3parts+7"])
def test_writer_round_trip(project: Project, py_bucket: str, size: int) -> None:
    data = random_bytes(size)
    with project.open_writer(py_bucket, "w/obj", max_concurrency=2, part_size=PART) as writer:
        write_in_pieces(writer, data)
        assert writer.tell() == size and writer.writable() and not writer.seekable()
        with pytest.raises(ObjectNotFoundError):  # nothing is visible before the commit
            project.stat_object(py_bucket, "w/obj")
    assert writer.closed and writer.info is not None and writer.info.system.content_length == size
    assert sha256(project.download_bytes(py_bucket, "w/obj")) == sha256(data)
    assert pending(project, py_bucket) == []


def test_writer_takes_numpy_and_keeps_metadata(project: Project, py_bucket: str) -> None:
    array = np.random.default_rng(3).standard_normal((700, 1000))  # 5.3 MiB of float64
    with project.open_writer(py_bucket, "w/np", custom_metadata={"kind": "array"}, part_size=PART) as writer:
        writer.write(array[:350])
        writer.write(array[350:])
    got = np.frombuffer(project.download_bytes(py_bucket, "w/np"), dtype=array.dtype).reshape(array.shape)
    assert np.array_equal(got, array)
    assert project.stat_object(py_bucket, "w/np").custom.to_dict() == {"kind": "array"}


@pytest.mark.parametrize("concurrency", [1, 3])
def test_writer_exception_stores_nothing(project: Project, py_bucket: str, concurrency: int) -> None:
    project.upload_bytes(py_bucket, "w/keep", b"the old object")
    with pytest.raises(RuntimeError, match="midway"):
        with project.open_writer(py_bucket, "w/keep", max_concurrency=concurrency, part_size=PART) as writer:
            writer.write(random_bytes(2 * PART + 3))  # parts already uploading
            raise RuntimeError("midway")
    assert writer.closed
    assert project.download_bytes(py_bucket, "w/keep") == b"the old object"
    assert pending(project, py_bucket) == []


def test_writer_abort_and_closed_errors(project: Project, py_bucket: str) -> None:
    writer = project.open_writer(py_bucket, "w/aborted", part_size=PART)
    writer.write(random_bytes(PART + 1))
    writer.abort()
    writer.abort()  # idempotent
    assert writer.closed
    with pytest.raises(ValueError):
        writer.write(b"x")
    with pytest.raises(ObjectNotFoundError):
        project.stat_object(py_bucket, "w/aborted")
    assert pending(project, py_bucket) == []
    with project.open_writer(py_bucket, "w/typed") as typed:
        with pytest.raises(TypeError):
            typed.write("text, not bytes")  # type: ignore[arg-type]
        typed.write(b"bytes")  # a bad argument does not break the writer
    assert project.download_bytes(py_bucket, "w/typed") == b"bytes"
    with pytest.raises(ValueError, match="part_size"):
        project.open_writer(py_bucket, "w/x", part_size=MiB)


def test_writer_dropped_unclosed_stores_nothing(project: Project, py_bucket: str) -> None:
    writer = project.open_writer(py_bucket, "w/dropped", part_size=PART)
    writer.write(random_bytes(PART + 10))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del writer  # collected once its part's thread lets go of it
        for _ in range(100):
            gc.collect()
            if caught:
                break
            time.sleep(0.1)
    assert any(issubclass(w.category, ResourceWarning) for w in caught)
    with pytest.raises(ObjectNotFoundError):
        project.stat_object(py_bucket, "w/dropped")
    deadline = time.monotonic() + 10  # the abort runs on the part's thread, after the warning
    while pending(project, py_bucket) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pending(project, py_bucket) == []


def test_writer_closed_while_an_exception_propagates_stores_nothing(project: Project, py_bucket: str) -> None:
    """A wrapper closes the writer from its __exit__ while an exception propagates (as
    webdataset's TarWriter does, writing its end blocks first): the half-written archive is
    not committed; nor is one closed in a finally block that an exception passes through."""
    project.upload_bytes(py_bucket, "w/archive.tar", b"the old archive")

    class Boom(Exception):
        pass

    class Archive:  # closes its file whatever happened, after writing a valid-looking end
        def __init__(self, file: io.BufferedIOBase) -> None:
            self.file = file

        def __enter__(self) -> Archive:
            return self

        def __exit__(self, *exc: object) -> None:
            self.file.write(b"\0" * 1024)
            self.file.close()

    with pytest.raises(Boom), Archive(project.open_writer(py_bucket, "w/archive.tar", part_size=PART)) as archive:
        archive.file.write(random_bytes(6 * MiB))  # a part is on its way
        raise Boom
    assert archive.file.closed
    try:
        raise ValueError("being handled")
    except ValueError:
        handled = project.open_writer(py_bucket, "w/in-except")  # opened while one is handled:
        handled.write(b"kept")
        handled.close()  # that one does not abort it
    assert project.download_bytes(py_bucket, "w/in-except") == b"kept"
    finally_closed = project.open_writer(py_bucket, "w/finally")
    with pytest.raises(Boom), pytest.warns(AbortedWriteWarning):  # an except block would have hidden Boom
        try:
            finally_closed.write(b"half")
            raise Boom
        finally:
            finally_closed.close()
    assert project.download_bytes(py_bucket, "w/archive.tar") == b"the old archive"
    with pytest.raises(ObjectNotFoundError):
        project.stat_object(py_bucket, "w/finally")


def test_writer_memory_is_bounded_by_its_part_buffers(project: Project, py_bucket: str) -> None:
    concurrency, total = 2, 48 * MiB
    chunk = random_bytes(MiB)
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with project.open_writer(py_bucket, "w/bounded", max_concurrency=concurrency, part_size=PART) as writer:
            for _ in range(total // MiB):
                writer.write(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - base <= (concurrency + 2) * PART, f"{(peak - base) / MiB:.1f} MiB"  # c+1 buffers, one growing
    assert project.stat_object(py_bucket, "w/bounded").system.content_length == total


def test_torch_save_and_load_through_the_streams(project: Project, py_bucket: str) -> None:
    """A checkpoint as ML code writes it: torch.save into the writer, torch.load from the
    reader (it seeks: a zip's directory sits at the end); tensors come back equal."""
    torch = pytest.importorskip("torch")
    state = {"w": torch.randn(1024, 2048), "b": torch.arange(1000), "step": 7}  # 8 MiB
    with project.open_writer(py_bucket, "ckpt/model.pt", part_size=PART) as writer:
        torch.save(state, writer)
    with project.open_reader(py_bucket, "ckpt/model.pt", block_size=MiB) as reader:
        loaded = torch.load(io.BufferedReader(reader), weights_only=True)
    assert loaded["step"] == 7
    assert torch.equal(loaded["w"], state["w"]) and torch.equal(loaded["b"], state["b"])


# ------------------------------------------------------------------ the reader


@pytest.fixture(scope="module")
def big(module_bucket: str, access) -> tuple[str, bytes]:  # type: ignore[no-untyped-def]
    data = random_bytes(6 * MiB + 12345)
    with access.open_project() as project:
        project.upload_bytes(module_bucket, "r/big", data, part_size=PART)
    return module_bucket, data


def test_reader_sequential_in_odd_pieces(project: Project, big: tuple[str, bytes]) -> None:
    bucket, data = big
    with project.open_reader(bucket, "r/big", max_concurrency=3, block_size=MiB) as reader:
        assert reader.size == len(data) and reader.seekable()
        got, rng = bytearray(), random.Random(5)
        while chunk := reader.read(rng.choice([1, 1000, 65536, MiB + 3, 3 * MiB])):
            got += chunk
        assert reader.read(10) == b"" and reader.tell() == len(data)
    assert_same_bytes(got, data)


def test_reader_random_access_gives_exact_ranges(project: Project, big: tuple[str, bytes]) -> None:
    bucket, data = big
    rng = random.Random(11)
    with project.open_reader(bucket, "r/big", block_size=MiB) as reader:
        for _ in range(40):
            start, length = rng.randrange(len(data) + 10), rng.choice([0, 1, 100, 300_000, 2 * MiB])
            assert reader.seek(start) == start
            assert reader.read(length) == data[start : start + length], (start, length)
        assert reader.seek(-10, os.SEEK_END) == len(data) - 10 and reader.read() == data[-10:]
        reader.seek(100)
        assert reader.seek(5, os.SEEK_CUR) == 105 and reader.read(5) == data[105:110]
        with pytest.raises(ValueError):
            reader.seek(-1)
        buffered = io.BufferedReader(reader)
        buffered.seek(0)
        assert buffered.readline() == data[: data.index(b"\n") + 1]
        view = np.zeros(1000, dtype=np.uint8)
        reader.seek(77)
        assert reader.readinto(view) == 1000 and view.tobytes() == data[77:1077]
    with pytest.raises(ValueError):
        reader.read(1)


def test_reader_never_mixes_versions(project: Project, py_bucket: str) -> None:
    old, new = random_bytes(8 * MiB), random_bytes(8 * MiB)
    project.upload_bytes(py_bucket, "r/changing", old)
    with project.open_reader(py_bucket, "r/changing", max_concurrency=2, block_size=MiB) as reader:
        head = reader.read(MiB)
        project.upload_bytes(py_bucket, "r/changing", new)
        got = bytearray(head)
        with pytest.raises(ObjectChangedError):
            while chunk := reader.read(MiB):
                got += chunk
    assert_same_bytes(got, old[: len(got)])  # what it returned is all of the old version
    assert len(got) < len(old)


def test_reader_of_a_deleted_object_raises(project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "r/deleted", random_bytes(4 * MiB))
    with project.open_reader(py_bucket, "r/deleted", max_concurrency=1, block_size=MiB) as reader:
        reader.read(10)
        project.delete_object(py_bucket, "r/deleted")
        with pytest.raises(ObjectChangedError):
            reader.read()
    with pytest.raises(ObjectNotFoundError):
        project.open_reader(py_bucket, "r/missing")


def test_reader_memory_stays_within_its_budget(project: Project, py_bucket: str) -> None:
    data = random_bytes(24 * MiB)
    project.upload_bytes(py_bucket, "r/budget", data)
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with project.open_reader(py_bucket, "r/budget", max_concurrency=4, block_size=MiB,
                                 max_bytes_ahead=2 * MiB) as reader:
            total = 0
            while chunk := reader.read(256 * 1024):
                total += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == len(data)
    assert peak - base <= 4 * MiB, f"{(peak - base) / MiB:.1f} MiB"  # 2 MiB ahead + the block being read


def test_reader_argument_checks(project: Project, big: tuple[str, bytes]) -> None:
    bucket, _ = big
    with pytest.raises(ValueError, match="one block"):
        project.open_reader(bucket, "r/big", block_size=4 * MiB, max_bytes_ahead=MiB)
    with project.open_reader(bucket, "r/big") as reader:
        with pytest.raises(TypeError):
            reader.seek(1.5)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            reader.seek(0, 3)


def test_reader_after_a_seek_reads_no_more_than_needed(project: Project, big: tuple[str, bytes],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads of 300 KB after seeks (a Parquet reader's column chunks): each is one range of
    what it needs, nothing ahead; a large read after a seek goes in blocks, in parallel."""
    from uplink_py.engine import reader as reader_module

    bucket, data = big
    calls: list[tuple[int, int]] = []
    real = reader_module.read_range

    def spy(project_: Any, pinned: Any, start: int, end: int, scope: Any) -> Any:
        calls.append((start, end - start))
        return real(project_, pinned, start, end, scope)

    monkeypatch.setattr(reader_module, "read_range", spy)
    with project.open_reader(bucket, "r/big", max_concurrency=4, block_size=MiB) as reader:
        for start in (4 * MiB, MiB, 5 * MiB):
            reader.seek(start)
            assert reader.read(300_000) == data[start : start + 300_000]
        assert calls == [(4 * MiB, 300_000), (MiB, 300_000), (5 * MiB, 300_000)]
        calls.clear()
        reader.seek(10)
        assert reader.read(3 * MiB) == data[10 : 10 + 3 * MiB]
    assert calls[0] == (10, MiB) and all(length <= MiB for _, length in calls) and len(calls) >= 3
