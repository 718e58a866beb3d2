"""Downloads: one object version whole, into memory or a local file, or an error.

Every range of one parallel download reads the object version the first range found:
versioned objects by their version id, and every range checks the identity of what it
opened (:attr:`uplink_py.Download.identity`). A concurrent overwrite or delete gives
:class:`~uplink_py.errors.ObjectChangedError`, never a mix of two versions; every range
must deliver exactly its length, so a short read is an error, never zeros.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from .. import errors
from ..module_classes import DownloadOptions, Object
from .settings import CHUNK, Tuning, non_negative_int
from .sources import byte_view
from .tasks import CancelScope, Progress, ProgressCallback, run_tasks
from .targets import AtomicFile, InOrder, is_special

if TYPE_CHECKING:
    from .._core import Download, Project

S = TypeVar("S", bound="Sink")


@dataclass(frozen=True)
class Pinned:
    """One stored object version: what every range of a transfer must read."""

    bucket: str
    info: Object  # as stat_object or Download.info() reported it, identity included

    @property
    def key(self) -> str:
        return self.info.key

    @property
    def identity(self) -> str:
        assert self.info.identity is not None, "an Object from stat_object or Download.info()"
        return self.info.identity

    @property
    def size(self) -> int:
        return self.info.system.content_length

    @property
    def version(self) -> str | None:
        """The version id to pin ranges to (versioned objects), else None."""
        return self.info.version


def pin(
    project: Project, bucket: str, key: str, scope: CancelScope | None = None, version: str | None = None
) -> Pinned:
    """The object's current version, or the given one (one stat call)."""
    return Pinned(bucket, (scope or CancelScope()).call(project.stat_object, bucket, key, version=version))


def _changed(pinned: Pinned, what: str = "replaced or deleted") -> errors.ObjectChangedError:
    return errors.ObjectChangedError(
        f"{pinned.bucket}/{pinned.key} was {what} while it was read; nothing of it was returned"
    )


def open_pinned(project: Project, pinned: Pinned, offset: int, length: int, scope: CancelScope) -> Download:
    """A download of ``[offset, offset+length)`` of exactly ``pinned``'s version."""
    try:
        download = scope.call(
            project.download_object, pinned.bucket, pinned.key, DownloadOptions(offset, length), version=pinned.version
        )
    except errors.ObjectNotFoundError as exc:
        raise _changed(pinned) from exc
    if download.identity != pinned.identity:
        download.close()
        raise _changed(pinned, "replaced")
    return download


def changed_since(project: Project, pinned: Pinned) -> errors.ObjectChangedError | None:
    """After a failed read: the error to raise instead if the object is no longer ``pinned``."""
    try:
        now = project.stat_object(pinned.bucket, pinned.key, version=pinned.version)
    except errors.ObjectNotFoundError:
        return _changed(pinned, "deleted")
    except Exception:  # the read's own error says more
        return None
    return None if now.identity == pinned.identity else _changed(pinned, "replaced")


def read_exactly(download: Download, view: memoryview, progress: Progress | None = None) -> None:
    """Fills ``view`` from ``download`` (``readinto`` fills until full or the end, so one
    call per chunk); raises if the download ends first."""
    for start in range(0, view.nbytes, CHUNK):
        want = min(CHUNK, view.nbytes - start)
        with view[start : start + want] as chunk:
            got = download.readinto(chunk)
        if progress is not None:
            progress.add(got)
        if got < want:
            raise errors.InternalError(f"the download ended after {start + got} of {view.nbytes} bytes")


# ---------------------------------------------------------------- where the bytes go


class Sink:
    """Where a download's ranges land, by offset from the first byte downloaded."""

    def fill(self, download: Download, start: int, length: int, progress: Progress) -> None:
        raise NotImplementedError


class ViewSink(Sink):
    """Straight into the caller's memory (bytearray, numpy array, mmap): no copies."""

    def __init__(self, view: memoryview) -> None:
        self.view = view

    def fill(self, download: Download, start: int, length: int, progress: Progress) -> None:
        with self.view[start : start + length] as target:
            read_exactly(download, target, progress)


class FileSink(Sink):
    """Into an AtomicFile by positional writes (or a device in order), through one buffer
    per range."""

    def __init__(self, file: AtomicFile | InOrder) -> None:
        self.file = file

    def fill(self, download: Download, start: int, length: int, progress: Progress) -> None:
        buffer = bytearray(min(CHUNK, length))
        with memoryview(buffer) as whole:
            for offset in range(start, start + length, CHUNK):
                size = min(CHUNK, start + length - offset)
                with whole[:size] as chunk:
                    read_exactly(download, chunk, progress)
                    self.file.write_at(offset, chunk)


# ---------------------------------------------------------------- one object


