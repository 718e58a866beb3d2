"""An fsspec filesystem for Storj: ``sj://bucket/key`` (also ``storj://``).

With uplink-py installed, pandas, pyarrow, Dask, zarr and everything else that reads
through fsspec reach Storj by URL::

    import pandas as pd

    df = pd.read_parquet("sj://bucket/table.parquet", storage_options={"access": grant})

    import fsspec

    fs = fsspec.filesystem("sj", access=grant)
    fs.ls("bucket/prefix")
    with fs.open("bucket/key", "rb") as f:   # seekable, ranged reads, readahead
        f.seek(1000)
        f.read(100)

Credentials are either ``access`` (a serialized access grant) or ``satellite``,
``api_key`` and ``passphrase``; with none of them, the ``STORJ_ACCESS`` environment
variable. Pickling the filesystem carries exactly these options (a secret: treat the
pickle like the grant), and every process opens its own project, lazily, on first use:
a Dask worker or a ``multiprocessing`` child never reuses its parent's project. Within a
process, every filesystem instance with the same credentials shares one project (a
project is thread-safe; fsspec makes one instance per thread).

Storj has buckets and objects; directories are key prefixes ending in ``/``, as in S3.
The root lists buckets; ``mkdir``/``rmdir`` of a top-level name create and remove
buckets, and of deeper paths do nothing that can be seen (prefixes exist while objects
under them exist). Objects are immutable: files open for reading (``rb``) or writing
(``wb``, ``xb``), not appending. A written file uploads parallel parts while it is
written (:class:`uplink_py.engine.ObjectWriter`) and becomes visible, whole, when it is
closed; leaving its ``with`` block by an exception, ``discard()``, or dropping it unclosed
aborts the upload and nothing is stored. A file read sequentially keeps parallel ranges
in flight ahead of the reader (:class:`uplink_py.engine.ObjectReader`).

``xb`` (and ``mode="create"`` of ``pipe_file``/``put_file``) is atomic: the satellite
commits the object only if the key is free, so of two racing writers exactly one wins and
the other gets FileExistsError. ``rm`` deletes in batches of 1,000 keys per request. A
filesystem made with ``version_aware=True`` reads older versions of objects in versioned
buckets, as s3fs does: ``version_id=`` on ``open``/``cat_file``/``info``/``get_file``, or
``bucket/key?versionId=<id>`` paths; ``object_version_info(path)`` lists the versions.
"""

from __future__ import annotations

import datetime as _dt
import errno
import io
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, Union

from fsspec.caching import BaseCache  # type: ignore[import-untyped,unused-ignore]
from fsspec.callbacks import DEFAULT_CALLBACK, Callback  # type: ignore[import-untyped,unused-ignore]
from fsspec.spec import (  # type: ignore[import-untyped,unused-ignore]
    AbstractBufferedFile,
    AbstractFileSystem,
    make_instance,
)
from fsspec.utils import isfilelike  # type: ignore[import-untyped,unused-ignore]

from . import engine
from .credentials import Credentials
from .engine import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MANY_CONCURRENCY,
    DEFAULT_PART_SIZE,
    CancelScope,
    ObjectReader,
    ObjectWriter,
    ProgressCallback,
    Tuning,
    Unwinding,
)
from .errors import (
    BucketAlreadyExistError,
    BucketNameInvalidError,
    BucketNotEmptyError,
    BucketNotFoundError,
    ObjectKeyInvalidError,
    ObjectLockedError,
    ObjectNotFoundError,
)
from .module_classes import (
    Bucket,
    BucketVersioning,
    DeleteResult,
    DeleteStatus,
    ListObjectsOptions,
    Object,
    UploadOptions,
)

if TYPE_CHECKING:
    from .project import Project

__all__ = ["StorjFile", "StorjFileSystem"]

Info = dict[str, Any]
PathArg = Union[str, "os.PathLike[str]"]
T = TypeVar("T")
R = TypeVar("R")


# ---------------------------------------------------------------- helpers


def _not_found(path: str) -> FileNotFoundError:
    return FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)


def _not_empty(path: str) -> OSError:
    return OSError(errno.ENOTEMPTY, os.strerror(errno.ENOTEMPTY), path)


def _progress(callback: Callback) -> ProgressCallback:
    """Adapts fsspec's callback to uplink_py's ``progress(done, total)`` (already serialized)."""
    sized = False

    def report(done: int, total: int) -> None:
        nonlocal sized
        if not sized:
            callback.set_size(total)
            sized = True
        callback.absolute_update(done)

    return report


def _dir_info(name: str) -> Info:
    return {"name": name, "size": 0, "type": "directory"}


def _bucket_info(bucket: Bucket) -> Info:
    return {"name": bucket.name, "size": 0, "type": "directory", "created": float(bucket.created)}


def _object_info(bucket: str, obj: Object, metadata: bool = False) -> Info:
    created = float(obj.system.created)
    info: Info = {
        "name": f"{bucket}/{obj.key}",
        "size": obj.system.content_length,
        "type": "file",
        "created": created,
        "mtime": created,  # objects are immutable: created is also the last modification
        "expires": obj.system.expires or None,
    }
    if metadata:
        info["metadata"] = obj.custom.to_dict()
    if obj.version is not None:
        info["version_id"] = obj.version
    return info


def _delete_failure(bucket: str, result: DeleteResult) -> OSError:
    """The error for one key a batch delete could not delete."""
    path = f"{bucket}/{result.key}"
    if result.status == DeleteStatus.LOCKED:
        return ObjectLockedError(f"{path}: protected by Object Lock (a retention period or a legal hold)")
    if result.status == DeleteStatus.UNAUTHORIZED:
        return PermissionError(errno.EACCES, "the access may not delete it", path)
    return OSError(errno.EIO, f"the satellite could not delete it ({result.status.name})", path)


