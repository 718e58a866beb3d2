"""The buffer protocol: write from any C-contiguous buffer, readinto any writable
C-contiguous buffer, BufferError for anything else, file objects, and evidence that the
bytes are not copied on the Python side."""

from __future__ import annotations

import array
import io
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_same_bytes, random_bytes, sha256
from uplink_py.project import Project

pytestmark = pytest.mark.integration

RAW = random_bytes(96 * 1024 + 64)  # a multiple of 64 bytes, so every dtype and shape below fits


def as_bytes(buffer: object) -> bytes:
    return memoryview(buffer).cast("B").tobytes()  # type: ignore[arg-type]


WRITABLE: dict[str, Callable[[], object]] = {
    "bytes": lambda: RAW,
    "bytearray": lambda: bytearray(RAW),
    "memoryview": lambda: memoryview(RAW),
    "memoryview-slice": lambda: memoryview(bytearray(RAW))[8:-8],
    "array-d": lambda: array.array("d", RAW),
    "numpy-uint8": lambda: np.frombuffer(RAW, dtype=np.uint8),
    "numpy-int32-2d": lambda: np.frombuffer(RAW, dtype=np.int32).reshape(-1, 8).copy(),
    "numpy-float64": lambda: np.frombuffer(RAW, dtype=np.float64).copy(),
    "numpy-row-slice": lambda: np.frombuffer(RAW, dtype=np.int32).reshape(-1, 8)[10:20],  # rows: still contiguous
}


@pytest.mark.parametrize("make", WRITABLE.values(), ids=WRITABLE.keys())
def test_write_accepts_c_contiguous_buffers(project: Project, module_bucket: str, make: Callable[[], object],
                                            request: pytest.FixtureRequest) -> None:
    buffer = make()
    key = request.node.callspec.id
    with project.upload_object(module_bucket, key) as upload:
        assert upload.write(buffer) == memoryview(buffer).nbytes  # type: ignore[arg-type]
    assert_same_bytes(project.download_bytes(module_bucket, key), as_bytes(buffer))


def test_write_with_a_size_in_bytes(project: Project, module_bucket: str) -> None:
    arr = np.arange(1000, dtype=np.int32)
    with project.upload_object(module_bucket, "sized") as upload:
        assert upload.write(arr, 100) == 100  # bytes, not elements
    assert project.download_bytes(module_bucket, "sized") == arr.tobytes()[:100]


NOT_CONTIGUOUS: dict[str, Callable[[], object]] = {
    "numpy-column-slice": lambda: np.arange(4096, dtype=np.int32).reshape(64, 64)[:, ::2],
    "numpy-fortran": lambda: np.asfortranarray(np.arange(4096, dtype=np.float64).reshape(64, 64)),
    "memoryview-step": lambda: memoryview(bytearray(4096))[::2],
}


@pytest.mark.parametrize("make", NOT_CONTIGUOUS.values(), ids=NOT_CONTIGUOUS.keys())
def test_write_refuses_non_contiguous_buffers(project: Project, module_bucket: str,
                                              make: Callable[[], object]) -> None:
    upload = project.upload_object(module_bucket, "never")
    try:
        with pytest.raises(BufferError):
            upload.write(make())  # type: ignore[arg-type]
    finally:
        upload.abort()


@pytest.fixture(scope="module")
def stored(access, module_bucket: str) -> str:  # type: ignore[no-untyped-def]
    with access.open_project() as project:
        project.upload_bytes(module_bucket, "stored", RAW)
    return "stored"


