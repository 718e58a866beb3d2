"""uplink-c's C structures as ``ctypes`` types, with uplink-python's names.

uplink-python called uplink-c through ctypes; its option and result classes converted
themselves to these structures with ``get_structure()``. uplink_py calls the C API from
its native module and never needs them, but code written for uplink-python may build or
inspect them, so they exist here with the same layout as ``uplink_definitions.h``.
Strings are UTF-8 bytes; a structure keeps alive what its pointers point to.
"""

from __future__ import annotations

import ctypes
from typing import Any

__all__ = [
    "_BucketStruct",
    "_ConfigStruct",
    "_CustomMetadataEntryStruct",
    "_CustomMetadataStruct",
    "_DownloadOptionsStruct",
    "_ListBucketsOptionsStruct",
    "_ListObjectsOptionsStruct",
    "_ObjectStruct",
    "_PermissionStruct",
    "_SharePrefixStruct",
    "_SystemMetadataStruct",
    "_UploadOptionsStruct",
    "structure_of",
]


class _ConfigStruct(ctypes.Structure):
    _fields_ = [("user_agent", ctypes.c_char_p), ("dial_timeout_milliseconds", ctypes.c_int32),
                ("temp_directory", ctypes.c_char_p)]


class _PermissionStruct(ctypes.Structure):
    _fields_ = [("allow_download", ctypes.c_bool), ("allow_upload", ctypes.c_bool), ("allow_list", ctypes.c_bool),
                ("allow_delete", ctypes.c_bool), ("not_before", ctypes.c_int64), ("not_after", ctypes.c_int64)]


class _SharePrefixStruct(ctypes.Structure):
    _fields_ = [("bucket", ctypes.c_char_p), ("prefix", ctypes.c_char_p)]


class _BucketStruct(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("created", ctypes.c_int64)]


class _SystemMetadataStruct(ctypes.Structure):
    _fields_ = [("created", ctypes.c_int64), ("expires", ctypes.c_int64), ("content_length", ctypes.c_int64)]


class _CustomMetadataEntryStruct(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("key_length", ctypes.c_size_t), ("value", ctypes.c_char_p),
                ("value_length", ctypes.c_size_t)]


class _CustomMetadataStruct(ctypes.Structure):
    _fields_ = [("entries", ctypes.POINTER(_CustomMetadataEntryStruct)), ("count", ctypes.c_size_t)]


class _ObjectStruct(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("is_prefix", ctypes.c_bool), ("system", _SystemMetadataStruct),
                ("custom", _CustomMetadataStruct)]


class _ListObjectsOptionsStruct(ctypes.Structure):
    _fields_ = [("prefix", ctypes.c_char_p), ("cursor", ctypes.c_char_p), ("recursive", ctypes.c_bool),
                ("system", ctypes.c_bool), ("custom", ctypes.c_bool)]


class _ListBucketsOptionsStruct(ctypes.Structure):
    _fields_ = [("cursor", ctypes.c_char_p)]


class _UploadOptionsStruct(ctypes.Structure):
    _fields_ = [("expires", ctypes.c_int64)]


class _DownloadOptionsStruct(ctypes.Structure):
    _fields_ = [("offset", ctypes.c_int64), ("length", ctypes.c_int64)]


def _text(value: str | bytes) -> bytes:
    return value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)


def _entry(entry: Any) -> _CustomMetadataEntryStruct:
    key, value = _text(entry.key), _text(entry.value)
    return _CustomMetadataEntryStruct(key, len(key), value, len(value))


def _metadata(custom: Any) -> _CustomMetadataStruct:
    entries = [_entry(e) for e in custom.entries]
    array = (_CustomMetadataEntryStruct * len(entries))(*entries)
    out = _CustomMetadataStruct(ctypes.cast(array, ctypes.POINTER(_CustomMetadataEntryStruct)), len(entries))
    out._keep = array  # the entries live as long as the structure
    return out


def structure_of(obj: Any) -> ctypes.Structure:
    """The ctypes structure of an uplink_py.module_classes object (by its class name)."""
    kind = type(obj).__name__
    if kind == "Config":
        return _ConfigStruct(_text(obj.user_agent), obj.dial_timeout_milliseconds, _text(obj.temp_directory))
    if kind == "Permission":
        return _PermissionStruct(obj.allow_download, obj.allow_upload, obj.allow_list, obj.allow_delete,
                                 int(obj.not_before or 0), int(obj.not_after or 0))
    if kind == "SharePrefix":
        return _SharePrefixStruct(_text(obj.bucket), _text(obj.prefix))
    if kind == "Bucket":
        return _BucketStruct(_text(obj.name), obj.created)
    if kind == "SystemMetadata":
        return _SystemMetadataStruct(obj.created, obj.expires, obj.content_length)
    if kind == "CustomMetadataEntry":
        return _entry(obj)
    if kind == "CustomMetadata":
        return _metadata(obj)
    if kind in ("Object", "ObjectVersion"):
        custom = _metadata(obj.custom)
        out = _ObjectStruct(_text(obj.key), obj.is_prefix, structure_of(obj.system), custom)
        out._keep = custom._keep  # the copy in out points into it
        return out
    if kind == "ListObjectsOptions":
        return _ListObjectsOptionsStruct(_text(obj.prefix), _text(obj.cursor), obj.recursive, obj.system,
                                         obj.custom)
    if kind == "ListBucketsOptions":
        return _ListBucketsOptionsStruct(_text(obj.cursor))
    if kind == "UploadOptions":
        return _UploadOptionsStruct(int(obj.expires or 0))
    if kind == "DownloadOptions":
        return _DownloadOptionsStruct(obj.offset, obj.length)
    raise TypeError(f"no uplink-c structure for {kind}")
