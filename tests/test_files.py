"""Download and Upload as io.RawIOBase files: a seekable file without fsspec."""

from __future__ import annotations

import io

import pytest

from conftest import assert_same_bytes, random_bytes
from uplink_py import DownloadOptions, errors

pytestmark = pytest.mark.integration


def test_download_is_a_seekable_raw_file(project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    data = random_bytes(3 * 1024 * 1024 + 17)
    project.upload_bytes(py_bucket, "f", data)
    with project.download_object(py_bucket, "f") as download:
        assert isinstance(download, io.RawIOBase)
        assert (download.readable(), download.writable(), download.seekable()) == (True, False, True)
        f = io.BufferedReader(download, buffer_size=64 * 1024)
        assert f.read(100) == data[:100]
        assert f.seek(2 * 1024 * 1024 + 5) == 2 * 1024 * 1024 + 5
        assert f.read(1000) == data[2 * 1024 * 1024 + 5 : 2 * 1024 * 1024 + 1005]
        assert f.tell() == 2 * 1024 * 1024 + 1005
        f.seek(-7, io.SEEK_END)
        assert f.read() == data[-7:]
        f.seek(10)
        f.seek(20, io.SEEK_CUR)
        assert f.read(5) == data[30:35]
        f.seek(len(data) + 100)  # past the end: reads are empty
        assert f.read(10) == b""
        f.seek(0)
        assert_same_bytes(f.read(), data)
        with pytest.raises(ValueError):
            download.seek(-1)


def test_text_lines_through_the_raw_file(project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    text = "".join(f"line {i} é\n" for i in range(5000))
    project.upload_bytes(py_bucket, "t", text.encode())
    with project.download_object(py_bucket, "t") as download:
        lines = io.TextIOWrapper(io.BufferedReader(download), encoding="utf-8").readlines()
    assert lines == text.splitlines(keepends=True)


def test_seek_after_an_overwrite_is_object_changed(project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    project.upload_bytes(py_bucket, "o", random_bytes(100_000))
    with project.download_object(py_bucket, "o") as download:
        assert len(download.read(10)[0]) == 10
        project.upload_bytes(py_bucket, "o", random_bytes(100_000))
        with pytest.raises(errors.ObjectChangedError):
            download.seek(50_000)


def test_a_ranged_download_seeks_in_object_offsets(project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    data = random_bytes(50_000)
    project.upload_bytes(py_bucket, "r", data)
    with project.download_object(py_bucket, "r", DownloadOptions(1000, 2000)) as download:
        assert download.tell() == 1000
        download.seek(2500)
        assert download.readall() == data[2500:3000]  # the range still ends where it did


def test_upload_is_a_raw_writer(project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    data = random_bytes(2 * 1024 * 1024 + 3)
    upload = project.upload_object(py_bucket, "w")
    assert isinstance(upload, io.RawIOBase)
    assert (upload.readable(), upload.writable(), upload.seekable()) == (False, True, False)
    with io.BufferedWriter(upload, buffer_size=256 * 1024) as f:
        for start in range(0, len(data), 100_000):
            f.write(data[start : start + 100_000])
    assert upload.closed
    assert_same_bytes(project.download_bytes(py_bucket, "w"), data)


def test_a_raw_writer_left_by_an_error_stores_nothing(project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    project.upload_bytes(py_bucket, "kept", b"old")
    upload = project.upload_object(py_bucket, "kept")
    with pytest.raises(KeyError):
        with io.BufferedWriter(upload) as f:
            f.write(b"new, half written")
            raise KeyError("boom")
    assert upload.closed
    assert project.download_bytes(py_bucket, "kept") == b"old"