def test_readinto_bytearray(project: Project, module_bucket: str, stored: str) -> None:
    buf = bytearray(len(RAW) + 1000)
    with project.download_object(module_bucket, stored) as download:
        assert download.readinto(buf) == len(RAW)  # fills until the end of the object
        assert download.readinto(buf) == 0
    assert_same_bytes(buf[:len(RAW)], RAW)
    assert buf[len(RAW):] == bytes(1000)

    small = bytearray(1000)
    with project.download_object(module_bucket, stored) as download:
        assert download.readinto(small) == 1000  # fills until full
        assert download.readinto(memoryview(small)[:10]) == 10
    assert small[:10] == RAW[1000:1010] and small[10:] == RAW[10:1000]


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float64])
def test_readinto_numpy(project: Project, module_bucket: str, stored: str, dtype: type) -> None:
    arr = np.zeros(len(RAW) // np.dtype(dtype).itemsize, dtype=dtype)
    address = arr.ctypes.data
    with project.download_object(module_bucket, stored) as download:
        assert download.readinto(arr) == len(RAW)
    assert arr.ctypes.data == address
    assert_same_bytes(arr.tobytes(), RAW)


def test_readinto_fills_the_callers_memory_in_place(project: Project, module_bucket: str, stored: str) -> None:
    n = len(RAW)
    whole = np.full(3 * n, 0xAB, dtype=np.uint8)
    window = whole[n:2 * n]  # a view into the middle of a bigger array
    assert np.shares_memory(window, whole)
    with project.download_object(module_bucket, stored) as download:
        assert download.readinto(window) == n
    assert_same_bytes(whole[n:2 * n].tobytes(), RAW)  # seen through the other array: the same memory
    assert (whole[:n] == 0xAB).all() and (whole[2 * n:] == 0xAB).all()  # nothing outside touched

    rows = np.zeros((len(RAW) // 64, 16), dtype=np.int32)
    with project.download_object(module_bucket, stored) as download:
        assert download.readinto(rows) == len(RAW)
    assert_same_bytes(rows.tobytes(), RAW)


def read_only_numpy() -> np.ndarray:
    arr = np.zeros(1024, dtype=np.uint8)
    arr.setflags(write=False)
    return arr


READ_TARGETS_REFUSED: dict[str, Callable[[], object]] = {
    "bytes": lambda: bytes(1024),
    "memoryview-of-bytes": lambda: memoryview(bytes(1024)),
    "numpy-read-only": read_only_numpy,
    "numpy-column-slice": lambda: np.zeros((64, 64), dtype=np.int32)[:, ::2],
    "memoryview-step": lambda: memoryview(bytearray(4096))[::2],
}


@pytest.mark.parametrize("make", READ_TARGETS_REFUSED.values(), ids=READ_TARGETS_REFUSED.keys())
def test_readinto_refuses_read_only_and_non_contiguous(project: Project, module_bucket: str, stored: str,
                                                       make: Callable[[], object]) -> None:
    target = make()
    with project.download_object(module_bucket, stored) as download:
        with pytest.raises(BufferError):
            download.readinto(target)  # type: ignore[arg-type]
        # the download is still usable afterwards
        buf = bytearray(16)
        assert download.readinto(buf) == 16 and buf == RAW[:16]


def test_write_file_and_read_file_with_bytesio(project: Project, module_bucket: str) -> None:
    data = random_bytes(1_000_003)
    with project.upload_object(module_bucket, "bytesio") as upload:
        assert upload.write_file(io.BytesIO(data), 65_536) == len(data)
    out = io.BytesIO()
    with project.download_object(module_bucket, "bytesio") as download:
        assert download.read_file(out, 100_000) == len(data)
    assert sha256(out.getvalue()) == sha256(data)

    out = io.BytesIO()
    with project.download_object(module_bucket, "bytesio") as download:
        assert download.read_file(out) == len(data)  # default buffer size
    assert sha256(out.getvalue()) == sha256(data)


def test_write_file_and_read_file_with_real_files(project: Project, module_bucket: str, tmp_path: Path) -> None:
    data = random_bytes(3 * 1024 * 1024 + 5)
    (tmp_path / "src").write_bytes(data)
    with open(tmp_path / "src", "rb") as src, project.upload_object(module_bucket, "file") as upload:
        assert upload.write_file(src) == len(data)
    with open(tmp_path / "dst", "wb") as dst, project.download_object(module_bucket, "file") as download:
        assert download.read_file(dst, 7777) == len(data)
    assert sha256((tmp_path / "dst").read_bytes()) == sha256(data)

    with open(tmp_path / "src", "rb", buffering=0) as raw, project.upload_object(module_bucket, "raw-file") as upload:
        assert upload.write_file(raw, 1 << 20) == len(data)  # an unbuffered FileIO
    assert sha256(project.download_bytes(module_bucket, "raw-file")) == sha256(data)


# ---------------------------------------------------------------- no copies on the Python side

SIZE = 16 * 1024 * 1024


def test_write_and_readinto_do_not_copy(project: Project, module_bucket: str) -> None:
    """tracemalloc sees every Python-side allocation (bytes objects, numpy buffers): a copy of
    16 MiB would show as a 16 MiB peak."""
    arr = np.random.default_rng().integers(0, 2**31, size=SIZE // 4, dtype=np.int32)
    target = np.zeros_like(arr)

    tracemalloc.start()
    try:
        with project.upload_object(module_bucket, "zero-copy") as upload:
            assert upload.write(arr) == SIZE
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with project.download_object(module_bucket, "zero-copy") as download:
            assert download.readinto(target) == SIZE
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.array_equal(arr, target)
    assert write_peak < SIZE // 16, f"write allocated {write_peak} bytes on the Python heap for {SIZE}"
    assert read_peak < SIZE // 16, f"readinto allocated {read_peak} bytes on the Python heap for {SIZE}"
