"""Option and result classes, with the names and argument order of uplink-python.

Results (``Bucket``, ``Object``, ``UploadInfo``, ``Part``, ...) are built by the native
module; options are read by it attribute by attribute, so any object with the same
attributes works. Times are Unix seconds (``0`` means "not set"), as in uplink-c; the
``*_at`` properties give timezone-aware ``datetime`` values instead. Options that take a
time also accept a ``datetime``.
"""

from __future__ import annotations

import datetime as _dt
import enum
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Optional, Union

TimeLike = Union[int, float, _dt.datetime, None]


def _to_unix(value: TimeLike, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"{name}: use a timezone-aware datetime")
        return int(value.timestamp())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be Unix seconds or a datetime, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return int(value)


def _to_datetime(seconds: int) -> _dt.datetime | None:
    return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc) if seconds else None


class _Structured:
    """uplink-python's ``get_structure()``: the object as its uplink-c ctypes structure."""

    def get_structure(self) -> Any:
        from .module_def import structure_of

        return structure_of(self)


# ---------------------------------------------------------------- options


@dataclass
class Config(_Structured):
    """Options for requesting an access and opening a project."""

    user_agent: str = ""
    dial_timeout_milliseconds: int = 0  # 0: the library's default (10 s)
    temp_directory: str = ""
    # uplink-py's own (uplink-python's Config has neither; both are keyword-friendly):
    # the timeout of each satellite call (stat, a listing page, commit, opening...), and
    # of each read, write (of at most 8 MiB) and commit of a transfer. 0: the default
    # (120 s, 600 s); negative: none. Exceeded: DeadlineExceededError (a TimeoutError).
    call_timeout_milliseconds: int = 0
    transfer_timeout_milliseconds: int = 0
    # How many times in a row a download may retry a stream that failed with a network
    # error or a rate limit, on a new download of the rest of the same object version
    # (backoff 100 ms, doubling, at most 2 s; a stream that delivered 1 MiB earns the
    # retries back). 0: the default (5: about 3 s of failures); negative: never.
    # Satellite calls need none of ours: uplink retries their network errors itself.
    download_retries: int = 0
    # Transfer tuning: the knobs of the Go CLI's `uplink cp` (0: uplink's default, in
    # parentheses; see "Tuning transfers" in README.md for what measurements say).
    maximum_concurrent_pieces: int = 0  # piece uploads in flight per upload, all segments (300)
    maximum_concurrent_segments: int = 0  # segments in flight per upload (10)
    connection_pool_capacity: int = 0  # connections kept for reuse (100)
    connection_pool_key_capacity: int = 0  # of them per peer (5)
    connection_pool_idle_expiration_milliseconds: int = 0  # an idle one closes after (120000)


@dataclass
class Permission(_Structured):
    """What a shared access may do; ``not_before``/``not_after`` bound its validity."""

    allow_download: bool = False
    allow_upload: bool = False
    allow_list: bool = False
    allow_delete: bool = False
    not_before: TimeLike = 0
    not_after: TimeLike = 0
    # Object Lock (granular, as in storj.io/uplink's Permission; not in uplink-python)
    allow_put_object_retention: bool = False
    allow_get_object_retention: bool = False
    allow_put_object_legal_hold: bool = False
    allow_get_object_legal_hold: bool = False
    allow_bypass_governance_retention: bool = False
    allow_put_bucket_object_lock_configuration: bool = False
    allow_get_bucket_object_lock_configuration: bool = False
    # New objects expire at most this long after their upload (seconds or a timedelta;
    # None: no limit); an upload asking for a later expiry fails.
    max_object_ttl: Union[float, _dt.timedelta, None] = None

    def __post_init__(self) -> None:
        self.not_before = _to_unix(self.not_before, "not_before")
        self.not_after = _to_unix(self.not_after, "not_after")
        ttl = self.max_object_ttl
        if isinstance(ttl, _dt.timedelta):
            ttl = ttl.total_seconds()
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (int, float))):
            raise TypeError(f"max_object_ttl must be seconds or a timedelta, not {type(ttl).__name__}")
        if ttl is not None and not ttl > 0:
            raise ValueError("max_object_ttl must be positive (None: no limit)")

    @property
    def max_object_ttl_milliseconds(self) -> int:
        """max_object_ttl as the native layer reads it (0: none)."""
        ttl = self.max_object_ttl
        if ttl is None:
            return 0
        seconds = ttl.total_seconds() if isinstance(ttl, _dt.timedelta) else ttl
        return max(1, round(seconds * 1000))


@dataclass
class SharePrefix(_Structured):
    """A bucket, and optionally a key prefix inside it, that a shared access may reach."""

    bucket: str = ""
    prefix: str = ""


@dataclass
class ListObjectsOptions(_Structured):
    prefix: str = ""
    cursor: str = ""
    recursive: bool = False
    system: bool = False
    custom: bool = False


@dataclass
class ListBucketsOptions(_Structured):
    cursor: str = ""


