"""Parallel transfers: one large object in parts, many objects at once.

Project's whole-object methods (upload_bytes, download_into, upload_many, ...) run here.
Worker threads call the native module, which releases the GIL for every network call,
so parts really move in parallel. Data is never copied in Python: uploads write
memoryview slices of the caller's buffer (or of an mmap of the file), downloads read
straight into slices of the caller's buffer (or of an mmap of the target file).

When one part fails, the parts in flight are cancelled, the ones not started never
start, a multipart upload is aborted (nothing is committed) and the first error is
raised. Ctrl-C while waiting does the same.
"""

from __future__ import annotations

import mmap
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, Union

from .module_classes import CommitUploadOptions, DownloadOptions, Object, UploadOptions

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from .project import Metadata, Project

MiB = 1024 * 1024
DEFAULT_PART_SIZE = 64 * MiB  # one Storj segment: parts smaller than this cost more segments
DEFAULT_CONCURRENCY = 4  # parts in flight for one object
DEFAULT_MANY_CONCURRENCY = 8  # objects in flight for upload_many/download_many
_PROGRESS_CHUNK = 8 * MiB  # progress granularity inside a part

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(bytes_done, bytes_total)``, from worker threads, never concurrently."""

T = TypeVar("T")


class _Cancellable(Protocol):
    def cancel(self) -> None: ...


class _Progress:
    """Serializes progress reports from many workers; the total is exact at the end."""

    def __init__(self, callback: ProgressCallback | None, total: int) -> None:
        self._callback = callback
        self._total = total
        self._done = 0
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        if self._callback is None or count == 0:
            return
        with self._lock:
            self._done += count
            self._callback(self._done, self._total)

    def finish(self) -> None:
        """After success: an empty transfer still reports once, as (0, 0)."""
        if self._callback is not None and self._total == 0:
            self._callback(0, 0)


class _Batch:
    """Tasks on a thread pool that stop together when one fails or the caller is interrupted."""

    def __init__(self, max_concurrency: int) -> None:
        check_concurrency(max_concurrency)
        self._pool = ThreadPoolExecutor(max_concurrency, thread_name_prefix="uplink-py")
        self._stop = threading.Event()
        self._active: set[_Cancellable] = set()
        self._lock = threading.Lock()

    @contextmanager
    def track(self, handle: _Cancellable) -> Iterator[None]:
        """Registers a transfer so that stop() can cancel it while it runs."""
        with self._lock:
            if self._stop.is_set():
                handle.cancel()
            self._active.add(handle)
        try:
            yield
        finally:
            with self._lock:
                self._active.discard(handle)

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            for handle in self._active:
                handle.cancel()

    def run(self, tasks: Sequence[Callable[[], T]]) -> list[T]:
        """Results in task order, or the first error after everything has stopped."""
        futures: list[Future[T]] = [self._pool.submit(self._guard, task) for task in tasks]
        try:
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f for f in futures if f.done() and not f.cancelled() and f.exception()), None)
            if failed is not None:
                raise failed.exception()  # type: ignore[misc]
            return [f.result() for f in futures]
        except BaseException:
            self.stop()
            for f in futures:
                f.cancel()
            raise
        finally:
            self._pool.shutdown(wait=True)

    def _guard(self, task: Callable[[], T]) -> T:
        if self._stop.is_set():
            raise _Stopped()
        return task()


def check_concurrency(max_concurrency: int) -> None:
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
        raise TypeError("max_concurrency must be an int")
    if max_concurrency < 1:
        raise ValueError("max_concurrency must be at least 1")


class _Stopped(Exception):
    """A task that never started because the batch stopped."""


def _byte_view(data: Any) -> memoryview:
    """A flat byte view of any C-contiguous buffer, without copying."""
    view = memoryview(data)
    if not view.c_contiguous:
        raise BufferError("the buffer must be C-contiguous")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def check_part_size(part_size: int) -> None:
    if isinstance(part_size, bool) or not isinstance(part_size, int):
        raise TypeError("part_size must be an int")
    if part_size < 1:
        raise ValueError("part_size must be positive")


def _ranges(total: int, part_size: int) -> list[tuple[int, int]]:
    check_part_size(part_size)
    return [(offset, min(part_size, total - offset)) for offset in range(0, total, part_size)]


# ---------------------------------------------------------------- one object up


def upload_view(
    project: Project,
    bucket: str,
    key: str,
    view: memoryview,
    upload_options: UploadOptions | None,
    custom_metadata: Metadata,
    max_concurrency: int,
    part_size: int,
    progress: ProgressCallback | None,
) -> Object:
    """Uploads a byte view as one object: a single stream, or parts in parallel."""
    check_concurrency(max_concurrency)  # also when a single stream will not use it
    reporter = _Progress(progress, view.nbytes)
    ranges = _ranges(view.nbytes, part_size)
    if max_concurrency == 1 or len(ranges) <= 1:
        with project.upload_object(bucket, key, upload_options) as upload:
            if custom_metadata is not None:
                upload.set_custom_metadata(custom_metadata)
            for offset in range(0, view.nbytes, _PROGRESS_CHUNK):
                reporter.add(upload.write(view[offset : offset + _PROGRESS_CHUNK]))
        reporter.finish()
        return upload.info()

    batch = _Batch(max_concurrency)  # validates max_concurrency before anything starts
    upload_id = project.begin_upload(bucket, key, upload_options).upload_id
    try:

        def put(number: int, offset: int, length: int) -> None:
            with project.upload_part(bucket, key, upload_id, number) as part, batch.track(part):
                for start in range(offset, offset + length, _PROGRESS_CHUNK):
                    end = min(start + _PROGRESS_CHUNK, offset + length)
                    reporter.add(part.write(view[start:end]))

        batch.run([partial(put, n, o, ln) for n, (o, ln) in enumerate(ranges, start=1)])
        return project.commit_upload(bucket, key, upload_id, CommitUploadOptions(custom_metadata))
    except BaseException:
        try:
            project.abort_upload(bucket, key, upload_id)
        except Exception:  # the original error says more
            pass
        raise


@contextmanager
def mapped_file(path: str | os.PathLike[str], size: int | None = None) -> Iterator[memoryview]:
    """A file's bytes as a memoryview (read-only, or writable and resized to ``size``)."""
    writable = size is not None
    # fspath first: open() takes an int as a file descriptor (and closes it afterwards).
    with open(os.fspath(path), "r+b" if writable else "rb") as file:
        if writable:
            file.truncate(size)
        length = os.fstat(file.fileno()).st_size
        if length == 0:  # mmap refuses empty files
            yield memoryview(b"" if not writable else bytearray())
            return
        access = mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ
        with mmap.mmap(file.fileno(), length, access=access) as mapping:
            view = memoryview(mapping)
            try:
                yield view
            finally:
                view.release()


