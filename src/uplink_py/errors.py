"""Exceptions raised by uplink_py.

One class per uplink-c error code, with the names of uplink-python (the older ctypes
binding), so ``except BucketNotFoundError`` keeps working after a port. Where a builtin
exception means the same thing, the class derives from it too: a missing object is also a
``FileNotFoundError``, a denied operation also a ``PermissionError``, a closed handle also
a ``ValueError`` (like a closed file).

The native module maps every error through :func:`_from_code`, the one place where codes
become classes. Messages come from the Go library and never contain access grants, API
keys or passphrases.
"""

from __future__ import annotations

from typing import Any


class StorjException(Exception):
    """Base class of every error uplink_py raises for a Storj operation.

    Attributes:
        message: what went wrong, in one line.
        code: the uplink-c error code (see the module's constants), or None.
        details: the full error chain from the Go library, or None.
    """

    code: int | None = None

    def __init__(self, message: str = "", code: int | None = None, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # OSError-derived subclasses would otherwise pickle as (errno, strerror).
        return (type(self), (self.message, self.code, self.details))


class InternalError(StorjException):
    code = 0x02


class CancelledError(StorjException):
    """The operation was cancelled (for example by Ctrl-C or ``cancel()``)."""

    code = 0x03


class InvalidHandleError(StorjException, ValueError):
    """The handle was closed, already committed/aborted, or never opened."""

    code = 0x04


class TooManyRequestsError(StorjException):
    code = 0x05


class BandwidthLimitExceededError(StorjException):
    code = 0x06


class StorageLimitExceededError(StorjException):
    code = 0x07


class SegmentsLimitExceededError(StorjException):
    code = 0x08


class PermissionDeniedError(StorjException, PermissionError):
    code = 0x09


class BucketNameInvalidError(StorjException, ValueError):
    code = 0x10


class BucketAlreadyExistError(StorjException, FileExistsError):
    code = 0x11


class BucketNotEmptyError(StorjException):
    code = 0x12


class BucketNotFoundError(StorjException, FileNotFoundError):
    code = 0x13


class ObjectKeyInvalidError(StorjException, ValueError):
    code = 0x20


class ObjectNotFoundError(StorjException, FileNotFoundError):
    code = 0x21


class UploadDoneError(StorjException):
    """The upload was already committed or aborted."""

    code = 0x22


class EdgeAuthDialFailedError(StorjException):
    code = 0x30


class EdgeRegisterAccessFailedError(StorjException):
    code = 0x31


class ObjectChangedError(StorjException):
    """The object was replaced or deleted while it was being read.

    A read returns one object version whole or raises this: parts of a parallel download,
    and the reads of one open file, all read the version found first. Read again to get
    the new version.
    """

    code = 0x101  # uplink_py's own code (the native module raises it from Download.seek)


class DeadlineExceededError(InternalError, TimeoutError):
    """A call ran out of time: its call timeout (``Config.call_timeout_milliseconds``,
    :func:`uplink_py.call_timeout`) or the dial timeout. Also the builtin
    ``TimeoutError``, and an :class:`InternalError` (what uplink-python raised for it).
    A transfer whose call timed out is cancelled: start it again."""

    code = 0x102  # uplink_py's own code


class PreconditionFailedError(StorjException):
    """A condition of the request did not hold (the satellite's failed precondition); a
    create-if-absent write's is the subclass :class:`ObjectExistsError`."""

    code = 0x103  # uplink_py's own code


class ObjectExistsError(PreconditionFailedError, FileExistsError):
    """A create-if-absent write (``if_none_match=True``) found an object at the key: the
    other writer won, and nothing of this write was committed."""

    code = 0x104  # uplink_py's own code


class ObjectLockedError(StorjException, PermissionError):
    """The object version is protected by a retention period or a legal hold."""

    code = 0x105  # uplink_py's own code


class ObjectLockInvalidError(StorjException, ValueError):
    """Object Lock cannot be used here: the bucket or project has no Object Lock, or the
    object's state or the upload's options do not allow it."""

    code = 0x106  # uplink_py's own code


class MethodNotAllowedError(StorjException):
    """The operation does not apply to this object version (e.g. reading a delete marker)."""

    code = 0x107  # uplink_py's own code


class UnimplementedError(StorjException, NotImplementedError):
    """The satellite does not implement the request."""

    code = 0x108  # uplink_py's own code


class SourceChangedError(StorjException, OSError):
    """A local file changed (shrank, grew or was rewritten) while it was being uploaded;
    nothing was committed."""


class AbortedWriteWarning(UserWarning):
    """A written file was closed while an exception was being handled or propagating (in
    an ``except`` or ``finally`` block), and so aborted: nothing was stored. Where the
    exception propagates, its own traceback says why; where an ``except`` block handled it,
    this warning is the only sign that the write was dropped (commit the file before the
    handler, or write it in a ``with`` block of its own)."""


class ForkedProcessError(StorjException, RuntimeError):
    """uplink_py was used in a parent process and then called in a forked child.

    The Go runtime does not survive ``fork()``; use the ``spawn`` or ``forkserver``
    start method, or import uplink_py in the parent without using it.
    """


class LibUplinkSoError(StorjException, ImportError):
    """The native module could not be loaded (kept for uplink-python compatibility)."""


_BY_CODE: dict[int, type[StorjException]] = {
    cls.code: cls
    for cls in (
        InternalError,
        CancelledError,
        InvalidHandleError,
        TooManyRequestsError,
        BandwidthLimitExceededError,
        StorageLimitExceededError,
        SegmentsLimitExceededError,
        PermissionDeniedError,
        BucketNameInvalidError,
        BucketAlreadyExistError,
        BucketNotEmptyError,
        BucketNotFoundError,
        ObjectKeyInvalidError,
        ObjectNotFoundError,
        UploadDoneError,
        EdgeAuthDialFailedError,
        EdgeRegisterAccessFailedError,
        ObjectChangedError,
        DeadlineExceededError,
        PreconditionFailedError,
        ObjectExistsError,
        ObjectLockedError,
        ObjectLockInvalidError,
        MethodNotAllowedError,
        UnimplementedError,
    )
    if cls.code is not None
}


# uplink-c's error codes, under uplink-python's names.
ERROR_INTERNAL = InternalError.code
ERROR_CANCELED = CancelledError.code
ERROR_INVALID_HANDLE = InvalidHandleError.code
ERROR_TOO_MANY_REQUESTS = TooManyRequestsError.code
ERROR_BANDWIDTH_LIMIT_EXCEEDED = BandwidthLimitExceededError.code
ERROR_STORAGE_LIMIT_EXCEEDED = StorageLimitExceededError.code
ERROR_SEGMENTS_LIMIT_EXCEEDED = SegmentsLimitExceededError.code
ERROR_PERMISSION_DENIED = PermissionDeniedError.code
ERROR_BUCKET_NAME_INVALID = BucketNameInvalidError.code
ERROR_BUCKET_ALREADY_EXISTS = BucketAlreadyExistError.code
ERROR_BUCKET_NOT_EMPTY = BucketNotEmptyError.code
ERROR_BUCKET_NOT_FOUND = BucketNotFoundError.code
ERROR_OBJECT_KEY_INVALID = ObjectKeyInvalidError.code
ERROR_OBJECT_NOT_FOUND = ObjectNotFoundError.code
ERROR_UPLOAD_DONE = UploadDoneError.code
ERROR_AUTH_DIAL_FAILED = EdgeAuthDialFailedError.code
ERROR_REGISTER_ACCESS_FAILED = EdgeRegisterAccessFailedError.code
ERROR_LIBUPLINK_SO_NOT_FOUND = 0x9999  # uplink-python's value: the native library did not load
LibUplinkSoError.code = ERROR_LIBUPLINK_SO_NOT_FOUND


def _from_code(code: int, message: str, details: str | None = None) -> StorjException:
    """The exception for an uplink-c error code (unknown codes give InternalError)."""
    cls = _BY_CODE.get(code, InternalError)
    return cls(message, code, details)