@dataclass
class ListUploadsOptions(ListObjectsOptions):
    """Listing of multipart uploads in progress: the same options as for objects."""


@dataclass
class ListUploadPartsOptions:
    cursor: int = 0  # list parts with a number greater than this


@dataclass
class UploadOptions(_Structured):
    expires: TimeLike = 0  # 0 or None: never

    def __post_init__(self) -> None:
        self.expires = _to_unix(self.expires, "expires")


@dataclass
class DownloadOptions(_Structured):
    """A byte range: ``length`` < 0 reads to the end; ``offset`` < 0 counts from the end."""

    offset: int = 0
    length: int = -1


@dataclass
class CommitUploadOptions:
    custom_metadata: CustomMetadata | Mapping[str, str] | None = None


@dataclass
class EdgeConfig:
    """Where Storj's auth service is (for S3-compatible credentials)."""

    auth_service_address: str = ""
    certificate_pem: str = ""
    insecure_unencrypted_connection: bool = False


@dataclass
class EdgeRegisterAccessOptions:
    is_public: bool = False


@dataclass
class EdgeShareURLOptions:
    raw: bool = False


# ---------------------------------------------------------------- results


@dataclass
class Bucket(_Structured):
    name: str = ""
    created: int = 0

    @property
    def created_at(self) -> _dt.datetime | None:
        return _to_datetime(self.created)

    def get_dict(self) -> dict[str, Any]:
        return {"name": self.name, "created": self.created}


@dataclass
class SystemMetadata(_Structured):
    created: int = 0
    expires: int = 0
    content_length: int = 0

    @property
    def created_at(self) -> _dt.datetime | None:
        return _to_datetime(self.created)

    @property
    def expires_at(self) -> _dt.datetime | None:
        return _to_datetime(self.expires)

    def get_dict(self) -> dict[str, Any]:
        return {"created": self.created, "expires": self.expires, "content_length": self.content_length}


@dataclass
class CustomMetadataEntry(_Structured):
    key: str = ""
    key_length: int = 0
    value: str = ""
    value_length: int = 0

    def __post_init__(self) -> None:
        # uplink-python callers pass lengths; they are derived when omitted.
        if not self.key_length:
            self.key_length = len(self.key.encode("utf-8", "surrogateescape"))
        if not self.value_length:
            self.value_length = len(self.value.encode("utf-8", "surrogateescape"))

    def get_dict(self) -> dict[str, Any]:
        return {"key": self.key, "key_length": self.key_length, "value": self.value,
                "value_length": self.value_length}


@dataclass
class CustomMetadata(_Structured):
    """User metadata of an object: string keys and values.

    Uploads refuse values with NUL bytes or invalid UTF-8 (storj.io/uplink's rule);
    ``update_object_metadata`` and ``commit_upload`` accept any bytes, which read back
    through the ``surrogateescape`` error handler.
    """

    entries: list[CustomMetadataEntry] = field(default_factory=list)
    count: int = 0

    def __post_init__(self) -> None:
        self.entries = list(self.entries or [])
        self.count = len(self.entries)

    @classmethod
    def from_dict(cls, mapping: Mapping[str, str]) -> CustomMetadata:
        return cls([CustomMetadataEntry(key=k, value=v) for k, v in mapping.items()])

    def to_dict(self) -> dict[str, str]:
        return {e.key: e.value for e in self.entries}

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[CustomMetadataEntry]:
        return iter(self.entries)

    def get_dict(self) -> dict[str, Any]:
        return {"entries": [e.get_dict() for e in self.entries], "count": self.count}


@dataclass
class Object(_Structured):
    key: str = ""
    is_prefix: bool = False
    system: SystemMetadata = field(default_factory=SystemMetadata)
    custom: CustomMetadata = field(default_factory=CustomMetadata)
    # Storj's version id (hex) of an object in a versioned bucket, where the call reports
    # it (stat_object, Download.info()); download_object(..., version=...) reads it.
    version: Optional[str] = None
    # Names this exact stored object (equal identities: the same bytes), where the call
    # reports it; an overwrite, even of the same length, has a new identity.
    identity: Optional[str] = field(default=None, repr=False, compare=False)

    @property
    def size(self) -> int:
        """The object's length in bytes (``system.content_length``)."""
        return self.system.content_length

    def get_dict(self) -> dict[str, Any]:
        return {"key": self.key, "is_prefix": self.is_prefix, "system": self.system.get_dict(),
                "custom": self.custom.get_dict()}


class RetentionMode(enum.IntEnum):
    """How a retention period protects an object version (S3's Object Lock modes)."""

    NONE = 0
    COMPLIANCE = 1  # nobody can shorten or remove it before it ends
    GOVERNANCE = 2  # an access with allow_bypass_governance_retention can


