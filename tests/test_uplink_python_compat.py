"""uplink-python 1.2.2's documented public names, each present in uplink_py with its meaning.

The list is written from uplink-python's documentation (its library and types pages: the
functions of Uplink, Access, Project, Upload and Download, the option and result types
with their constructor arguments and ``get_dict``/``get_structure``, the exception classes
and the error-code constants). Code written for uplink-python ports by changing its import:
this test imports exactly what such code imports.
"""

from __future__ import annotations

import ctypes
import importlib
import inspect

import pytest

import uplink_py.errors as errors

METHODS = {
    "uplink.Uplink": ["request_access_with_passphrase", "config_request_access_with_passphrase", "parse_access"],
    "access.Access": ["serialize", "share", "open_project", "config_open_project", "derive_encryption_key",
                      "override_encryption_key"],
    "project.Project": ["close", "ensure_bucket", "stat_bucket", "create_bucket", "list_buckets", "delete_bucket",
                        "stat_object", "list_objects", "delete_object", "upload_object", "download_object"],
    "upload.Upload": ["write", "write_file", "commit", "abort", "set_custom_metadata", "info"],
    "download.Download": ["read", "read_file", "close", "info", "file_size"],
}

# (class, constructor arguments in order, has get_dict)
TYPES = [
    ("Config", ["user_agent", "dial_timeout_milliseconds", "temp_directory"], False),
    ("Permission", ["allow_download", "allow_upload", "allow_list", "allow_delete", "not_before", "not_after"], False),
    ("SharePrefix", ["bucket", "prefix"], False),
    ("Bucket", ["name", "created"], True),
    ("CustomMetadata", ["entries", "count"], True),
    ("CustomMetadataEntry", ["key", "key_length", "value", "value_length"], True),
    ("SystemMetadata", ["created", "expires", "content_length"], True),
    ("Object", ["key", "is_prefix", "system", "custom"], True),
    ("ListObjectsOptions", ["prefix", "cursor", "recursive", "system", "custom"], False),
    ("ListBucketsOptions", ["cursor"], False),
    ("UploadOptions", ["expires"], False),
    ("DownloadOptions", ["offset", "length"], False),
]

EXCEPTIONS = {  # class -> uplink-c error code (None: raised by the binding itself)
    "InternalError": 0x02, "CancelledError": 0x03, "InvalidHandleError": 0x04, "TooManyRequestsError": 0x05,
    "BandwidthLimitExceededError": 0x06, "StorageLimitExceededError": 0x07, "SegmentsLimitExceededError": 0x08,
    "PermissionDeniedError": 0x09, "BucketNameInvalidError": 0x10, "BucketAlreadyExistError": 0x11,
    "BucketNotEmptyError": 0x12, "BucketNotFoundError": 0x13, "ObjectKeyInvalidError": 0x20,
    "ObjectNotFoundError": 0x21, "UploadDoneError": 0x22, "LibUplinkSoError": 0x9999,
}

CONSTANTS = {
    "ERROR_INTERNAL": 0x02, "ERROR_CANCELED": 0x03, "ERROR_INVALID_HANDLE": 0x04, "ERROR_TOO_MANY_REQUESTS": 0x05,
    "ERROR_BANDWIDTH_LIMIT_EXCEEDED": 0x06, "ERROR_STORAGE_LIMIT_EXCEEDED": 0x07,
    "ERROR_SEGMENTS_LIMIT_EXCEEDED": 0x08, "ERROR_PERMISSION_DENIED": 0x09, "ERROR_BUCKET_NAME_INVALID": 0x10,
    "ERROR_BUCKET_ALREADY_EXISTS": 0x11, "ERROR_BUCKET_NOT_EMPTY": 0x12, "ERROR_BUCKET_NOT_FOUND": 0x13,
    "ERROR_OBJECT_KEY_INVALID": 0x20, "ERROR_OBJECT_NOT_FOUND": 0x21, "ERROR_UPLOAD_DONE": 0x22,
    "ERROR_AUTH_DIAL_FAILED": 0x30, "ERROR_REGISTER_ACCESS_FAILED": 0x31, "ERROR_LIBUPLINK_SO_NOT_FOUND": 0x9999,
}


