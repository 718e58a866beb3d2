"""The Pythonic layer: context managers, lazy iterators, readall, whole-object helpers,
result classes with datetime helpers, and reprs without secrets."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import uplink_py
from conftest import StorjNetwork, random_bytes, sha256, unique_bucket_name
from uplink_py import module_classes as mc
from uplink_py.access import Access
from uplink_py.errors import BucketNotFoundError, ObjectNotFoundError
from uplink_py.module_classes import ListObjectsOptions
from uplink_py.project import Project

pytestmark = pytest.mark.integration


def recent(when: dt.datetime | None) -> bool:
    now = dt.datetime.now(dt.timezone.utc)
    return when is not None and when.tzinfo is not None and now - dt.timedelta(hours=1) < when < now + dt.timedelta(minutes=5)


# ---------------------------------------------------------------- context managers


def test_project_context_manager_closes(access: Access) -> None:
    with access.open_project() as project:
        assert isinstance(project, Project) and not project.closed
        project.list_buckets()
    assert project.closed


def test_upload_context_manager_commits_on_success(project: Project, py_bucket: str) -> None:
    with project.upload_object(py_bucket, "ok") as upload:
        assert not upload.closed
        upload.write(b"committed")
    assert upload.closed
    assert project.download_bytes(py_bucket, "ok") == b"committed"


def test_upload_context_manager_aborts_on_exception(project: Project, py_bucket: str) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), project.upload_object(py_bucket, "failed") as upload:
        upload.write(random_bytes(100_000))
        raise Boom
    assert upload.closed
    with pytest.raises(ObjectNotFoundError):
        project.stat_object(py_bucket, "failed")
    assert project.list_objects(py_bucket, ListObjectsOptions(recursive=True)) == []


def test_download_context_manager_closes(project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "k", b"data")
    with project.download_object(py_bucket, "k") as download:
        assert not download.closed
        assert download.readall() == b"data"
    assert download.closed


def test_readall_after_a_partial_read(project: Project, py_bucket: str) -> None:
    data = random_bytes(2_000_011)
    project.upload_bytes(py_bucket, "k", data)
    with project.download_object(py_bucket, "k") as download:
        head, count = download.read(1000)
        rest = download.readall()
        assert download.readall() == b""
    assert sha256(head + rest) == sha256(data) and count == len(head)


# ---------------------------------------------------------------- iterators


def test_iter_objects_is_a_lazy_iterator(project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "first", b"1")
    objects = project.iter_objects(py_bucket, ListObjectsOptions(recursive=True))
    assert isinstance(objects, Iterator) and not isinstance(objects, list)
    assert iter(objects) is objects
    project.upload_bytes(py_bucket, "second", b"2")  # after the iterator was made, before it is read
    assert sorted(o.key for o in objects) == ["first", "second"]
    assert next(objects, None) is None  # exhausted

    many = [f"n/{i:03d}" for i in range(30)]
    for key in many:
        project.upload_bytes(py_bucket, key, b"")
    it = project.iter_objects(py_bucket, ListObjectsOptions(prefix="n/"))
    first = [next(it).key for _ in range(3)]  # one at a time
    rest = [o.key for o in it]
    assert first + rest == [o.key for o in project.list_objects(py_bucket, ListObjectsOptions(prefix="n/"))]
    assert sorted(first + rest) == many


def test_iter_objects_of_a_missing_bucket_fails_when_read(project: Project) -> None:
    it = project.iter_objects(unique_bucket_name("missing"))  # nothing asked yet
    with pytest.raises(BucketNotFoundError):
        next(it)


def test_iter_buckets_is_a_lazy_iterator(project: Project, py_bucket: str) -> None:
    buckets = project.iter_buckets()
    assert isinstance(buckets, Iterator) and not isinstance(buckets, list)
    late = unique_bucket_name("late")
    project.create_bucket(late)
    try:
        names = [b.name for b in buckets]
        assert py_bucket in names and late in names
        assert all(isinstance(b, mc.Bucket) for b in project.iter_buckets())
    finally:
        project.delete_bucket(late)


# ---------------------------------------------------------------- whole-object helpers


def test_upload_bytes_and_download_bytes(project: Project, py_bucket: str) -> None:
    data = random_bytes(1_234_567)
    info = project.upload_bytes(py_bucket, "b", data, custom_metadata={"a": "1"})
    assert isinstance(info, mc.Object) and info.key == "b" and info.size == len(data)
    assert info.custom.to_dict() == {"a": "1"}
    assert sha256(project.download_bytes(py_bucket, "b")) == sha256(data)
    assert project.download_bytes(py_bucket, "b", mc.DownloadOptions(offset=10, length=5)) == data[10:15]


def test_upload_file_and_download_file(project: Project, py_bucket: str, tmp_path: Path) -> None:
    data = random_bytes(2 * 1024 * 1024 + 3)
    (tmp_path / "src").write_bytes(data)
    info = project.upload_file(py_bucket, "f", tmp_path / "src", custom_metadata={"x": "y"})
    assert info.key == "f" and info.size == len(data)
    got = project.download_file(py_bucket, "f", str(tmp_path / "dst"))
    assert isinstance(got, mc.Object) and got.key == "f" and got.size == len(data)
    assert sha256((tmp_path / "dst").read_bytes()) == sha256(data)
    assert sorted(os.listdir(tmp_path)) == ["dst", "src"]  # no temporary file left behind


def test_download_file_is_atomic(project: Project, py_bucket: str, tmp_path: Path) -> None:
    target = tmp_path / "target"
    with pytest.raises(ObjectNotFoundError):
        project.download_file(py_bucket, "missing", target)
    assert os.listdir(tmp_path) == []  # no partial file, no temporary file

    target.write_bytes(b"old content")
    with pytest.raises(ObjectNotFoundError):
        project.download_file(py_bucket, "missing", target)
    assert target.read_bytes() == b"old content"
    assert os.listdir(tmp_path) == ["target"]


def test_upload_file_that_cannot_be_read_commits_nothing(project: Project, py_bucket: str, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        project.upload_file(py_bucket, "nothing", tmp_path / "does-not-exist")
    with pytest.raises(ObjectNotFoundError):
        project.stat_object(py_bucket, "nothing")


# ---------------------------------------------------------------- result classes


def test_results_are_module_classes_with_datetimes(project: Project, py_bucket: str) -> None:
    bucket = project.stat_bucket(py_bucket)
    assert type(bucket) is mc.Bucket and recent(bucket.created_at)
    info = project.upload_bytes(py_bucket, "k", b"abc", custom_metadata={"m": "v"})
    stat = project.stat_object(py_bucket, "k")
    # what a write returns is an ObjectVersion (an Object with its version id and lock state)
    assert type(info) is mc.ObjectVersion and info.version == stat.version and info.is_delete_marker is False
    for obj in (info, stat, project.list_objects(py_bucket, ListObjectsOptions(system=True, custom=True))[0]):
        assert type(obj) is (mc.ObjectVersion if obj is info else mc.Object)
        assert type(obj.system) is mc.SystemMetadata and type(obj.custom) is mc.CustomMetadata
        assert all(type(e) is mc.CustomMetadataEntry for e in obj.custom)
        assert recent(obj.system.created_at) and obj.system.expires_at is None and obj.size == 3
    upload = project.begin_upload(py_bucket, "mp")
    try:
        assert type(upload) is mc.UploadInfo
        with project.upload_part(py_bucket, "mp", upload.upload_id, 1) as part:
            part.write(b"x")
        parts = project.list_upload_parts(py_bucket, "mp", upload.upload_id)
        assert type(part.info()) is mc.Part and [type(p) for p in parts] == [mc.Part]
        assert recent(parts[0].modified_at)
    finally:
        project.abort_upload(py_bucket, "mp", upload.upload_id)
    assert "abc" not in repr(stat) and "'k'" in repr(stat)  # a readable dataclass repr


# ---------------------------------------------------------------- no secrets in reprs


def test_reprs_hold_no_secrets(storj_network: StorjNetwork, access: Access, project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "k", b"data")
    shared = access.share(mc.Permission(allow_download=True), [mc.SharePrefix(bucket=py_bucket)])
    upload = project.upload_object(py_bucket, "pending")
    download = project.download_object(py_bucket, "k")
    key = uplink_py.derive_encryption_key(storj_network.passphrase, b"salt")
    things = [access, shared, project, upload, download, key, uplink_py.Uplink()]
    try:
        secrets = [storj_network.api_key, storj_network.passphrase, storj_network.access, access.serialize(),
                   shared.serialize()]
        for thing in things:
            for text in (repr(thing), str(thing)):
                assert text, type(thing)
                for secret in secrets:
                    assert secret not in text, f"a secret in the repr of {type(thing).__name__}"
        assert storj_network.satellite.split("@")[-1] in repr(access)  # which satellite, at least
    finally:
        upload.abort()
        download.close()