def _write_conditions(mode: str) -> engine.WriteConditions:
    """fsspec's write ``mode``: "create" commits only if the key is free."""
    if mode not in ("overwrite", "create"):
        raise ValueError(f"mode must be 'overwrite' or 'create', not {mode!r}")
    return engine.WriteConditions(if_none_match=mode == "create")


# ---------------------------------------------------------------- the filesystem


@dataclass
class _Read:
    """One download of ``cat_ranges``: the ranges (members) it serves, by their index."""

    path: PathArg
    start: int | None
    end: int | None
    members: list[tuple[int, int | None, int | None]]  # (index, start, end); start None: all of it


def _coalesce(items: list[tuple[PathArg, int | None, int | None]], max_gap: int | None,
              max_block: int) -> list[_Read]:
    """The downloads for ``items``: one per item, or with ``max_gap`` one per run of ranges
    of the same object whose gaps are at most ``max_gap`` and that spans at most
    ``max_block`` bytes (ranges from the end, or to the end, stay alone)."""
    reads: list[_Read] = []
    by_path: dict[str, list[tuple[int, int, int, PathArg]]] = {}
    for index, (path, start, end) in enumerate(items):
        if max_gap is None or start is None or end is None or start < 0 or end < 0:
            reads.append(_Read(path, start, end, [(index, None, None)]))
        else:  # an empty (or reversed) range is empty wherever it sits
            by_path.setdefault(os.fspath(path), []).append((start, max(start, end), index, path))
    for ranges in by_path.values():
        current: _Read | None = None
        for start, end, index, path in sorted(ranges):
            assert max_gap is not None  # by_path is filled only with a max_gap
            if current is not None and current.end is not None and current.start is not None \
                    and start - current.end <= max_gap and max(current.end, end) - current.start <= max_block:
                current.end = max(current.end, end)
            else:
                current = _Read(path, start, end, [])
                reads.append(current)
            current.members.append((index, start, end))
    return reads


