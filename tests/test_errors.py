"""Errors: the class for each failure, its attributes, the builtins it also is, pickling,
and bad input (closed handles, wrong types, NUL bytes) raising instead of crashing."""

from __future__ import annotations

import pickle

import pytest

import uplink_py
from conftest import StorjNetwork, unique_bucket_name
from uplink_py import errors
from uplink_py.access import Access
from uplink_py.download import Download
from uplink_py.errors import (
    BucketAlreadyExistError,
    BucketNameInvalidError,
    BucketNotEmptyError,
    BucketNotFoundError,
    InvalidHandleError,
    ObjectKeyInvalidError,
    ObjectNotFoundError,
    PermissionDeniedError,
    StorjException,
)
from uplink_py.module_classes import DownloadOptions, ListObjectsOptions, Permission, SharePrefix
from uplink_py.project import Project
from uplink_py.upload import Upload
from uplink_py.uplink import Uplink

# uplink-c's error codes (uplink_definitions.h) and uplink-python's class names.
CODES = {
    "InternalError": 0x02,
    "CancelledError": 0x03,
    "InvalidHandleError": 0x04,
    "TooManyRequestsError": 0x05,
    "BandwidthLimitExceededError": 0x06,
    "StorageLimitExceededError": 0x07,
    "SegmentsLimitExceededError": 0x08,
    "PermissionDeniedError": 0x09,
    "BucketNameInvalidError": 0x10,
    "BucketAlreadyExistError": 0x11,
    "BucketNotEmptyError": 0x12,
    "BucketNotFoundError": 0x13,
    "ObjectKeyInvalidError": 0x20,
    "ObjectNotFoundError": 0x21,
    "UploadDoneError": 0x22,
    "EdgeAuthDialFailedError": 0x30,
    "EdgeRegisterAccessFailedError": 0x31,
}


def check(exc: BaseException, cls: type[StorjException]) -> None:
    """The attributes every error carries."""
    assert type(exc) is cls
    assert isinstance(exc, StorjException)
    assert exc.code == CODES[cls.__name__]
    assert isinstance(exc.message, str) and exc.message
    assert str(exc) == exc.message
    assert exc.details is None or isinstance(exc.details, str)


# ---------------------------------------------------------------- the classes (offline)


def test_one_class_per_code() -> None:
    for name, code in CODES.items():
        cls = getattr(errors, name)
        assert issubclass(cls, StorjException) and cls.code == code
        exc = errors._from_code(code, "message", "details")
        assert type(exc) is cls and exc.code == code and exc.details == "details"
    assert type(errors._from_code(0x7F, "unknown")) is errors.InternalError
    assert issubclass(errors.LibUplinkSoError, StorjException)
    for name in ("StorjException", "BucketNotFoundError", "ObjectNotFoundError", "PermissionDeniedError",
                 "BucketAlreadyExistError", "BucketNotEmptyError"):
        assert getattr(uplink_py, name) is getattr(errors, name)


def test_errors_are_builtins_where_documented() -> None:
    assert issubclass(errors.ObjectNotFoundError, FileNotFoundError)
    assert issubclass(errors.BucketNotFoundError, FileNotFoundError)
    assert issubclass(errors.BucketAlreadyExistError, FileExistsError)
    assert issubclass(errors.PermissionDeniedError, PermissionError)
    assert issubclass(errors.InvalidHandleError, ValueError)
    assert issubclass(errors.BucketNameInvalidError, ValueError)
    assert issubclass(errors.ObjectKeyInvalidError, ValueError)


# ---------------------------------------------------------------- from the network


@pytest.mark.integration
def test_missing_bucket(project: Project) -> None:
    missing = unique_bucket_name("missing")
    with pytest.raises(BucketNotFoundError) as info:
        project.stat_bucket(missing)
    check(info.value, BucketNotFoundError)
    assert isinstance(info.value, FileNotFoundError)
    assert missing in info.value.message
    with pytest.raises(BucketNotFoundError):
        project.delete_bucket(missing)
    with pytest.raises(BucketNotFoundError):
        project.list_objects(missing)
    with pytest.raises(BucketNotFoundError):
        with project.upload_object(missing, "k") as upload:
            upload.write(b"x")


@pytest.mark.integration
def test_missing_object(project: Project, py_bucket: str) -> None:
    with pytest.raises(ObjectNotFoundError) as info:
        project.stat_object(py_bucket, "no/such/key")
    check(info.value, ObjectNotFoundError)
    assert isinstance(info.value, FileNotFoundError)
    assert "no/such/key" in info.value.message
    with pytest.raises(ObjectNotFoundError):
        project.download_object(py_bucket, "no/such/key").readall()
    with pytest.raises(ObjectNotFoundError):
        project.download_bytes(py_bucket, "no/such/key")
    assert project.delete_object(py_bucket, "no/such/key") is None


