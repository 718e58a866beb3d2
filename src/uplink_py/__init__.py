"""uplink_py: a Python client for the Storj decentralized object store.

Code written for uplink-python ports by changing its import::

    from uplink_py.uplink import Uplink          # was: from uplink_python.uplink import Uplink

Importing this package, ``uplink_py.engine``, ``.fsspec``, ``.aio``, ``.loader`` or
``.cli`` does not load the native module (and the Go runtime in it); the first call that
needs it does, and so does importing the core modules that subclass native classes
(``uplink_py.access``, ``.project``, ``.upload``, ``.download``). A process that only
imported the package can fork safely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors
from ._version import __version__
from .errors import (
    BucketAlreadyExistError,
    BucketNotEmptyError,
    BucketNotFoundError,
    DeadlineExceededError,
    MethodNotAllowedError,
    ObjectExistsError,
    ObjectLockedError,
    ObjectLockInvalidError,
    ObjectNotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    StorjException,
    UnimplementedError,
)
from .module_classes import (
    Bucket,
    BucketVersioning,
    CommitUploadOptions,
    Config,
    CustomMetadata,
    CustomMetadataEntry,
    DeleteResult,
    DeleteStatus,
    DownloadOptions,
    EdgeConfig,
    EdgeCredentials,
    EdgeRegisterAccessOptions,
    EdgeShareURLOptions,
    ListBucketsOptions,
    ListObjectsOptions,
    ListUploadPartsOptions,
    ListUploadsOptions,
    Object,
    ObjectLockConfiguration,
    ObjectVersion,
    Part,
    Permission,
    Retention,
    RetentionMode,
    SharePrefix,
    SystemMetadata,
    UploadInfo,
    UploadOptions,
)
from .timeouts import call_timeout
from .uplink import Uplink

if TYPE_CHECKING:
    from ._core import EncryptionKey, derive_encryption_key, join_share_url, uplink_version
    from .access import Access
    from .download import Download
    from .project import Project
    from .upload import PartUpload, Upload

# Names served by the native module, loaded when first asked for (PEP 562).
_NATIVE = {
    "Access": ("access", "Access"),
    "Project": ("project", "Project"),
    "Upload": ("upload", "Upload"),
    "PartUpload": ("upload", "PartUpload"),
    "Download": ("download", "Download"),
    "EncryptionKey": ("_core", "EncryptionKey"),
    "derive_encryption_key": ("_core", "derive_encryption_key"),
    "join_share_url": ("_core", "join_share_url"),
    "uplink_version": ("_core", "uplink_version"),
}


def __getattr__(name: str) -> Any:
    if name not in _NATIVE:
        raise AttributeError(f"module 'uplink_py' has no attribute {name!r}")
    from importlib import import_module

    from . import access  # noqa: F401  (loads _core once; Access and Project register themselves)

    module, attr = _NATIVE[name]
    value = getattr(import_module(f".{module}", __name__), attr)
    globals()[name] = value
    return value


__all__ = [
    "Access",
    "Bucket",
    "BucketAlreadyExistError",
    "BucketNotEmptyError",
    "BucketNotFoundError",
    "BucketVersioning",
    "CommitUploadOptions",
    "Config",
    "CustomMetadata",
    "CustomMetadataEntry",
    "DeadlineExceededError",
    "DeleteResult",
    "DeleteStatus",
    "Download",
    "DownloadOptions",
    "EdgeConfig",
    "EdgeCredentials",
    "EdgeRegisterAccessOptions",
    "EdgeShareURLOptions",
    "EncryptionKey",
    "ListBucketsOptions",
    "ListObjectsOptions",
    "ListUploadPartsOptions",
    "ListUploadsOptions",
    "MethodNotAllowedError",
    "Object",
    "ObjectExistsError",
    "ObjectLockConfiguration",
    "ObjectLockInvalidError",
    "ObjectLockedError",
    "ObjectNotFoundError",
    "ObjectVersion",
    "Part",
    "PartUpload",
    "Permission",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "Project",
    "Retention",
    "RetentionMode",
    "SharePrefix",
    "StorjException",
    "SystemMetadata",
    "UnimplementedError",
    "Uplink",
    "Upload",
    "UploadInfo",
    "UploadOptions",
    "__version__",
    "call_timeout",
    "derive_encryption_key",
    "errors",
    "join_share_url",
    "uplink_version",
]