@pytest.mark.parametrize("where", sorted(METHODS))
def test_classes_and_methods(where: str) -> None:
    module, name = where.split(".")
    cls = getattr(importlib.import_module(f"uplink_py.{module}"), name)
    for method in METHODS[where]:
        assert callable(getattr(cls, method, None)), f"uplink_py.{where}.{method} is missing"


@pytest.mark.parametrize("name, arguments, has_dict", TYPES, ids=[t[0] for t in TYPES])
def test_types_take_the_same_arguments(name: str, arguments: list[str], has_dict: bool) -> None:
    from uplink_py import module_classes

    cls = getattr(module_classes, name)
    assert list(inspect.signature(cls).parameters)[: len(arguments)] == arguments
    instance = cls()  # every argument has a default, as in uplink-python (DownloadOptions' too)
    assert isinstance(instance.get_structure(), ctypes.Structure)
    if has_dict:
        assert set(instance.get_dict()) >= {a for a in arguments if a not in ("key_length", "value_length")}


def test_get_structure_holds_the_values() -> None:
    from uplink_py.module_classes import (
        Config,
        CustomMetadata,
        CustomMetadataEntry,
        DownloadOptions,
        ListObjectsOptions,
        Object,
        Permission,
        SystemMetadata,
    )

    obj = Object("k/é", False, SystemMetadata(1, 2, 3), CustomMetadata([CustomMetadataEntry("a", 1, "bc", 2)], 1))
    struct = obj.get_structure()
    assert (struct.key, struct.system.content_length, struct.custom.count) == ("k/é".encode(), 3, 1)
    assert (struct.custom.entries[0].key, struct.custom.entries[0].value_length) == (b"a", 2)
    assert Config("agent", 1500).get_structure().dial_timeout_milliseconds == 1500
    assert Permission(allow_list=True, not_after=99).get_structure().not_after == 99
    assert DownloadOptions(5, -1).get_structure().offset == 5
    assert ListObjectsOptions(prefix="p/", recursive=True).get_structure().recursive is True


def test_errors_classes_codes_and_constants() -> None:
    assert issubclass(errors.StorjException, Exception)
    for name, code in EXCEPTIONS.items():
        cls = getattr(errors, name)
        assert issubclass(cls, errors.StorjException) and cls.code == code, name
        exc = cls("message", code, "details")
        assert (exc.message, exc.code, exc.details) == ("message", code, "details")
    for name, value in CONSTANTS.items():
        assert getattr(errors, name) == value, name
    assert errors._from_code(errors.ERROR_BUCKET_NOT_FOUND, "m").__class__ is errors.BucketNotFoundError


def test_module_def_exposes_the_structures() -> None:
    from uplink_py import module_def

    for name in ("_ConfigStruct", "_PermissionStruct", "_SharePrefixStruct", "_BucketStruct", "_SystemMetadataStruct",
                 "_CustomMetadataEntryStruct", "_CustomMetadataStruct", "_ObjectStruct", "_ListObjectsOptionsStruct",
                 "_ListBucketsOptionsStruct", "_UploadOptionsStruct", "_DownloadOptionsStruct"):
        assert issubclass(getattr(module_def, name), ctypes.Structure), name


@pytest.mark.integration
def test_access_derive_encryption_key_method(access, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    import uplink_py

    writer = uplink_py.Uplink().parse_access(access.serialize())
    writer.override_encryption_key(py_bucket, "tenant/", writer.derive_encryption_key("passphrase", "salt"))
    with writer.open_project() as project:
        project.upload_bytes(py_bucket, "tenant/x", b"secret")
    # The method derives the same key as the module function with the salt's UTF-8 bytes...
    same = uplink_py.Uplink().parse_access(access.serialize())
    same.override_encryption_key(py_bucket, "tenant/", uplink_py.derive_encryption_key("passphrase", b"salt"))
    with same.open_project() as project:
        assert project.download_bytes(py_bucket, "tenant/x") == b"secret"
    # ...and another salt gives another key: the object cannot be read with it.
    other = uplink_py.Uplink().parse_access(access.serialize())
    other.override_encryption_key(py_bucket, "tenant/", other.derive_encryption_key("passphrase", "pepper"))
    with other.open_project() as project, pytest.raises(errors.ObjectNotFoundError):  # its key is encrypted otherwise
        project.download_bytes(py_bucket, "tenant/x")