@pytest.mark.integration
def test_existing_and_non_empty_buckets(project: Project, py_bucket: str) -> None:
    with pytest.raises(BucketAlreadyExistError) as info:
        project.create_bucket(py_bucket)
    check(info.value, BucketAlreadyExistError)
    assert isinstance(info.value, FileExistsError)
    project.upload_bytes(py_bucket, "k", b"x")
    with pytest.raises(BucketNotEmptyError) as not_empty:
        project.delete_bucket(py_bucket)
    check(not_empty.value, BucketNotEmptyError)


@pytest.mark.integration
@pytest.mark.parametrize("name", ["", "UPPER", "under_score", "ab", "-leading-dash", "a" * 64])
def test_invalid_bucket_name(project: Project, name: str) -> None:
    with pytest.raises(BucketNameInvalidError) as info:
        project.create_bucket(name)
    check(info.value, BucketNameInvalidError)
    assert isinstance(info.value, ValueError)


@pytest.mark.integration
@pytest.mark.parametrize("name", ["ab", "a" * 64])
def test_a_bucket_name_of_a_wrong_length(project: Project, name: str) -> None:
    """The satellite refuses these in every object call, not only create_bucket (uplink
    checks nothing; a name of the right length but wrong characters is merely not found):
    BucketNameInvalidError, where this was an InternalError."""
    calls = {
        "delete_bucket": lambda: project.delete_bucket(name),
        "stat_object": lambda: project.stat_object(name, "k"),
        "download_bytes": lambda: project.download_bytes(name, "k"),
        "upload_bytes": lambda: project.upload_bytes(name, "k", b"x"),
        "list_objects": lambda: project.list_objects(name),
        "delete_object": lambda: project.delete_object(name, "k"),
        "begin_upload": lambda: project.begin_upload(name, "k"),
    }
    for what, call in calls.items():
        with pytest.raises(BucketNameInvalidError) as info:
            call()
        check(info.value, BucketNameInvalidError)
        assert "bucket name" in str(info.value), what


@pytest.mark.integration
def test_a_suffix_range_with_a_length_is_a_value_error(project: Project) -> None:
    """DownloadOptions(-5, 3): uplink reads a negative offset as the last bytes, to the end;
    a length with it was refused only as an InternalError."""
    with pytest.raises(ValueError, match="negative offset"):
        project.download_object("any-bucket", "k", DownloadOptions(-5, 3))


@pytest.mark.integration
def test_invalid_object_key(project: Project, py_bucket: str) -> None:
    with pytest.raises(ObjectKeyInvalidError) as info:
        project.stat_object(py_bucket, "")
    check(info.value, ObjectKeyInvalidError)
    with pytest.raises(ObjectKeyInvalidError):
        project.upload_object(py_bucket, "")
    with pytest.raises(ObjectKeyInvalidError):
        project.download_object(py_bucket, "")


@pytest.mark.integration
def test_permission_denied(access: Access, py_bucket: str) -> None:
    shared = access.share(Permission(allow_list=True), [SharePrefix(bucket=py_bucket)])
    with shared.open_project() as project, pytest.raises(PermissionDeniedError) as info:
        project.upload_bytes(py_bucket, "k", b"x")
    check(info.value, PermissionDeniedError)
    assert isinstance(info.value, PermissionError)


@pytest.mark.integration
def test_errors_pickle(project: Project, py_bucket: str) -> None:
    with pytest.raises(ObjectNotFoundError) as info:
        project.stat_object(py_bucket, "missing")
    for exc in (info.value, errors.InvalidHandleError("closed", 4, "details")):
        again = pickle.loads(pickle.dumps(exc))
        assert type(again) is type(exc)
        assert (again.code, again.message, again.details, str(again)) == (exc.code, exc.message, exc.details,
                                                                          str(exc))


@pytest.mark.integration
def test_error_messages_hold_no_secrets(storj_network: StorjNetwork, project: Project) -> None:
    with pytest.raises(BucketNotFoundError) as info:
        project.stat_bucket(unique_bucket_name("missing"))
    for secret in (storj_network.access, storj_network.api_key, storj_network.passphrase):
        assert secret not in info.value.message and secret not in (info.value.details or "")


# ---------------------------------------------------------------- closed handles


@pytest.mark.integration
def test_closed_project(access: Access, py_bucket: str) -> None:
    project = access.open_project()
    project.close()
    for call in (lambda: project.stat_bucket(py_bucket), lambda: project.list_buckets(),
                 lambda: project.upload_object(py_bucket, "k"), lambda: project.download_object(py_bucket, "k"),
                 lambda: project.list_objects(py_bucket)):
        with pytest.raises(InvalidHandleError) as info:
            call()
        check(info.value, InvalidHandleError)
        assert isinstance(info.value, ValueError)
    with pytest.raises(InvalidHandleError):
        Project().stat_bucket(py_bucket)  # never opened


