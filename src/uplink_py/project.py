"""``Project``: buckets and objects of one project, plus whole-object conveniences.

The native base class holds the seed's methods and everything uplink-c can do; this
subclass adds whole-object transfers, parallel for large objects (see ``_transfer``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Union

from . import _transfer
from ._core import Project as _CoreProject
from ._transfer import DEFAULT_CONCURRENCY, DEFAULT_MANY_CONCURRENCY, DEFAULT_PART_SIZE, ProgressCallback
from .module_classes import CustomMetadata, DownloadOptions, Object, UploadOptions

if TYPE_CHECKING:
    from typing_extensions import Buffer

PathLike = Union[str, "os.PathLike[str]"]
Metadata = Union[CustomMetadata, Mapping[str, str], None]


class Project(_CoreProject):
    """An open project. Use it as a context manager, or call :meth:`close`.

    Whole-object methods move objects larger than ``part_size`` as parallel parts
    (``max_concurrency`` at a time; 1 means one stream). ``progress(done, total)`` is
    called from worker threads with byte counts (object counts for the ``*_many`` methods).
    """

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
    ) -> Object:
        """Upload ``data`` (any C-contiguous buffer, never copied) as one object; returns its info."""
        view = _transfer._byte_view(data)
        return _transfer.upload_view(
            self, bucket_name, storj_path, view, upload_options, custom_metadata, max_concurrency, part_size, progress
        )

    def upload_file(
        self,
        bucket_name: str,
        storj_path: str,
        path: PathLike,
        upload_options: UploadOptions | None = None,
        custom_metadata: Metadata = None,
        *,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        part_size: int = DEFAULT_PART_SIZE,
        progress: ProgressCallback | None = None,
    ) -> Object:
        """Upload a local file (memory-mapped, not read into Python); nothing is committed on error."""
        with _transfer.mapped_file(path) as view:
            return _transfer.upload_view(
                self, bucket_name, storj_path, view, upload_options, custom_metadata, max_concurrency, part_size,
                progress,
            )

    def download_bytes(
        self,
        bucket_name: str,
        storj_path: str,
        download_options: DownloadOptions | None = None,
        *,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        part_size: int = DEFAULT_PART_SIZE,
        progress: ProgressCallback | None = None,
    ) -> bytes:
        """The object's bytes (or the range of ``download_options``).

        Large objects come in parallel ranges into one buffer, then one copy into the
        ``bytes`` returned; :meth:`download_into` avoids even that copy.
        """
        _transfer.check_concurrency(max_concurrency)
        _transfer.check_part_size(part_size)
        with self.download_object(bucket_name, storj_path, download_options) as download:
            size = download.file_size()
            if download_options is not None or max_concurrency == 1 or size <= part_size:
                data = download.readall()
                if progress is not None:
                    progress(len(data), len(data))
                return data
        # The size is known from the download just opened: no stat_object round trip.
        buffer = bytearray(size)
        _transfer.download_view(
            self, bucket_name, storj_path, memoryview(buffer), 0, max_concurrency, part_size, progress
        )
        return bytes(buffer)

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
    ) -> int:
        """Fill ``buffer`` (any writable C-contiguous buffer: bytearray, numpy array, mmap)
        with the object's bytes from ``offset``; returns the count (less than the buffer's
        size when the object ends first)."""
        view = _transfer._byte_view(buffer)
        if view.readonly:
            raise BufferError("download_into needs a writable buffer")
        if offset < 0:
            raise ValueError("offset must not be negative")
        size = _transfer.object_size(self, bucket_name, storj_path)
        count = max(0, min(view.nbytes, size - offset))
        return _transfer.download_view(
            self, bucket_name, storj_path, view[:count], offset, max_concurrency, part_size, progress
        )

    def download_file(
        self,
        bucket_name: str,
        storj_path: str,
        path: PathLike,
        *,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        part_size: int = DEFAULT_PART_SIZE,
        progress: ProgressCallback | None = None,
    ) -> Object:
        """Download into a local file, atomically: ``path`` never holds a partial object."""
        info = self.stat_object(bucket_name, storj_path)
        target = os.fspath(path)
        fd, partial = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(target)), prefix=".uplink-py-", suffix=".part")
        os.close(fd)
        try:
            with _transfer.mapped_file(partial, info.system.content_length) as view:
                _transfer.download_view(
                    self, bucket_name, storj_path, view, 0, max_concurrency, part_size, progress
                )
            os.replace(partial, target)
        except BaseException:
            os.unlink(partial)
            raise
        return info

    def upload_many(
        self,
        bucket_name: str,
        items: Mapping[str, Buffer | PathLike] | Iterable[tuple[str, Buffer | PathLike]],
        upload_options: UploadOptions | None = None,
        *,
        max_concurrency: int = DEFAULT_MANY_CONCURRENCY,
        progress: ProgressCallback | None = None,
    ) -> list[Object]:
        """Upload many objects concurrently: ``{key: data or local path}`` or (key, source) pairs."""
        pairs = items.items() if isinstance(items, Mapping) else items
        return _transfer.upload_many(self, bucket_name, pairs, upload_options, max_concurrency, progress)

    def download_many(
        self,
        bucket_name: str,
        keys: Iterable[str],
        *,
        max_concurrency: int = DEFAULT_MANY_CONCURRENCY,
        progress: ProgressCallback | None = None,
    ) -> list[bytes]:
        """Download many objects concurrently; their bytes in the order of ``keys``."""
        return _transfer.download_many(self, bucket_name, keys, max_concurrency, progress)
