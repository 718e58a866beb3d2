"""Multipart uploads: begin, parts out of order with etags, part info, listing uploads and
parts, commit with metadata, abort; content checked by sha256."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from conftest import random_bytes, sha256
from uplink_py.errors import InternalError, ObjectNotFoundError
from uplink_py.module_classes import (
    CommitUploadOptions,
    ListUploadPartsOptions,
    ListUploadsOptions,
    Object,
    Part,
    UploadInfo,
    UploadOptions,
)
from uplink_py.project import Project
from uplink_py.upload import PartUpload

pytestmark = pytest.mark.integration


def upload_ids(project: Project, bucket: str, options: ListUploadsOptions | None = None) -> set[str]:
    return {u.upload_id for u in project.list_uploads(bucket, options or ListUploadsOptions(recursive=True))}


def test_parts_out_of_order(project: Project, py_bucket: str) -> None:
    key = "multi/object.bin"
    started = int(time.time()) - 3600
    info = project.begin_upload(py_bucket, key, UploadOptions())
    assert isinstance(info, UploadInfo)
    assert isinstance(info.upload_id, str) and info.upload_id
    assert info.key == key

    parts = {1: random_bytes(300_001), 2: random_bytes(200_003), 3: random_bytes(100_007)}
    for number in (3, 1, 2):  # out of order
        part = project.upload_part(py_bucket, key, info.upload_id, number)
        assert isinstance(part, PartUpload)
        data = memoryview(parts[number])
        half = len(data) // 2
        assert part.write(data[:half]) + part.write(data[half:]) == len(data)
        part.set_etag(f"etag-{number}")
        part.commit()
        done = part.info()
        assert isinstance(done, Part)
        assert done.part_number == number and done.size == len(data) and done.etag == f"etag-{number}".encode()

    assert info.upload_id in upload_ids(project, py_bucket)
    listed = project.list_upload_parts(py_bucket, key, info.upload_id)
    assert isinstance(listed, list) and all(isinstance(p, Part) for p in listed)
    assert [(p.part_number, p.size, p.etag) for p in sorted(listed, key=lambda p: p.part_number)] == [
        (n, len(parts[n]), f"etag-{n}".encode()) for n in (1, 2, 3)]
    assert all(p.modified > started for p in listed)
    after_one = project.list_upload_parts(py_bucket, key, info.upload_id, ListUploadPartsOptions(cursor=1))
    assert sorted(p.part_number for p in after_one) == [2, 3]

    committed = project.commit_upload(py_bucket, key, info.upload_id,
                                      CommitUploadOptions(custom_metadata={"kind": "multipart", "ü": "✓"}))
    assert isinstance(committed, Object)
    assert committed.key == key
    whole = parts[1] + parts[2] + parts[3]
    stat = project.stat_object(py_bucket, key)
    assert stat.system.content_length == len(whole)
    assert stat.custom.to_dict() == {"kind": "multipart", "ü": "✓"}
    assert sha256(project.download_bytes(py_bucket, key)) == sha256(whole)
    assert info.upload_id not in upload_ids(project, py_bucket)


def test_commit_with_a_metadata_mapping_and_bytes_etag(project: Project, py_bucket: str) -> None:
    info = project.begin_upload(py_bucket, "m")
    with project.upload_part(py_bucket, "m", info.upload_id, 1) as part:  # commits on success
        part.write(b"hello ")
        part.set_etag(b"\x01\x02\xff")
    assert part.closed
    with project.upload_part(py_bucket, "m", info.upload_id, 2) as part:
        part.write(b"world")
    etags = {p.part_number: p.etag for p in project.list_upload_parts(py_bucket, "m", info.upload_id)}
    assert etags[1] == b"\x01\x02\xff"
    project.commit_upload(py_bucket, "m", info.upload_id, {"a": "b"})
    assert project.download_bytes(py_bucket, "m") == b"hello world"
    assert project.stat_object(py_bucket, "m").custom.to_dict() == {"a": "b"}


def test_abort_upload(project: Project, py_bucket: str) -> None:
    info = project.begin_upload(py_bucket, "aborted")
    part = project.upload_part(py_bucket, "aborted", info.upload_id, 1)
    part.write(b"x" * 1000)
    part.commit()
    assert info.upload_id in upload_ids(project, py_bucket)
    assert project.abort_upload(py_bucket, "aborted", info.upload_id) is None
    assert info.upload_id not in upload_ids(project, py_bucket)
    with pytest.raises(ObjectNotFoundError):
        project.stat_object(py_bucket, "aborted")
    # (list_upload_parts and commit_upload still work with the aborted upload's id on this
    # satellite: storj.io/uplink does the same)
    with pytest.raises(InternalError):
        project.abort_upload(py_bucket, "aborted", "not-an-upload-id")


def test_part_abort_and_context_manager_abort(project: Project, py_bucket: str) -> None:
    info = project.begin_upload(py_bucket, "k")
    part = project.upload_part(py_bucket, "k", info.upload_id, 1)
    part.write(b"discarded")
    part.abort()
    assert part.closed
    with pytest.raises(RuntimeError), project.upload_part(py_bucket, "k", info.upload_id, 2) as part2:
        part2.write(b"also discarded")
        raise RuntimeError("boom")
    assert part2.closed
    assert project.list_upload_parts(py_bucket, "k", info.upload_id) == []
    with project.upload_part(py_bucket, "k", info.upload_id, 3) as part3:
        part3.write(b"kept")
    assert [p.part_number for p in project.list_upload_parts(py_bucket, "k", info.upload_id)] == [3]
    project.commit_upload(py_bucket, "k", info.upload_id)
    assert project.download_bytes(py_bucket, "k") == b"kept"


def test_list_uploads_with_options(project: Project, py_bucket: str) -> None:
    started = int(time.time()) - 3600
    inside = project.begin_upload(py_bucket, "dir/inside", UploadOptions(expires=int(time.time()) + 7200))
    deeper = project.begin_upload(py_bucket, "dir/sub/deeper")
    outside = project.begin_upload(py_bucket, "outside")
    try:
        assert {inside.upload_id, deeper.upload_id, outside.upload_id} <= upload_ids(
            project, py_bucket, ListUploadsOptions(recursive=True))
        flat = project.list_uploads(py_bucket, ListUploadsOptions(prefix="dir/"))
        assert {u.key for u in flat if not u.is_prefix} == {"dir/inside"}
        assert {u.key for u in flat if u.is_prefix} == {"dir/sub/"}
        recursive = project.list_uploads(py_bucket, ListUploadsOptions(prefix="dir/", recursive=True, system=True))
        assert {u.key: u.upload_id for u in recursive} == {"dir/inside": inside.upload_id,
                                                           "dir/sub/deeper": deeper.upload_id}
        assert all(u.system.created > started for u in recursive)
    finally:
        for info in (inside, deeper, outside):
            project.abort_upload(py_bucket, info.key, info.upload_id)


def test_iter_uploads_and_parts_are_lazy_iterators(project: Project, py_bucket: str) -> None:
    info = project.begin_upload(py_bucket, "it")
    try:
        uploads = project.iter_uploads(py_bucket)
        assert isinstance(uploads, Iterator) and not isinstance(uploads, list)
        parts = project.iter_upload_parts(py_bucket, "it", info.upload_id)
        assert isinstance(parts, Iterator) and not isinstance(parts, list)
        # created before the parts exist, consumed after: a lazy iterator sees them
        for number in (2, 1):
            with project.upload_part(py_bucket, "it", info.upload_id, number) as part:
                part.write(b"p" * number)
        assert sorted((p.part_number, p.size) for p in parts) == [(1, 1), (2, 2)]
        assert info.upload_id in {u.upload_id for u in uploads}
    finally:
        project.abort_upload(py_bucket, "it", info.upload_id)
