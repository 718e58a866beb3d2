"""The seed API (uplink-python): every function with the seed's names, argument order and
return shapes, called the way the seed's users call them (seed-style code ports by
changing the import)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import StorjNetwork, assert_same_bytes, random_bytes, sha256, unique_bucket_name
from uplink_py.access import Access
from uplink_py.download import Download
from uplink_py.errors import (
    BucketAlreadyExistError,
    BucketNotEmptyError,
    BucketNotFoundError,
    InternalError,
    ObjectNotFoundError,
)
from uplink_py.module_classes import (
    Bucket,
    Config,
    CustomMetadata,
    CustomMetadataEntry,
    DownloadOptions,
    ListBucketsOptions,
    ListObjectsOptions,
    Object,
    Permission,
    SharePrefix,
    SystemMetadata,
    UploadOptions,
)
from uplink_py.project import Project
from uplink_py.upload import Upload
from uplink_py.uplink import Uplink

pytestmark = pytest.mark.integration


def seed_upload(project: Project, bucket: str, key: str, data: bytes) -> None:
    upload = project.upload_object(bucket, key)
    assert upload.write(data, len(data)) == len(data)
    upload.commit()


def seed_download(project: Project, bucket: str, key: str, chunk: int = 64 * 1024) -> bytes:
    download = project.download_object(bucket, key)
    out = bytearray()
    while True:
        data, count = download.read(chunk)
        assert count == len(data)
        if count == 0:
            break
        out += data
    download.close()
    return bytes(out)


# ---------------------------------------------------------------- Uplink


def test_request_access_with_passphrase(storj_network: StorjNetwork, access: Access, py_bucket: str) -> None:
    requested = Uplink().request_access_with_passphrase(
        storj_network.satellite, storj_network.api_key, storj_network.passphrase
    )
    assert isinstance(requested, Access)
    assert requested.satellite_address() == storj_network.satellite
    data = random_bytes(10_001)
    project = requested.open_project()
    try:
        seed_upload(project, py_bucket, "requested", data)
    finally:
        project.close()
    # Same passphrase and project: the network's own access grant reads what it wrote.
    with access.open_project() as other:
        assert_same_bytes(seed_download(other, py_bucket, "requested"), data)


def test_config_request_access_with_passphrase(storj_network: StorjNetwork) -> None:
    config = Config(user_agent="uplink-py-tests/1.0", dial_timeout_milliseconds=20_000)
    # The seed's order: config first.
    requested = Uplink().config_request_access_with_passphrase(
        config, storj_network.satellite, storj_network.api_key, storj_network.passphrase
    )
    assert isinstance(requested, Access)
    assert requested.satellite_address() == storj_network.satellite
    project = requested.config_open_project(config)
    try:
        assert isinstance(project.list_buckets(), list)
    finally:
        project.close()


def test_request_access_with_a_bad_api_key_raises(storj_network: StorjNetwork) -> None:
    with pytest.raises(InternalError):
        Uplink().request_access_with_passphrase(storj_network.satellite, "not-an-api-key", "passphrase")


def test_parse_access_and_serialize(storj_network: StorjNetwork) -> None:
    parsed = Uplink().parse_access(storj_network.access)
    assert isinstance(parsed, Access)
    serialized = parsed.serialize()
    assert isinstance(serialized, str) and serialized
    assert Uplink().parse_access(serialized).serialize() == serialized


def test_parse_access_rejects_garbage() -> None:
    with pytest.raises(InternalError):
        Uplink().parse_access("this is not an access grant")


# ---------------------------------------------------------------- Access


def test_share_with_permission_and_prefix_list(access: Access, py_bucket: str) -> None:
    with access.open_project() as project:
        seed_upload(project, py_bucket, "pub/a", b"shared bytes")
    shared = access.share(
        Permission(allow_download=True, allow_list=True), [SharePrefix(bucket=py_bucket, prefix="pub/")]
    )
    assert isinstance(shared, Access)
    serialized = shared.serialize()
    assert serialized != access.serialize()
    project = Uplink().parse_access(serialized).open_project()
    try:
        assert seed_download(project, py_bucket, "pub/a") == b"shared bytes"
    finally:
        project.close()


def test_open_project_and_config_open_project(access: Access) -> None:
    project = access.open_project()
    assert isinstance(project, Project)
    assert isinstance(project.list_buckets(), list)
    project.close()
    project = access.config_open_project(Config(user_agent="uplink-py-tests/1.0"))
    assert isinstance(project, Project)
    assert isinstance(project.list_buckets(), list)
    project.close()


# ---------------------------------------------------------------- Project: buckets


def test_bucket_functions(access: Access) -> None:
    name = unique_bucket_name("seed-buckets")
    project = access.open_project()
    try:
        created = project.ensure_bucket(name)  # creates it
        assert isinstance(created, Bucket) and created.name == name
        assert created.created > 0
        again = project.ensure_bucket(name)  # already there: no error
        assert again.name == name

        stat = project.stat_bucket(name)
        assert isinstance(stat, Bucket) and stat.name == name and stat.created == created.created
        assert stat.get_dict() == {"name": name, "created": created.created}

        with pytest.raises(BucketAlreadyExistError):
            project.create_bucket(name)

        buckets = project.list_buckets()
        assert isinstance(buckets, list) and all(isinstance(b, Bucket) for b in buckets)
        assert name in [b.name for b in buckets]
        assert name in [b.name for b in project.list_buckets(ListBucketsOptions())]
        after = project.list_buckets(ListBucketsOptions(cursor=name))
        assert all(b.name > name for b in after)

        deleted = project.delete_bucket(name)
        assert isinstance(deleted, Bucket) and deleted.name == name
        with pytest.raises(BucketNotFoundError):
            project.stat_bucket(name)
        assert name not in [b.name for b in project.list_buckets()]
    finally:
        try:
            project.delete_bucket_with_objects(name)
        except BucketNotFoundError:
            pass
        project.close()


def test_create_bucket_returns_the_new_bucket(project: Project) -> None:
    name = unique_bucket_name("seed-create")
    try:
        bucket = project.create_bucket(name)
        assert isinstance(bucket, Bucket) and bucket.name == name and bucket.created > 0
    finally:
        project.delete_bucket(name)


def test_delete_bucket_that_is_not_empty(project: Project, py_bucket: str) -> None:
    seed_upload(project, py_bucket, "keep", b"x")
    with pytest.raises(BucketNotEmptyError):
        project.delete_bucket(py_bucket)
    assert project.stat_bucket(py_bucket).name == py_bucket


# ---------------------------------------------------------------- Project: objects, Upload, Download


def test_upload_write_with_size_and_custom_metadata(project: Project, py_bucket: str) -> None:
    data = random_bytes(70_000)
    upload = project.upload_object(py_bucket, "seed/obj", UploadOptions(expires=0))
    assert isinstance(upload, Upload)
    written = 0
    for start in range(0, len(data), 32_768):
        chunk = data[start:start + 32_768]
        written += upload.write(chunk, len(chunk))
    assert written == len(data)
    entries = [CustomMetadataEntry(key="app", key_length=3, value="seed", value_length=4)]
    upload.set_custom_metadata(CustomMetadata(entries, len(entries)))
    upload.commit()
    info = upload.info()
    assert isinstance(info, Object)
    assert info.key == "seed/obj" and info.system.content_length == len(data)
    assert info.custom.to_dict() == {"app": "seed"}

    assert_same_bytes(seed_download(project, py_bucket, "seed/obj"), data)


def test_write_with_a_smaller_size_writes_only_that_many_bytes(project: Project, py_bucket: str) -> None:
    data = random_bytes(1000)
    upload = project.upload_object(py_bucket, "part")
    assert upload.write(data, 600) == 600
    upload.commit()
    assert seed_download(project, py_bucket, "part") == data[:600]


def test_upload_write_file_then_commit(project: Project, py_bucket: str, tmp_path: Path) -> None:
    data = random_bytes(300_007)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    with open(src, "r+b") as file_handle:  # as the seed's docs say
        upload = project.upload_object(py_bucket, "file")
        written = upload.write_file(file_handle)
        upload.commit()
    assert written == len(data)
    assert project.stat_object(py_bucket, "file").system.content_length == len(data)

    with open(src, "r+b") as file_handle:
        upload = project.upload_object(py_bucket, "file-small-buffer")
        assert upload.write_file(file_handle, 4096) == len(data)
        upload.commit()
    assert sha256(seed_download(project, py_bucket, "file-small-buffer")) == sha256(data)


def test_upload_abort_leaves_no_object(project: Project, py_bucket: str) -> None:
    upload = project.upload_object(py_bucket, "aborted")
    upload.write(b"never committed", 15)
    upload.abort()
    with pytest.raises(ObjectNotFoundError):
        project.stat_object(py_bucket, "aborted")


def test_download_read_info_and_file_size(project: Project, py_bucket: str) -> None:
    data = random_bytes(200_003)
    seed_upload(project, py_bucket, "dl", data)
    download = project.download_object(py_bucket, "dl")
    assert isinstance(download, Download)
    assert download.file_size() == len(data)
    info = download.info()
    assert isinstance(info, Object) and info.key == "dl" and info.system.content_length == len(data)
    out = bytearray()
    while True:
        chunk, count = download.read(50_000)
        assert isinstance(chunk, bytes) and count == len(chunk) <= 50_000
        if not count:
            break
        out += chunk
    assert download.read(10) == (b"", 0)  # still the end
    download.close()
    assert_same_bytes(out, data)


def test_download_read_file(project: Project, py_bucket: str, tmp_path: Path) -> None:
    data = random_bytes(1_000_001)
    seed_upload(project, py_bucket, "rf", data)
    dst = tmp_path / "dst.bin"
    with open(dst, "w+b") as file_handle:  # as the seed's docs say
        download = project.download_object(py_bucket, "rf")
        assert download.read_file(file_handle) == len(data)
        download.close()
    assert sha256(dst.read_bytes()) == sha256(data)

    with open(dst, "w+b") as file_handle:
        download = project.download_object(py_bucket, "rf")
        assert download.read_file(file_handle, 10_000) == len(data)
        download.close()
    assert sha256(dst.read_bytes()) == sha256(data)


def test_download_with_options(project: Project, py_bucket: str) -> None:
    data = random_bytes(10_000)
    seed_upload(project, py_bucket, "range", data)
    download = project.download_object(py_bucket, "range", DownloadOptions(offset=1234, length=4321))
    got, count = download.read(100_000)
    rest, more = download.read(100_000)
    download.close()
    assert got + rest == data[1234:1234 + 4321] and count + more == 4321


def test_stat_list_and_delete_object(project: Project, py_bucket: str) -> None:
    seed_upload(project, py_bucket, "dir/one", b"1")
    seed_upload(project, py_bucket, "two", b"22")

    stat = project.stat_object(py_bucket, "two")
    assert isinstance(stat, Object) and stat.key == "two" and not stat.is_prefix
    assert isinstance(stat.system, SystemMetadata) and stat.system.content_length == 2
    assert stat.system.created > 0
    assert isinstance(stat.custom, CustomMetadata)
    assert stat.get_dict()["system"]["content_length"] == 2

    top = project.list_objects(py_bucket)
    assert isinstance(top, list) and all(isinstance(o, Object) for o in top)
    assert sorted((o.key, o.is_prefix) for o in top) == [("dir/", True), ("two", False)]
    everything = project.list_objects(py_bucket, ListObjectsOptions(recursive=True, system=True))
    assert sorted((o.key, o.system.content_length) for o in everything) == [("dir/one", 1), ("two", 2)]

    deleted = project.delete_object(py_bucket, "two")
    assert isinstance(deleted, Object) and deleted.key == "two"
    with pytest.raises(ObjectNotFoundError):
        project.stat_object(py_bucket, "two")
    assert [o.key for o in project.list_objects(py_bucket, ListObjectsOptions(recursive=True))] == ["dir/one"]


def test_project_close(access: Access) -> None:
    project = access.open_project()
    assert not project.closed
    assert project.close() is None
    assert project.closed
    project.close()  # idempotent