# ---------------------------------------------------------------- one object down


def object_size(project: Project, bucket: str, key: str) -> int:
    return project.stat_object(bucket, key).system.content_length


def download_view(
    project: Project,
    bucket: str,
    key: str,
    view: memoryview,
    offset: int,
    max_concurrency: int,
    part_size: int,
    progress: ProgressCallback | None,
) -> int:
    """Fills ``view`` with the object's bytes from ``offset``, in parallel ranged reads."""
    reporter = _Progress(progress, view.nbytes)

    def get(start: int, length: int) -> int:
        done = 0
        with project.download_object(bucket, key, DownloadOptions(offset + start, length)) as download:
            with batch.track(download):
                while done < length:
                    chunk = min(_PROGRESS_CHUNK, length - done)
                    n = download.readinto(view[start + done : start + done + chunk])
                    if n == 0:
                        break
                    done += n
                    reporter.add(n)
        return done

    batch = _Batch(max_concurrency)
    ranges = _ranges(view.nbytes, part_size)
    if max_concurrency == 1 and ranges:  # one stream: one download, not one per part
        ranges = [(0, view.nbytes)]
    counts = batch.run([partial(get, s, ln) for s, ln in ranges])
    reporter.finish()
    return sum(counts)


# ---------------------------------------------------------------- many objects

Source = Union["Buffer", "os.PathLike[str]", str]


def upload_many(
    project: Project,
    bucket: str,
    items: Iterable[tuple[str, Source]],
    upload_options: UploadOptions | None,
    max_concurrency: int,
    progress: ProgressCallback | None,
) -> list[Object]:
    """Uploads (key, data-or-path) pairs concurrently; progress counts objects."""
    pairs = list(items)
    reporter = _Progress(progress, len(pairs))
    batch = _Batch(max_concurrency)

    def put(key: str, source: Source) -> Object:
        with _source_view(source) as view:
            with project.upload_object(bucket, key, upload_options) as upload, batch.track(upload):
                upload.write(view)
        reporter.add(1)
        return upload.info()

    results = batch.run([partial(put, k, s) for k, s in pairs])
    reporter.finish()
    return results


@contextmanager
def _source_view(source: Source) -> Iterator[memoryview]:
    if isinstance(source, (str, os.PathLike)):
        with mapped_file(source) as view:
            yield view
    else:
        yield _byte_view(source)


def download_many(
    project: Project,
    bucket: str,
    keys: Iterable[str],
    max_concurrency: int,
    progress: ProgressCallback | None,
) -> list[bytes]:
    """The objects' bytes, in the order of ``keys``; progress counts objects."""
    names = list(keys)
    reporter = _Progress(progress, len(names))
    batch = _Batch(max_concurrency)

    def get(key: str) -> bytes:
        with project.download_object(bucket, key) as download, batch.track(download):
            data = download.readall()
        reporter.add(1)
        return data

    results = batch.run([partial(get, k) for k in names])
    reporter.finish()
    return results