@pytest.mark.integration
def test_closed_upload(project: Project, py_bucket: str) -> None:
    upload = project.upload_object(py_bucket, "k")
    upload.write(b"x")
    upload.commit()
    assert upload.closed
    with pytest.raises(InvalidHandleError):
        upload.write(b"more")
    with pytest.raises(InvalidHandleError):
        upload.commit()
    with pytest.raises(InvalidHandleError):
        upload.set_custom_metadata({"a": "b"})
    upload.abort()  # a no-op after commit
    assert project.download_bytes(py_bucket, "k") == b"x"

    aborted = project.upload_object(py_bucket, "k2")
    aborted.abort()
    aborted.abort()  # idempotent
    with pytest.raises(InvalidHandleError):
        aborted.write(b"x")
    with pytest.raises(InvalidHandleError):
        Upload().write(b"x")  # never opened


@pytest.mark.integration
def test_closed_download(project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "k", b"data")
    download = project.download_object(py_bucket, "k")
    download.close()
    assert download.closed
    download.close()  # idempotent
    with pytest.raises(InvalidHandleError):
        download.read(10)
    with pytest.raises(InvalidHandleError):
        download.readinto(bytearray(10))
    with pytest.raises(InvalidHandleError):
        Download().read(10)  # never opened


@pytest.mark.integration
def test_project_close_ends_its_open_transfers(access: Access, py_bucket: str) -> None:
    project = access.open_project()
    project.upload_bytes(py_bucket, "k", b"data")
    download = project.download_object(py_bucket, "k")
    upload = project.upload_object(py_bucket, "never")
    project.close()
    with pytest.raises(InvalidHandleError):
        download.read(10)
    with pytest.raises(InvalidHandleError):
        upload.write(b"x")
        upload.commit()
    with access.open_project() as other, pytest.raises(ObjectNotFoundError):
        other.stat_object(py_bucket, "never")


# ---------------------------------------------------------------- bad input


@pytest.mark.integration
def test_wrong_types_raise_type_error(access: Access, project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "k", b"data")
    calls = [
        lambda: project.stat_bucket(123),
        lambda: project.stat_object(py_bucket, None),
        lambda: project.stat_object(b"bucket", "k"),
        lambda: project.list_objects(py_bucket, "not options"),
        lambda: Uplink().parse_access(None),
        lambda: access.share("read"),
        lambda: uplink_py.derive_encryption_key("p", "salt as str"),
    ]
    for i, call in enumerate(calls):
        with pytest.raises(TypeError):
            call()
            pytest.fail(f"call {i} did not raise")
    with project.upload_object(py_bucket, "t") as upload:
        with pytest.raises(TypeError):
            upload.write("a str is not a buffer")
        with pytest.raises(TypeError):
            upload.write(12345)
        with pytest.raises(TypeError):
            upload.set_custom_metadata(["not", "a", "mapping"])
        upload.write(b"ok")
    with project.download_object(py_bucket, "k") as download:
        with pytest.raises(TypeError):
            download.read("10")
        with pytest.raises(TypeError):
            download.readinto("not a buffer")
        assert download.readall() == b"data"


@pytest.mark.integration
def test_negative_sizes_raise(project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "k", b"data")
    with project.download_object(py_bucket, "k") as download, pytest.raises((ValueError, OverflowError)):
        download.read(-1)
    with project.upload_object(py_bucket, "n") as upload:
        with pytest.raises((ValueError, OverflowError)):
            upload.write(b"abc", -1)
        with pytest.raises((ValueError, OverflowError)):
            upload.write(b"abc", 4)  # more than the buffer holds
        upload.write(b"abc", 3)
    assert project.download_bytes(py_bucket, "n") == b"abc"


@pytest.mark.integration
def test_nul_in_a_name_raises_value_error(project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "a", b"x")
    calls = [
        lambda: project.stat_bucket(py_bucket + "\x00x"),
        lambda: project.create_bucket("nul\x00bucket"),
        lambda: project.stat_object(py_bucket, "a\x00b"),
        lambda: project.upload_object(py_bucket, "a\x00b"),
        lambda: project.download_object(py_bucket, "a\x00"),
        lambda: project.delete_object(py_bucket, "a\x00"),
        lambda: project.list_objects(py_bucket, ListObjectsOptions(prefix="a\x00/")),
        lambda: Uplink().parse_access("abc\x00def"),
    ]
    for i, call in enumerate(calls):
        with pytest.raises(ValueError):
            call()
            pytest.fail(f"call {i} did not raise")
    # "a" itself was not touched by a truncated name
    assert project.download_bytes(py_bucket, "a") == b"x"
