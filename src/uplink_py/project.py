"""``Project``: buckets and objects of one project, plus whole-object conveniences.

The native base class holds uplink-python's methods and everything uplink-c can do; this
subclass adds whole-object transfers, which run in the transfer engine
(:mod:`uplink_py.engine`): parallel parts for large objects, one version per download,
commits only on success.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Union

from . import _native, engine
from ._core import Project as _CoreProject
from .engine import (
    DEFAULT_CONCURRENCY,
    WriteConditions,
    DEFAULT_MANY_CONCURRENCY,
    DEFAULT_PART_SIZE,
    ObjectReader,
    ObjectWriter,
    ProgressCallback,
    Tuning,
)
from .engine.reader import DEFAULT_BLOCK_SIZE as READ_BLOCK_SIZE
from .engine.uploads import Metadata
from .module_classes import BucketVersioning, DownloadOptions, Object, Retention, UploadOptions

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from .engine.sources import SourceLike

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["Metadata", "PathLike", "Project"]


class Project(_CoreProject):
    """An open project. Use it as a context manager, or call :meth:`close`.

    Whole-object methods move objects larger than ``part_size`` as parallel parts
    (``max_concurrency`` at a time; 1 means one stream). ``progress(done, total)`` is
    called from worker threads with byte counts (object counts for the ``*_many`` methods).
    Uploads commit only when every byte was written; downloads return one object version
    whole or raise :class:`~uplink_py.errors.ObjectChangedError`.

    Writes take ``retention`` and ``legal_hold`` (lock the version written; the bucket needs
    Object Lock) and ``if_none_match=True`` (create-if-absent: commit only if the key has no
    object, else :class:`~uplink_py.errors.ObjectExistsError` and nothing is stored).
    Reads take ``version`` (an :attr:`ObjectVersion.version <uplink_py.ObjectVersion>`) to
    read an older version of a versioned object.
    """

    def get_bucket_versioning(self, bucket_name: str) -> BucketVersioning:
        """The bucket's versioning state."""
        return BucketVersioning(super().get_bucket_versioning(bucket_name))

    def upload_bytes(
        self,
        bucket_name: str,
        storj_path: str,
        data: Buffer,
        upload_options: UploadOptions | None = None,
        custom_metadata: Metadata = None,
        *,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        part_size: int = DEFAULT_PART_SIZE,
        progress: ProgressCallback | None = None,
        retention: Retention | None = None,
        legal_hold: bool = False,
        if_none_match: bool = False,
    ) -> Object:
        """Upload ``data`` (any C-contiguous buffer, never copied; do not change it meanwhile)
        as one object; returns its info (an ObjectVersion, with its version id)."""
        return engine.upload(self, bucket_name, storj_path, engine.byte_view(data), options=upload_options,
                             metadata=custom_metadata, tuning=Tuning(max_concurrency, part_size), progress=progress,
                             conditions=WriteConditions(retention, legal_hold, if_none_match))

    def upload_file(
        self,
        bucket_name: str,
        storj_path: str,
        path: PathLike | SourceLike,
        upload_options: UploadOptions | None = None,
        custom_metadata: Metadata = None,
        *,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        part_size: int = DEFAULT_PART_SIZE,
        progress: ProgressCallback | None = None,
        retention: Retention | None = None,
        legal_hold: bool = False,
        if_none_match: bool = False,
    ) -> Object:
        """Upload a local file (or a pipe, device, ``/proc`` file, or a binary file object,
        streamed from its position). Regular files read their parts in parallel; a file
        that changes while it is read raises SourceChangedError. Nothing is committed on
        any error. A ``bytes`` path names a file, as for :func:`open`."""
        return engine.upload(self, bucket_name, storj_path, engine.file_argument(path), options=upload_options,
                             metadata=custom_metadata, tuning=Tuning(max_concurrency, part_size), progress=progress,
                             conditions=WriteConditions(retention, legal_hold, if_none_match))

    def open_writer(
        self,
        bucket_name: str,
        storj_path: str,
        upload_options: UploadOptions | None = None,
        custom_metadata: Metadata = None,
        *,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        part_size: int = DEFAULT_PART_SIZE,
        retention: Retention | None = None,
        legal_hold: bool = False,
        if_none_match: bool = False,
    ) -> ObjectWriter:
        """A binary file object that uploads ``part_size`` parts, ``max_concurrency`` at a
        time, while it is written (at most ``max_concurrency + 1`` part buffers in memory).
        ``close()`` or a clean ``with`` exit commits; an exception leaving the ``with``
        block, ``abort()`` or any failure stores nothing (see :class:`~uplink_py.engine.ObjectWriter`)."""
        return ObjectWriter(self, bucket_name, storj_path, options=upload_options, metadata=custom_metadata,
                            tuning=Tuning(max_concurrency, part_size),
                            conditions=WriteConditions(retention, legal_hold, if_none_match))

    def open_reader(
        self,
        bucket_name: str,
        storj_path: str,
        *,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        block_size: int = READ_BLOCK_SIZE,
        max_bytes_ahead: int | None = None,
        version: str | None = None,
    ) -> ObjectReader:
        """A seekable binary file object over the object's current version that keeps up
        to ``max_concurrency`` ranges of ``block_size`` bytes in flight ahead of a
        sequential reader (at most ``max_bytes_ahead``, default their product); see
        :class:`~uplink_py.engine.ObjectReader`."""
        return ObjectReader(self, bucket_name, storj_path, max_concurrency=max_concurrency, block_size=block_size,
                            max_bytes_ahead=max_bytes_ahead,
                            pinned=engine.pin(self, bucket_name, storj_path, version=version) if version else None)

    def download_bytes(
        self,
        bucket_name: str,
        storj_path: str,
        download_options: DownloadOptions | None = None,
        *,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        part_size: int = DEFAULT_PART_SIZE,
        progress: ProgressCallback | None = None,
        version: str | None = None,
    ) -> bytes:
        """The object's bytes (or the range of ``download_options``, in one stream).

        Large objects come in parallel ranges into one buffer, then one copy into the
        ``bytes`` returned; :meth:`download_into` avoids even that copy.
        """
        return engine.download_bytes(self, bucket_name, storj_path, download_options,
                                     tuning=Tuning(max_concurrency, part_size), progress=progress, version=version)

    def download_into(
        self,
        bucket_name: str,
        storj_path: str,
        buffer: Buffer,
        offset: int = 0,
        *,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        part_size: int = DEFAULT_PART_SIZE,
        progress: ProgressCallback | None = None,
        version: str | None = None,
    ) -> int:
        """Fill ``buffer`` (any writable C-contiguous buffer: bytearray, numpy array, mmap)
        with the object's bytes from ``offset``; returns the count (less than the buffer's
        size when the object ends first)."""
        return engine.download_into(self, bucket_name, storj_path, buffer, offset,
                                    tuning=Tuning(max_concurrency, part_size), progress=progress, version=version)

    def download_file(
        self,
        bucket_name: str,
        storj_path: str,
        path: PathLike,
        *,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        part_size: int = DEFAULT_PART_SIZE,
        progress: ProgressCallback | None = None,
        version: str | None = None,
    ) -> Object:
        """Download into a local file, atomically: ``path`` never holds a partial object
        (written beside it, fsynced, then renamed; mode 0o666 less the umask)."""
        return engine.download_file(self, bucket_name, storj_path, os.fspath(path),
                                    tuning=Tuning(max_concurrency, part_size), progress=progress,
                                    version=version).info

    def upload_many(
        self,
        bucket_name: str,
        items: Mapping[str, SourceLike] | Iterable[tuple[str, SourceLike]],
        upload_options: UploadOptions | None = None,
        *,
        max_concurrency: int = DEFAULT_MANY_CONCURRENCY,
        progress: ProgressCallback | None = None,
        if_none_match: bool = False,
    ) -> list[Object]:
        """Upload many objects concurrently: ``{key: data, path or file}`` or (key, source) pairs."""
        pairs = items.items() if isinstance(items, Mapping) else items
        return engine.upload_many(self, bucket_name, pairs, options=upload_options, max_concurrency=max_concurrency,
                                  progress=progress, conditions=WriteConditions(if_none_match=if_none_match))

    def download_many(
        self,
        bucket_name: str,
        keys: Iterable[str],
        *,
        max_concurrency: int = DEFAULT_MANY_CONCURRENCY,
        progress: ProgressCallback | None = None,
    ) -> list[bytes]:
        """Download many objects concurrently; their bytes in the order of ``keys``."""
        return engine.download_many(self, bucket_name, keys, max_concurrency=max_concurrency, progress=progress)


_native.register_type("Project", Project)