def download(
    project: Project,
    bucket: str,
    key: str,
    make_sink: Callable[[int], S],
    *,
    offset: int = 0,
    limit: int | None = None,
    tuning: Tuning = Tuning(),
    progress: ProgressCallback | None = None,
    scope: CancelScope | None = None,
    version: str | None = None,
) -> tuple[Pinned, S, int]:
    """Downloads ``[offset, offset+limit)`` of the object (to its end with ``limit=None``;
    its current version or ``version``) into ``make_sink(count)``; returns the version
    read, the sink and the count."""
    scope = scope or CancelScope()
    first: Download | None = None
    if offset == 0:  # the first range's download also tells the size and version
        first_length = -1 if tuning.max_concurrency == 1 else tuning.part_size
        if limit is not None:
            first_length = limit if first_length < 0 else min(limit, first_length)
        first = scope.call(project.download_object, bucket, key, DownloadOptions(0, first_length), version=version)
        pinned = Pinned(bucket, first.info())
    else:  # a range beyond the end is empty, not an error: the size comes first
        pinned = pin(project, bucket, key, scope, version)
    count = max(0, pinned.size - offset)
    if limit is not None:
        count = min(count, limit)
    ranges = tuning.ranges(offset, count) if tuning.parallel(count) else [(offset, count)]
    sink = make_sink(count)
    reporter = Progress(progress, count)

    def get(start: int, length: int) -> None:
        opened = first if start == offset and first is not None else open_pinned(project, pinned, start, length, scope)
        with scope.track(opened), opened:
            sink.fill(opened, start - offset, length, reporter)

    try:
        run_tasks([partial(get, s, ln) for s, ln in ranges if ln > 0], tuning.max_concurrency, scope)
    except errors.StorjException as exc:
        changed = None if isinstance(exc, errors.CancelledError) else changed_since(project, pinned)
        if changed is None or isinstance(exc, errors.ObjectChangedError):
            raise
        raise changed from exc
    finally:
        if first is not None and not first.closed:
            first.close()  # an empty range never read it
    reporter.finish()
    return pinned, sink, count


def download_file(
    project: Project,
    bucket: str,
    key: str,
    path: str,
    *,
    tuning: Tuning = Tuning(),
    progress: ProgressCallback | None = None,
    scope: CancelScope | None = None,
    version: str | None = None,
    replace: bool = True,
) -> Pinned:
    """The object (or its ``version``) into a local file, atomically (see :mod:`.targets`);
    with ``replace=False`` an existing file stays (FileExistsError). A device or FIFO
    (``/dev/null``, ``/dev/stdout``, a named pipe) gets the bytes written into it, as one
    stream: a failure midway leaves what was written, as any stream does."""
    if is_special(path):
        if not replace:
            raise FileExistsError(17, "File exists", path)
        stream = InOrder(path)
        try:
            pinned, _, _ = download(project, bucket, key, lambda _count: FileSink(stream),
                                    tuning=Tuning(1, tuning.part_size), progress=progress, scope=scope, version=version)
        finally:
            stream.close()
        return pinned
    target = AtomicFile(path)  # before any network call: an unwritable directory fails first
    try:
        pinned, _, count = download(
            project, bucket, key, lambda _count: FileSink(target), tuning=tuning, progress=progress, scope=scope,
            version=version,
        )
        target.commit(count, replace=replace)
    except BaseException:
        target.discard()
        raise
    return pinned


def read_range(project: Project, pinned: Pinned, start: int, end: int, scope: CancelScope | None = None) -> bytes:
    """``[start, end)`` of exactly ``pinned``'s version (clipped to its size), in one download
    (cancelled with ``scope``); a failure while the object was replaced or deleted is
    ObjectChangedError."""
    end = min(end, pinned.size)
    if end <= start:
        return b""
    scope = scope or CancelScope()
    try:
        download_ = open_pinned(project, pinned, start, end - start, scope)
        with scope.track(download_), download_:
            data = download_.readall()
    except errors.StorjException as exc:
        changed = None if isinstance(exc, (errors.CancelledError, errors.ObjectChangedError)) \
            else changed_since(project, pinned)
        if changed is None:
            raise
        raise changed from exc
    if len(data) != end - start:
        raise _changed(pinned) if changed_since(project, pinned) else errors.InternalError(
            f"{pinned.bucket}/{pinned.key}: read {len(data)} of {end - start} bytes"
        )
    return data


def download_many(
    project: Project,
    bucket: str,
    keys: Iterable[str],
    *,
    max_concurrency: int,
    progress: ProgressCallback | None = None,
    scope: CancelScope | None = None,
) -> list[bytes]:
    """The objects' bytes (each one stream: one version), in the order of ``keys``."""
    names = list(keys)
    scope = scope or CancelScope()
    reporter = Progress(progress, len(names))

    def get(key: str) -> bytes:
        opened = scope.call(project.download_object, bucket, key)
        with scope.track(opened), opened:
            data = opened.readall()
        reporter.add(1)
        return data

    results = run_tasks([partial(get, k) for k in names], max_concurrency, scope)
    reporter.finish()
    return results


def download_bytes(
    project: Project,
    bucket: str,
    key: str,
    options: DownloadOptions | None = None,
    *,
    tuning: Tuning = Tuning(),
    progress: ProgressCallback | None = None,
    scope: CancelScope | None = None,
    version: str | None = None,
) -> bytes:
    """The object's bytes (or the range of ``options``, in one stream: one version; the
    current version or ``version``)."""
    scope = scope or CancelScope()
    if options is not None:
        opened = scope.call(project.download_object, bucket, key, options, version=version)
        with scope.track(opened), opened:
            data = opened.readall()
        if progress is not None:
            progress(len(data), len(data))
        return data
    _, sink, _ = download(project, bucket, key, lambda count: ViewSink(memoryview(bytearray(count))),
                          tuning=tuning, progress=progress, scope=scope, version=version)
    return bytes(sink.view)


def download_into(
    project: Project,
    bucket: str,
    key: str,
    buffer: Any,
    offset: int = 0,
    *,
    tuning: Tuning = Tuning(),
    progress: ProgressCallback | None = None,
    scope: CancelScope | None = None,
    version: str | None = None,
) -> int:
    """Fills a writable buffer with the object's bytes (or its ``version``'s) from
    ``offset``; the count."""
    non_negative_int(offset, "offset")
    view = byte_view(buffer)
    if view.readonly:
        raise BufferError("download_into needs a writable buffer")
    _, _, count = download(project, bucket, key, lambda count: ViewSink(view[:count]), offset=offset,
                           limit=view.nbytes, tuning=tuning, progress=progress, scope=scope, version=version)
    return count