class BucketVersioning(enum.IntEnum):
    """A bucket's versioning state."""

    UNSUPPORTED = 0  # the satellite does not version this bucket
    UNVERSIONED = 1  # never enabled: an overwrite replaces the object
    ENABLED = 2  # every write keeps the versions before it
    SUSPENDED = 3  # enabled once, now off: old versions stay, new writes replace


class DeleteStatus(enum.IntEnum):
    """The outcome of one key of :meth:`Project.delete_objects`."""

    INTERNAL_ERROR = 0
    UNAUTHORIZED = 1
    NOT_FOUND = 2
    OK = 3
    LOCKED = 4  # its Object Lock settings prevented the deletion


@dataclass
class Retention:
    """A retention period: ``retain_until`` in Unix seconds (or a ``datetime``)."""

    mode: RetentionMode = RetentionMode.NONE
    retain_until: TimeLike = 0

    def __post_init__(self) -> None:
        self.mode = RetentionMode(self.mode)
        self.retain_until = _to_unix(self.retain_until, "retain_until")
        if (self.mode == RetentionMode.NONE) != (self.retain_until == 0):
            raise ValueError("a retention has both a mode and a retain_until time, or neither")

    @property
    def retain_until_at(self) -> _dt.datetime | None:
        return _to_datetime(_to_unix(self.retain_until, "retain_until"))

    def __bool__(self) -> bool:
        return self.mode != RetentionMode.NONE

    def get_dict(self) -> dict[str, Any]:
        return {"mode": self.mode.name.lower(), "retain_until": self.retain_until}


@dataclass
class ObjectLockConfiguration:
    """A bucket's Object Lock: whether it is on, and the retention new versions get."""

    enabled: bool = False
    default_mode: RetentionMode = RetentionMode.NONE
    default_days: int = 0  # one of days and years with a default mode
    default_years: int = 0

    def __post_init__(self) -> None:
        self.default_mode = RetentionMode(self.default_mode)
        if self.default_mode != RetentionMode.NONE and (self.default_days > 0) == (self.default_years > 0):
            raise ValueError("a default retention needs exactly one of default_days and default_years > 0")

    def get_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "default_mode": self.default_mode.name.lower(),
                "default_days": self.default_days, "default_years": self.default_years}


@dataclass
class ObjectVersion(Object):
    """An object version, or a delete marker, with what Storj reports about it.

    ``legal_hold`` and ``retention`` are None where the call does not report them (a
    listing, an access without the permission to read them).
    """

    etag: Optional[bytes] = field(default=None, repr=False)
    is_versioned: bool = False  # stored while versioning was on (its version stays)
    is_delete_marker: bool = False
    is_latest: bool = False
    legal_hold: Optional[bool] = None
    retention: Optional[Retention] = None

    def get_dict(self) -> dict[str, Any]:
        out = super().get_dict()
        out.update(version=self.version, is_versioned=self.is_versioned, is_delete_marker=self.is_delete_marker,
                   is_latest=self.is_latest, legal_hold=self.legal_hold,
                   retention=self.retention.get_dict() if self.retention is not None else None,
                   etag=self.etag.hex() if self.etag else None)
        return out


@dataclass
class DeleteResult:
    """The outcome of one key (and version) of :meth:`Project.delete_objects`."""

    key: str = ""
    requested_version: Optional[str] = None
    status: DeleteStatus = DeleteStatus.INTERNAL_ERROR
    removed_version: Optional[str] = None  # what was deleted ("" for an unversioned object)
    removed_was_delete_marker: bool = False
    marker_version: Optional[str] = None  # the delete marker inserted, if any

    def __post_init__(self) -> None:
        self.status = DeleteStatus(self.status)

    @property
    def ok(self) -> bool:
        """Deleted, or there was nothing to delete (as S3 counts a missing key)."""
        return self.status in (DeleteStatus.OK, DeleteStatus.NOT_FOUND)


@dataclass
class UploadInfo:
    """A multipart upload in progress."""

    upload_id: str = ""
    key: str = ""
    is_prefix: bool = False
    system: SystemMetadata = field(default_factory=SystemMetadata)
    custom: CustomMetadata = field(default_factory=CustomMetadata)

    def get_dict(self) -> dict[str, Any]:
        return {"upload_id": self.upload_id, "key": self.key, "is_prefix": self.is_prefix,
                "system": self.system.get_dict(), "custom": self.custom.get_dict()}


@dataclass
class Part:
    """One uploaded part of a multipart upload."""

    part_number: int = 0
    size: int = 0
    modified: int = 0
    etag: bytes = b""

    @property
    def modified_at(self) -> _dt.datetime | None:
        return _to_datetime(self.modified)

    def get_dict(self) -> dict[str, Any]:
        return {"part_number": self.part_number, "size": self.size, "modified": self.modified,
                "etag": self.etag}


@dataclass
class EdgeCredentials:
    """S3-compatible credentials from Storj's auth service. ``secret_key`` is never shown."""

    access_key_id: str = ""
    secret_key: str = field(default="", repr=False)
    endpoint: str = ""