class StorjFileSystem(AbstractFileSystem):  # type: ignore[misc,unused-ignore]  # fsspec is untyped
    """Storj buckets and objects as an fsspec filesystem (protocols ``sj`` and ``storj``).

    Args:
        access: a serialized access grant (``Access.serialize()``, ``uplink share``).
        satellite, api_key, passphrase: instead of ``access``, request a grant from the
            satellite (once per process, on first use).
        max_concurrency: transfers in flight for one call (parts of a large object in
            ``put_file``/``get_file``/``cat_file``/``pipe_file``; ranges of ``cat_ranges``;
            objects of ``rm``).
        part_size: objects larger than this move as parallel parts.
        version_aware: accept ``version_id=`` and ``?versionId=`` paths (as s3fs), to
            read older versions of objects in versioned buckets.
        **kwargs: fsspec's options (``use_listings_cache``, ``listings_expiry_time``,
            ``skip_instance_cache``, ...).

    Paths are ``bucket/key`` with or without ``sj://``. ``info`` and ``ls`` entries carry
    ``name``, ``size``, ``type`` (``file`` or ``directory``), and for objects ``created``
    and ``mtime`` (Unix seconds), ``expires`` (Unix seconds or None) and, from ``info``,
    ``metadata`` (the object's custom metadata).
    """

    protocol = ("sj", "storj")
    root_marker = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> StorjFileSystem:
        # asynchronous=True (zarr, fsspec's async users) gets the coroutine interface
        if kwargs.get("asynchronous") and cls is StorjFileSystem:
            from .fsspec_async import AsyncStorjFileSystem

            return super().__new__(AsyncStorjFileSystem)  # type: ignore[no-any-return,unused-ignore]
        return super().__new__(cls)  # type: ignore[no-any-return,unused-ignore]

    def __init__(
        self,
        access: str | None = None,
        *,
        satellite: str | None = None,
        api_key: str | None = None,
        passphrase: str | None = None,
        max_concurrency: int = DEFAULT_MANY_CONCURRENCY,
        part_size: int = DEFAULT_PART_SIZE,
        version_aware: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(version_aware, bool):
            raise TypeError(f"version_aware must be a bool, not {type(version_aware).__name__}")
        self.version_aware = version_aware
        self._from_env = False
        if access is None and satellite is None and api_key is None and passphrase is None:
            if not os.environ.get("STORJ_ACCESS"):
                raise ValueError(
                    "no Storj credentials: pass access=<serialized grant>, or satellite, api_key "
                    "and passphrase, or set STORJ_ACCESS"
                )
            access, self._from_env = os.environ["STORJ_ACCESS"], True
        if access is not None and not isinstance(access, str):
            raise TypeError(
                "access must be a serialized grant (str); pass access.serialize(), "
                "or use StorjFileSystem.from_access(access)"
            )
        self._credentials = Credentials(access, satellite, api_key, passphrase)
        self.tuning = Tuning(max_concurrency, part_size)

    @classmethod
    def from_access(cls, access: Any, **kwargs: Any) -> StorjFileSystem:
        """A filesystem for an ``uplink_py.Access`` (its serialized grant is what pickles)."""
        return cls(access=access.serialize(), **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        # The options as given, plus the grant when it came from STORJ_ACCESS (another
        # process may not have that variable). Never a project: each process opens its own.
        options = dict(self.storage_options)
        if self._from_env:
            options["access"] = self._credentials.access
        return make_instance, (type(self), self.storage_args, options)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} ({'access grant' if self._credentials.access else 'passphrase'})>"

    @property
    def max_concurrency(self) -> int:
        return self.tuning.max_concurrency

    @property
    def part_size(self) -> int:
        return self.tuning.part_size

    # ------------------------------------------------------------ plumbing

    @property
    def project(self) -> Project:
        """This process's project for these credentials, opened on first use."""
        return engine.shared_project(self._credentials)

    def close(self) -> None:
        """Close this process's project for these credentials (reopened if used again)."""
        engine.close_shared_project(self._credentials)

    def _strip(self, path: PathArg) -> str:
        """``bucket/key`` without ``sj://`` and trailing slashes."""
        stripped: str = self._strip_protocol(path)
        return stripped

    def _split(self, path: PathArg) -> tuple[str, str]:
        """``(bucket, key)`` of a path; either may be empty (the root, a bucket)."""
        bucket, _, key = self._strip(path).partition("/")
        return bucket, key

    def _split_key(self, path: PathArg) -> tuple[str, str]:
        """``(bucket, key)`` of a path that must name an object."""
        bucket, key = self._split(path)
        if not key:
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), self._strip(path))
        return bucket, key

    def _split_version(self, path: PathArg, version_id: str | None = None) -> tuple[str, str, str | None]:
        """``(bucket, key, version)`` of an object path: the version of ``version_id`` or, on
        a version-aware filesystem, of a ``?versionId=`` suffix (None: the latest)."""
        text = self._strip(path)
        if self.version_aware and "?versionId=" in text:
            text, _, in_path = text.partition("?versionId=")
            if version_id is not None and version_id != in_path:
                raise ValueError(f"two versions asked for {text}: {in_path!r} in the path, {version_id!r}")
            version_id = in_path or None
        if version_id is not None and not self.version_aware:
            raise ValueError("version_id needs a version-aware filesystem: StorjFileSystem(version_aware=True)")
        bucket, key = self._split_key(text)
        return bucket, key, version_id

    def _map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[fn(item) ...]`` on up to ``max_concurrency`` threads (the project releases
        the GIL); results in order; the first error stops what has not started."""
        return engine.run_tasks([partial(fn, item) for item in items], self.max_concurrency, CancelScope())

    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget cached listings of ``path`` and its parents (all of them with None)."""
        if path is None:
            self.dircache.clear()
        else:
            name = self._strip(path)
            while True:
                self.dircache.pop(name, None)
                if not name:
                    break
                name = self._parent(name)
        super().invalidate_cache(path)

    # ------------------------------------------------------------ listing

    def ls(self, path: PathArg, detail: bool = True, refresh: bool = False, **kwargs: Any) -> list[Info] | list[str]:
        """Entries under ``path``: buckets at the root, else objects and prefixes one level
        down (``[info]`` when ``path`` is an object). Listings are cached per instance
        until a write through it, or ``refresh=True``."""
        path = self._strip(path)
        entries: list[Info] | None = None if refresh else self.dircache.get(path)
        if entries is None:
            entries, is_dir = self._list(path)
            if is_dir:
                self.dircache[path] = entries
        if detail:
            return [dict(e) for e in entries]
        return [e["name"] for e in entries]

    def _list(self, path: str) -> tuple[list[Info], bool]:
        if not path:
            return sorted((_bucket_info(b) for b in self.project.iter_buckets()), key=lambda e: e["name"]), True
        bucket, key = self._split(path)
        prefix = f"{key}/" if key else ""
        entries: list[Info] = []
        marker = False
        for obj in self.project.iter_objects(bucket, ListObjectsOptions(prefix=prefix, system=True)):
            if obj.is_prefix:
                entries.append(_dir_info(f"{bucket}/{obj.key.rstrip('/')}"))
            elif obj.key == prefix:
                marker = True  # an empty object named like the directory ("folder" marker)
            else:
                entries.append(_object_info(bucket, obj))
        entries.sort(key=lambda e: e["name"])
        if entries or marker or not key:
            return entries, True
        try:
            return [_object_info(bucket, self.project.stat_object(bucket, key), metadata=True)], False
        except ObjectNotFoundError:
            raise _not_found(path) from None

    def info(self, path: PathArg, version_id: str | None = None, **kwargs: Any) -> Info:
        """Details of one path: an object (``type`` "file"), a prefix or bucket
        ("directory"); FileNotFoundError when there is nothing. Objects' entries carry
        ``version_id`` where Storj reports one (of ``version_id`` if given)."""
        if version_id is not None or (self.version_aware and "?versionId=" in self._strip(path)):
            bucket, key, version = self._split_version(path, version_id)
            try:
                return _object_info(bucket, self.project.stat_object(bucket, key, version=version), metadata=True)
            except ObjectNotFoundError:
                raise _not_found(f"{bucket}/{key}?versionId={version}") from None
        path = self._strip(path)
        if not path:
            return _dir_info("")
        bucket, key = self._split(path)
        if not key:
            return _bucket_info(self.project.stat_bucket(bucket))
        try:
            return _object_info(bucket, self.project.stat_object(bucket, key), metadata=True)
        except ObjectNotFoundError:
            pass
        for _ in self.project.iter_objects(bucket, ListObjectsOptions(prefix=f"{key}/")):
            return _dir_info(path)
        raise _not_found(path)

    def exists(self, path: PathArg, **kwargs: Any) -> bool:
        """Whether an object, prefix or bucket is at ``path`` (other errors propagate)."""
        try:
            self.info(path)
            return True
        except (FileNotFoundError, BucketNameInvalidError, ObjectKeyInvalidError):
            return False

    def find(
        self,
        path: PathArg,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        **kwargs: Any,
    ) -> list[str] | dict[str, Info]:
        """Every object below ``path`` (and the prefixes, with ``withdirs``), sorted.

        Without ``maxdepth`` this is one recursive listing per bucket, not a walk.
        """
        if maxdepth is not None:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)  # type: ignore[no-any-return]
        out = self._find_entries(self._strip(path), withdirs)
        names = sorted(out)
        if detail:
            return {name: out[name] for name in names}
        return names

    def _find_entries(self, path: str, withdirs: bool) -> dict[str, Info]:
        if not path:  # every bucket, listed concurrently
            buckets = self._list("")[0]
            out: dict[str, Info] = {}
            for found in self._map(lambda b: self._find_in_bucket(b["name"], withdirs), buckets):
                out.update(found)
            return out
        bucket, key = self._split(path)
        out = {}
        options = ListObjectsOptions(prefix=f"{key}/" if key else "", recursive=True, system=True)
        for obj in self.project.iter_objects(bucket, options):
            if obj.key.endswith("/"):  # an empty "folder" marker object
                name = f"{bucket}/{obj.key.rstrip('/')}"
            else:
                info = _object_info(bucket, obj)
                name = info["name"]
                out[name] = info
                name = self._parent(name)
            if withdirs:
                while len(name) > len(path):
                    out.setdefault(name, _dir_info(name))
                    name = self._parent(name)
        if withdirs and (out or not key):
            out[path] = self.info(path) if not key else _dir_info(path)
        if not out and key:
            try:
                info = self.info(path)
            except FileNotFoundError:
                pass
            else:
                if info["type"] == "file":
                    out[path] = info
        return out

    def _find_in_bucket(self, bucket: str, withdirs: bool) -> dict[str, Info]:
        try:
            return self._find_entries(bucket, withdirs)
        except BucketNotFoundError:  # deleted since the root was listed
            return {}

    # ------------------------------------------------------------ buckets and directories

    def mkdir(self, path: PathArg, create_parents: bool = True, **kwargs: Any) -> None:
        """Create a bucket (``path`` is a bucket name; FileExistsError if it exists); for a
        deeper path, create its bucket when ``create_parents`` (prefixes are not stored)."""
        bucket, key = self._split(path)
        if not bucket:
            raise FileExistsError(errno.EEXIST, "the root always exists", "")
        if not key:
            self.project.create_bucket(bucket)
        elif create_parents:
            self.project.ensure_bucket(bucket)
        else:
            self.project.stat_bucket(bucket)  # FileNotFoundError when missing
        self.invalidate_cache(bucket)

    def makedirs(self, path: PathArg, exist_ok: bool = False) -> None:
        """Create the bucket of ``path`` (FileExistsError for an existing bucket unless
        ``exist_ok``)."""
        bucket, key = self._split(path)
        if not bucket:
            if not exist_ok:
                raise FileExistsError(errno.EEXIST, "the root always exists", "")
            return
        try:
            self.project.create_bucket(bucket)
        except BucketAlreadyExistError:
            if not exist_ok and not key:
                raise
        self.invalidate_cache(bucket)

    def rmdir(self, path: PathArg) -> None:
        """Remove an empty bucket, or an empty prefix's marker object; OSError(ENOTEMPTY)
        when something is inside."""
        path = self._strip(path)
        bucket, key = self._split(path)
        if not bucket:
            raise PermissionError(errno.EPERM, "refusing to remove the root", "")
        if not key:
            try:
                self.project.delete_bucket(bucket)
            except BucketNotEmptyError:
                raise _not_empty(path) from None
        else:
            prefix = f"{key}/"
            children = (o for o in self.project.iter_objects(bucket, ListObjectsOptions(prefix=prefix)) if o.key != prefix)
            if next(children, None) is not None:
                raise _not_empty(path)
            if self.project.delete_object(bucket, prefix) is None:
                raise _not_found(path)
        self.invalidate_cache(path)

    def rm(self, path: PathArg | list[PathArg], recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete objects, in batches of 1,000 keys per request; with ``recursive``,
        everything under prefixes (empty "folder" marker objects too), and buckets named
        at the top level with all their objects. A key that could not be deleted (Object
        Lock, permissions) raises once the others are done."""
        # a recursive delete without maxdepth lists what is under each path itself
        listed = recursive and maxdepth is None
        paths: list[str] = self.expand_path(path, recursive=recursive and not listed, maxdepth=maxdepth)
        if "" in paths:
            raise PermissionError(errno.EPERM, "refusing to remove the root (every bucket)", "")
        buckets = [p for p in paths if "/" not in p]
        whole = set(buckets) if listed else set()
        keys: dict[str, dict[str, None]] = {}  # bucket -> keys, in order, once each
        versioned: dict[str, bool] = {}
        failures: list[OSError] = []

        def marks_nothing(bucket: str, key: str) -> bool:
            # where versioning is on, deleting a key that holds no object inserts a delete
            # marker for it (and reports success): only existing objects are deleted there
            if bucket not in versioned:
                versioned[bucket] = self.project.get_bucket_versioning(bucket) in (
                    BucketVersioning.ENABLED, BucketVersioning.SUSPENDED)
            return versioned[bucket] and not self._is_object(bucket, key)

        for p in paths:
            bucket, key = self._split(p)
            if not key or bucket in whole:
                continue
            under = [o.key for o in self.project.iter_objects(
                bucket, ListObjectsOptions(prefix=f"{key}/", recursive=True))] if listed else []
            wanted = keys.setdefault(bucket, {})
            if listed and under:  # a prefix: its objects go, the path itself only if it is one too
                if self._is_object(bucket, key):
                    wanted[key] = None
            elif marks_nothing(bucket, key):
                if not recursive:
                    failures.append(self._missing(p))
            else:
                wanted[key] = None
            wanted.update(dict.fromkeys(under))
        try:
            for bucket, wanted in keys.items():
                for result in engine.delete_objects(self.project, bucket, list(wanted)):
                    if result.status == DeleteStatus.NOT_FOUND and not recursive:
                        failures.append(self._missing(f"{bucket}/{result.key}"))
                    elif not result.ok:
                        failures.append(_delete_failure(bucket, result))
            self._map(self.project.delete_bucket_with_objects, sorted(whole))
            for b in buckets:
                if b not in whole:
                    try:
                        self.project.delete_bucket(b)
                    except BucketNotEmptyError:
                        raise _not_empty(b) from None
            if failures:
                raise failures[0]
        finally:
            for p in paths:
                self.invalidate_cache(p)

    def _missing(self, path: str) -> OSError:
        """The error of rm without recursive for a path that holds no object."""
        if self.isdir(path):
            return IsADirectoryError(errno.EISDIR, "a prefix: use recursive=True", path)
        return _not_found(path)

    def _is_object(self, bucket: str, key: str) -> bool:
        try:
            self.project.stat_object(bucket, key)
            return True
        except ObjectNotFoundError:
            return False

    def rm_file(self, path: PathArg) -> None:
        """Delete one object (FileNotFoundError when there is none)."""
        bucket, key = self._split_key(path)
        if self.project.delete_object(bucket, key) is None:
            raise _not_found(self._strip(path))
        self.invalidate_cache(self._strip(path))

    # ------------------------------------------------------------ whole objects

    def cat_file(self, path: PathArg, start: int | None = None, end: int | None = None,
                 version_id: str | None = None, **kwargs: Any) -> bytes:
        """The object's bytes (of ``version_id``, on a version-aware filesystem), or
        ``[start:end)`` of them (negative counts from the end, like a slice) with one
        ranged download."""
        bucket, key, version = self._split_version(path, version_id)
        return self._read(bucket, key, start, end, version)

    def _read(self, bucket: str, key: str, start: int | None, end: int | None, version: str | None) -> bytes:
        if not start and end is None:
            return engine.download_bytes(self.project, bucket, key, tuning=self.tuning, version=version)
        pinned = engine.pin(self.project, bucket, key, version=version)  # the size, and the version to read
        first, stop, _ = slice(start, end).indices(pinned.size)
        return engine.read_range(self.project, pinned, first, stop)

    def cat_ranges(
        self,
        paths: list[PathArg],
        starts: int | None | list[int | None],
        ends: int | None | list[int | None],
        max_gap: int | None = None,
        on_error: str = "return",
        **kwargs: Any,
    ) -> list[bytes | Exception]:
        """Byte ranges of objects, downloaded concurrently (``max_concurrency`` at a time);
        with ``on_error="return"`` a failed range gives its exception in place. With
        ``max_gap``, ranges of one object at most ``max_gap`` bytes apart are read as one
        download (of at most ``part_size`` bytes) and sliced: fewer requests for many small
        neighbouring chunks."""
        if not isinstance(paths, list):
            raise TypeError("paths must be a list")
        starts_ = starts if isinstance(starts, list) else [starts] * len(paths)
        ends_ = ends if isinstance(ends, list) else [ends] * len(paths)
        if len(starts_) != len(paths) or len(ends_) != len(paths):
            raise ValueError("paths, starts and ends must have the same length")
        if max_gap is not None:
            engine.non_negative_int(max_gap, "max_gap")
        reads = _coalesce(list(zip(paths, starts_, ends_)), max_gap, self.part_size)

        def one(read: _Read) -> bytes | Exception:
            try:
                return self.cat_file(read.path, read.start, read.end)
            except Exception as exc:
                if on_error == "return":
                    return exc
                raise

        out: list[bytes | Exception] = [b""] * len(paths)
        for read, data in zip(reads, self._map(one, reads)):
            for index, start, end in read.members:
                base = read.start or 0  # a merged read's start: an int
                out[index] = data if isinstance(data, Exception) or start is None else \
                    data[start - base : None if end is None else end - base]
        return out

    def pipe_file(self, path: PathArg, value: Any, mode: str = "overwrite", **kwargs: Any) -> None:
        """Store ``value`` (any bytes-like buffer) as the object at ``path``; ``mode="create"``
        commits it only if the key is free (atomically: FileExistsError otherwise).
        ``metadata`` sets custom metadata."""
        bucket, key = self._split_key(path)
        engine.upload(self.project, bucket, key, engine.byte_view(value), metadata=kwargs.get("metadata"),
                      tuning=self.tuning, conditions=_write_conditions(mode))
        self.invalidate_cache(self._strip(path))

    def put_file(
        self,
        lpath: PathArg,
        rpath: PathArg,
        callback: Callback = DEFAULT_CALLBACK,
        mode: str = "overwrite",
        **kwargs: Any,
    ) -> None:
        """Upload a local file (large files as parallel parts; nothing is committed on
        error, nor if the file changes meanwhile). The bucket must exist."""
        if os.path.isdir(lpath):
            return  # prefixes are not stored; the files inside will make it
        bucket, key = self._split_key(rpath)
        if mode == "create" and self.exists(rpath):  # early, to spare the upload; the commit decides
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), self._strip(rpath))
        info = engine.upload(self.project, bucket, key, engine.file_argument(lpath), metadata=kwargs.get("metadata"),
                             tuning=self.tuning, progress=_progress(callback), conditions=_write_conditions(mode))
        callback.set_size(info.size)
        callback.absolute_update(info.size)
        self.invalidate_cache(self._strip(rpath))

    def get_file(
        self,
        rpath: PathArg,
        lpath: Any,
        callback: Callback = DEFAULT_CALLBACK,
        outfile: Any = None,
        version_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Download an object to a local path (atomically: large objects in parallel
        ranges into a temporary file that is renamed at the end) or into an open binary
        file; a prefix or bucket makes a local directory."""
        if outfile is None and isfilelike(lpath):
            outfile = lpath
        bucket, key = self._split(rpath)
        if not key:
            if outfile is None:
                os.makedirs(lpath, exist_ok=True)
            return
        bucket, key, version = self._split_version(rpath, version_id)
        if outfile is not None:
            self._stream_to(bucket, key, outfile, callback, version)
            return
        os.makedirs(os.path.dirname(os.path.abspath(lpath)), exist_ok=True)
        try:
            info = engine.download_file(self.project, bucket, key, lpath, tuning=self.tuning,
                                        progress=_progress(callback), version=version).info
        except ObjectNotFoundError:
            if self.isdir(rpath):
                os.makedirs(lpath, exist_ok=True)
                return
            raise
        callback.set_size(info.size)
        callback.absolute_update(info.size)

    def _stream_to(self, bucket: str, key: str, outfile: Any, callback: Callback, version: str | None) -> None:
        """One download stream (one version) into an open file."""
        buffer = bytearray(engine.CHUNK)
        with self.project.download_object(bucket, key, version=version) as download:
            callback.set_size(download.file_size())
            while True:
                n = download.readinto(buffer)
                if n == 0:
                    break
                with memoryview(buffer) as view:
                    outfile.write(view[:n])
                callback.relative_update(n)

    def cp_file(self, path1: PathArg, path2: PathArg, version_id: str | None = None, **kwargs: Any) -> None:
        """Copy an object (or, version-aware, one of its versions) on the satellite,
        without moving its data through this machine."""
        b1, k1, version = self._split_version(path1, version_id)
        b2, k2 = self._split_key(path2)
        try:
            self.project.copy_object(b1, k1, b2, k2, version=version)
        except ObjectNotFoundError:
            if version is None and self.isdir(path1):
                return  # a prefix (copy and mv list it): its objects are copied one by one
            raise
        self.invalidate_cache(self._strip(path2))

    def mv(self, path1: PathArg | list[PathArg], path2: PathArg | list[PathArg], recursive: bool = False,
           maxdepth: int | None = None, **kwargs: Any) -> None:
        """Move objects (copies on the satellite, then deletes of the sources). Moving a path
        onto itself, however spelled (``sj://b/k``, ``b/k``, ``storj://b/k/``), is a no-op.
        Moves that would delete what they copied are refused before anything changes
        (ValueError): a destination that is also a source (a swap or a chain of lists), a
        prefix moved into itself, lists of different lengths. (fsspec's own ``mv`` copied
        all, then deleted all the sources: both objects of a swap were lost.)"""
        if isinstance(path1, str) and isinstance(path2, str):
            source, target = self._strip(path1), self._strip(path2)
            if source == target:
                return
            if recursive and target.startswith(f"{source}/"):
                raise ValueError(f"cannot move {source} into itself ({target})")
        elif isinstance(path1, list) and isinstance(path2, list):
            if len(path1) != len(path2):
                raise ValueError(f"mv needs as many targets as sources, not {len(path2)} for {len(path1)}")
            pairs = [(p1, p2) for p1, p2 in zip(path1, path2) if self._strip(p1) != self._strip(p2)]
            sources = {self._strip(p) for p, _ in pairs}
            reused = sorted(sources & {self._strip(p) for _, p in pairs})
            if reused:
                raise ValueError(f"{reused[0]} is both a source and a target of this mv: move in two steps")
            path1, path2 = [p for p, _ in pairs], [p for _, p in pairs]
            if not pairs:
                return
        super().mv(path1, path2, recursive=recursive, maxdepth=maxdepth, **kwargs)

    def object_version_info(self, path: PathArg, **kwargs: Any) -> list[Info]:
        """Every version of the object at ``path`` (delete markers too), newest first:
        info dicts with ``version_id``, ``is_latest`` and ``is_delete_marker``."""
        bucket, key = self._split_key(path)
        found: list[Info] = []
        # a listing prefix ends with "/": the key's directory, one level (keys are listed
        # in the order of their encrypted names, so no cursor starts at the key)
        parent = key.rpartition("/")[0]
        directory = ListObjectsOptions(prefix=f"{parent}/" if parent else "", system=True)
        for v in self.project.iter_versions(bucket, directory):
            if v.key != key:
                continue
            info = _object_info(bucket, v)
            info.update(version_id=v.version, is_latest=v.is_latest, is_delete_marker=v.is_delete_marker)
            found.append(info)
        return found

    def created(self, path: PathArg) -> _dt.datetime:
        """When the object (or bucket) was created."""
        return _dt.datetime.fromtimestamp(self.info(path).get("created") or 0, _dt.timezone.utc)

    def modified(self, path: PathArg) -> _dt.datetime:
        """The same as :meth:`created`: Storj objects are replaced, never modified."""
        return self.created(path)

    # ------------------------------------------------------------ files

    def open(
        self,
        path: PathArg,
        mode: str = "rb",
        block_size: int | None = None,
        cache_options: dict[str, Any] | None = None,
        compression: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """fsspec's ``open``; a compressed file written through it also closes (commits)
        the object when it is closed, which fsspec leaves to ``fsspec.open`` alone."""
        if compression is None or "r" in mode:
            return super().open(path, mode, block_size, cache_options, compression, **kwargs)
        from fsspec.compression import compr  # type: ignore[import-untyped,unused-ignore]
        from fsspec.core import get_compression  # type: ignore[import-untyped,unused-ignore]

        text = {k: kwargs.pop(k) for k in ("encoding", "errors", "newline") if k in kwargs}
        binary_mode = mode.replace("t", "").replace("b", "") + "b"
        raw = super().open(path, binary_mode, block_size, cache_options, None, **kwargs)
        compressed = _Compressed(compr[get_compression(self._strip(path), compression)](raw, mode="w"), raw)
        return compressed if "b" in mode else io.TextIOWrapper(compressed, **text)

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> StorjFile:
        return StorjFile(self, path, mode, block_size, autocommit, cache_options=cache_options, **kwargs)


class _Compressed(io.BufferedIOBase):
    """A compressor writing into one of our files: closing it closes (commits) that file
    too, or aborts it while an exception propagates."""

    def __init__(self, compressor: Any, file: StorjFile) -> None:
        super().__init__()
        self._compressor = compressor
        self._file = file

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return int(self._compressor.write(data))

    def flush(self) -> None:
        if not self.closed and not getattr(self._compressor, "closed", False):
            self._compressor.flush()

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._compressor.close()  # writes the trailer into our file
        except BaseException:
            # A failed write discarded the file (before, or in this very flush): its error
            # is what the caller must get, not the compressor's complaint about the file.
            failure = self._file._failure
            if failure is None:
                raise
            raise failure from None
        finally:
            try:
                self._file.close()
            finally:
                super().close()


class _ReaderCache(BaseCache):  # type: ignore[misc,unused-ignore]  # fsspec is untyped
    """fsspec's cache interface over an ObjectReader (``cache_type="parallel"``): every
    read is served by the reader, which reads ahead while reads are sequential."""

    name = "parallel"

    def __init__(self, reader: ObjectReader) -> None:
        super().__init__(reader.block_size, None, reader.size)
        self.reader = reader

    def _fetch(self, start: int | None, stop: int | None) -> bytes:
        start = 0 if start is None else start
        stop = self.size if stop is None else min(stop, self.size)
        if start >= stop:
            return b""
        self.reader.seek(start)
        return self.reader.read(stop - start)

    def close(self) -> None:
        self.reader.close()


def _reopen(fs: StorjFileSystem, path: str, block_size: int, loc: int, cache_type: str, pinned: engine.Pinned,
            kwargs: dict[str, Any]) -> StorjFile:
    """An unpickled read file: ``path`` at ``loc``, reading exactly ``pinned``'s version."""
    file = StorjFile(fs, path, "rb", block_size, cache_type=cache_type, pinned=pinned, **kwargs)
    file.seek(loc)
    return file


class StorjFile(AbstractBufferedFile):  # type: ignore[misc,unused-ignore]  # fsspec is untyped
    """One Storj object open for reading or writing (made by ``StorjFileSystem.open``).

    Reading (``rb``): seekable. The default ``cache_type="parallel"`` is an
    :class:`~uplink_py.engine.ObjectReader`: a sequential reader has up to the
    filesystem's ``max_concurrency`` ranges of ``block_size`` bytes in flight ahead of it,
    a read after a seek fetches what it needs (at least 256 KiB) and nothing ahead.
    fsspec's own caches work too (``cache_type`` "readahead", "bytes", "blockcache",
    "all", "none"...: each miss one ranged download of at least ``block_size``). Every
    read returns bytes of the object version found when the file was opened; once that
    version is replaced or deleted, reads that need the network raise ObjectChangedError.

    ``version_id`` (a version-aware filesystem) reads that version of the object.

    Writing (``wb``, ``xb``): written bytes go to an :class:`~uplink_py.engine.ObjectWriter`
    that uploads parts of the filesystem's ``part_size`` while the file is written, up to
    4 at once (memory: at most 5 part buffers, 320 MiB with the default 64 MiB parts; a
    file smaller than one part holds only its bytes and goes up as one upload at
    ``close()``). The object is committed by ``close()`` when no exception is propagating
    (inside ``fs.transaction``, by the transaction's end) and becomes visible whole.
    It is aborted, and the object that was under the key stays, when the file is closed
    while an exception propagates (a ``with`` block of ``fs.open`` or ``fsspec.open``,
    also through text and compression wrappers, left by an exception), on
    ``discard()``, when a write fails, or when the file is dropped unclosed.
    ``metadata={...}`` sets custom metadata; ``expires`` (Unix seconds or aware
    datetime) makes the object expire. ``xb`` commits only if the key is still free at
    ``close()`` (FileExistsError otherwise, and nothing is stored).
    """

    DEFAULT_BLOCK_SIZE = engine.CHUNK
    fs: StorjFileSystem

    def __init__(
        self,
        fs: StorjFileSystem,
        path: str,
        mode: str = "rb",
        block_size: int | str | None = "default",
        autocommit: bool = True,
        cache_type: str = "parallel",
        cache_options: dict[str, Any] | None = None,
        size: int | None = None,
        metadata: Mapping[str, str] | None = None,
        expires: Any = None,
        version_id: str | None = None,
        pinned: engine.Pinned | None = None,
        **kwargs: Any,
    ) -> None:
        if mode == "ab":
            raise NotImplementedError("Storj objects cannot be appended to; write a new object")
        if mode not in ("rb", "wb", "xb"):
            raise ValueError(f"unsupported mode {mode!r}: use 'rb', 'wb' or 'xb'")
        self.bucket, self.key, version = fs._split_version(path, version_id)
        if version is not None and mode != "rb":
            raise ValueError("version_id is for reading: a write makes a new version")
        path = f"{self.bucket}/{self.key}"
        self._upload: ObjectWriter | None = None
        self._discarded = False
        self._failure: BaseException | None = None  # of a failed write: raised again by later writes
        self._metadata = dict(metadata) if metadata is not None else None
        self._expires = expires
        self._unwinding = Unwinding()
        info: Info | None = None
        if mode == "rb":
            try:  # every read: this version (a file unpickled elsewhere: the one it had)
                self._pinned = pinned or engine.pin(fs.project, self.bucket, self.key, version=version)
            except ObjectNotFoundError:
                if fs.isdir(path):
                    raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path) from None
                raise _not_found(path) from None
            info = _object_info(self.bucket, self._pinned.info, metadata=True)
            size = self._pinned.size
        if mode == "xb" and fs.exists(path):  # early; the commit decides (atomically)
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), path)
        parallel = mode == "rb" and cache_type == "parallel"
        super().__init__(
            fs, path, mode, block_size, autocommit, cache_type="none" if parallel else cache_type,
            cache_options=None if parallel else cache_options, size=size, **kwargs,
        )
        if parallel:
            self.cache = _ReaderCache(ObjectReader(fs.project, self.bucket, self.key, max_concurrency=fs.max_concurrency,
                                                   block_size=self.blocksize, pinned=self._pinned))
        if info is not None:
            self._details = info

    # reading

    def __reduce__(self) -> tuple[Any, ...]:
        """A read file pickles (Dask sends them to workers) with the version it reads: the
        copy raises ObjectChangedError once that version is gone, as the original does,
        instead of reading on in whatever version is current."""
        if self.mode != "rb":
            raise RuntimeError("Pickling a writable file is not supported")
        cache = getattr(self.cache, "name", "none")  # _ReaderCache's is "parallel"
        return _reopen, (self.fs, self.path, self.blocksize, self.loc, cache, self._pinned, self.kwargs)

    def _fetch_range(self, start: int, end: int) -> bytes:
        """``[start, end)`` of the version opened, in one ranged download."""
        return engine.read_range(self.fs.project, self._pinned, start, end)

    # writing

    def _initiate_upload(self) -> None:
        tuning = Tuning(min(self.fs.max_concurrency, DEFAULT_CONCURRENCY), self.fs.part_size)
        self._upload = ObjectWriter(self.fs.project, self.bucket, self.key, options=UploadOptions(expires=self._expires),
                                    metadata=self._metadata, tuning=tuning,
                                    conditions=_write_conditions("create" if self.mode == "xb" else "overwrite"))

    def _upload_chunk(self, final: bool = False) -> bool:
        upload = self._upload
        assert upload is not None
        try:
            if self.buffer.tell():
                with self.buffer.getbuffer() as view:
                    upload.write(view)
            if final and self.autocommit:
                self.commit()
        except BaseException as exc:
            # Discarded: nothing is stored. A wrapper closing later (GzipFile writing its
            # trailer, TextIOWrapper flushing) gets this same error again, not another one
            # that would hide it.
            self._failure = exc
            self.discard()
            raise
        return True

    def write(self, data: Any) -> int:
        if self._failure is not None:
            raise self._failure
        return int(super().write(data))

    def commit(self) -> None:
        """Make the written object visible (called by ``close``, or by a transaction)."""
        upload = self._upload
        if upload is None or self._discarded:
            raise ValueError("nothing to commit: the file was not closed, or was discarded")
        try:
            upload.commit()  # every part, then the object (close() decided already: no second check)
        except BaseException:
            self._abort()
            raise
        self.fs.invalidate_cache(self.path)

    def discard(self) -> None:
        """Abort the upload: nothing written through this file is stored."""
        self._abort()
        self.buffer = io.BytesIO()  # drop what was not sent
        self.closed = True

    def _abort(self) -> None:
        self._discarded = True
        upload, self._upload = self._upload, None
        if upload is not None:
            upload.abort()  # ObjectWriter.abort never raises: the error that brought us here says more

    def close(self) -> None:
        """Commit a written file, or abort it while an exception propagates (see the
        class docs); release a read file's cache."""
        if self._discarded:
            self.closed = True
            return
        if self.mode != "rb" and not self.closed and self._failing():
            self.discard()
            return
        if isinstance(getattr(self, "cache", None), _ReaderCache):
            self.cache.close()
        super().close()

    def _failing(self) -> bool:
        """Whether an exception is propagating through the code closing this file (see
        :mod:`uplink_py.engine.unwinding`)."""
        return self._unwinding.failing(self)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None and self.mode != "rb" and not self.closed:
            self.discard()
        else:
            self.close()

    def __del__(self) -> None:
        if getattr(self, "mode", "rb") != "rb" and not self.closed:
            warnings.warn(
                f"unclosed {self}: its upload was aborted, nothing was stored", ResourceWarning, stacklevel=2
            )
            self.discard()
            return
        if not self.closed:
            self.close()
