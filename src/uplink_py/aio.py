"""asyncio facade: awaitable project, upload and download operations.

Every call runs the blocking method of :class:`uplink_py.Project` on a bounded
``ThreadPoolExecutor`` owned by the :class:`AsyncProject` (the native module releases
the GIL for every network call, so the event loop and other transfers keep running)::

    from uplink_py import aio

    async with await aio.open_project(grant, max_workers=16) as project:
        await project.upload_bytes("bucket", "key", b"data")
        blobs = await asyncio.gather(*(project.download_bytes("bucket", k) for k in keys))
        async for obj in project.list_objects("bucket", ListObjectsOptions(recursive=True)):
            ...
        async with await project.upload_object("bucket", "big") as upload:  # commit, or abort on error
            await upload.write(chunk)

Cancelling the awaiting task cancels its operation and nothing else: the native handles
the operation opened get ``cancel()`` (an upload is aborted, a multipart upload too:
nothing is committed), its project calls in flight are cancelled through the operation's
scope (other tasks' calls and listings on the same project go on), and the
``CancelledError`` is re-raised only once the worker thread has stopped, so the
transfer is over when ``await task`` returns. An upload whose commit had already
completed when the cancellation arrived stays committed.

Errors are the classes of :mod:`uplink_py.errors`. Progress callbacks are called from
worker threads (use ``loop.call_soon_threadsafe`` to reach the loop).

Importing this module does not load the native module (see ``uplink_py._native``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import Future
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from . import engine, errors
from .credentials import AccessLike
from .credentials import open_project as _open_project
from .engine import DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, CancelScope, ProgressCallback, Tuning
from .module_classes import (
    Bucket,
    DeleteResult,
    DownloadOptions,
    ListBucketsOptions,
    ListObjectsOptions,
    Object,
    ObjectVersion,
    Retention,
    UploadOptions,
)

if TYPE_CHECKING:
    from typing_extensions import Buffer, Self

    from .download import Download
    from .engine.deletes import DeleteItem
    from .engine.sources import SourceLike
    from .engine.uploads import Metadata
    from .project import PathLike, Project
    from .upload import Upload

T = TypeVar("T")
DEFAULT_MAX_WORKERS = 16
_LIST_BATCH = 500  # listed items fetched per executor call

__all__ = ["AsyncDownload", "AsyncProject", "AsyncUpload", "DEFAULT_MAX_WORKERS", "open_project"]


async def open_project(access: AccessLike, *, max_workers: int = DEFAULT_MAX_WORKERS) -> AsyncProject:
    """Open a project from an :class:`~uplink_py.Access` or a serialized grant.

    ``max_workers`` bounds the operations that run at once; more wait their turn.
    """
    engine.positive_int(max_workers, "max_workers")
    project = await asyncio.get_running_loop().run_in_executor(None, _open_project, access)
    return AsyncProject(project, max_workers=max_workers)


class AsyncProject:
    """An open project driven from asyncio; ``async with`` closes it.

    ``project`` is the underlying :class:`uplink_py.Project` (thread-safe; usable from
    executor threads for anything not wrapped here).
    """

    def __init__(self, project: Project, *, max_workers: int = DEFAULT_MAX_WORKERS) -> None:
        self.project = project
        self._executor = engine.executor(max_workers, "aio")

    async def _run(self, fn: Callable[[CancelScope], T]) -> T:
        """Runs ``fn(scope)`` on the executor; cancellation cancels what it opened and
        its project calls in flight, and nothing of other tasks."""
        if self.project.closed:
            raise errors.InvalidHandleError("project is closed")
        scope = CancelScope()
        future: Future[T] = self._executor.submit(fn, scope)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            scope.cancel()
            if not future.cancel():  # already running: wait until it has stopped
                waiter = asyncio.wrap_future(future)
                await asyncio.wait([waiter])
                if not waiter.cancelled():
                    waiter.exception()  # retrieved: the cancellation is what the caller gets
            raise

    # ------------------------------------------------------------ lifetime
    @property
    def closed(self) -> bool:
        return self.project.closed

    async def close(self) -> None:
        """Close the project (open transfers are cancelled first) and the executor."""
        # Not on our executor: it may be full of calls that this close cancels.
        await asyncio.get_running_loop().run_in_executor(None, self.project.close)
        self._executor.shutdown(wait=False)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<AsyncProject {'closed' if self.closed else 'open'}>"

    # ------------------------------------------------------------ buckets
    async def stat_bucket(self, bucket: str) -> Bucket:
        return await self._run(lambda s: s.call(self.project.stat_bucket, bucket))

    async def create_bucket(self, bucket: str) -> Bucket:
        return await self._run(lambda s: s.call(self.project.create_bucket, bucket))

    async def ensure_bucket(self, bucket: str) -> Bucket:
        return await self._run(lambda s: s.call(self.project.ensure_bucket, bucket))

    async def delete_bucket(self, bucket: str, *, with_objects: bool = False) -> Bucket:
        method = self.project.delete_bucket_with_objects if with_objects else self.project.delete_bucket
        return await self._run(lambda s: s.call(method, bucket))

    def list_buckets(self, options: ListBucketsOptions | None = None) -> AsyncIterator[Bucket]:
        """``async for bucket in project.list_buckets(): ...``"""
        return self._iterate(lambda: self.project.iter_buckets(options))

    # ------------------------------------------------------------ objects
    async def stat_object(self, bucket: str, key: str) -> Object:
        return await self._run(lambda s: s.call(self.project.stat_object, bucket, key))

    async def delete_object(self, bucket: str, key: str) -> Object | None:
        return await self._run(lambda s: s.call(self.project.delete_object, bucket, key))

    async def copy_object(self, bucket: str, key: str, new_bucket: str, new_key: str) -> Object:
        return await self._run(lambda s: s.call(self.project.copy_object, bucket, key, new_bucket, new_key))

    async def move_object(self, bucket: str, key: str, new_bucket: str, new_key: str) -> None:
        await self._run(lambda s: s.call(self.project.move_object, bucket, key, new_bucket, new_key))

    def list_objects(self, bucket: str, options: ListObjectsOptions | None = None) -> AsyncIterator[Object]:
        """``async for obj in project.list_objects(bucket, options): ...``"""
        return self._iterate(lambda: self.project.iter_objects(bucket, options))

    # ------------------------------------------------------------ versions
    def list_versions(self, bucket: str, options: ListObjectsOptions | None = None) -> AsyncIterator[ObjectVersion]:
        """``async for version in project.list_versions(bucket, options): ...`` (delete markers too)."""
        return self._iterate(lambda: self.project.iter_versions(bucket, options))

    async def stat_version(self, bucket: str, key: str, version: str | None = None) -> ObjectVersion:
        return await self._run(lambda s: s.call(self.project.stat_version, bucket, key, version))

    async def delete_version(self, bucket: str, key: str, version: str | None = None, *,
                             bypass_governance: bool = False) -> ObjectVersion | None:
        return await self._run(lambda s: s.call(self.project.delete_version, bucket, key, version,
                                                bypass_governance=bypass_governance))

    async def delete_objects(self, bucket: str, items: Iterable[DeleteItem], *,
                             bypass_governance: bool = False) -> list[DeleteResult]:
        """See :meth:`uplink_py.Project.delete_objects` (in batches of 1,000 keys)."""
        return await self._run(lambda s: engine.delete_objects(self.project, bucket, items,
                                                               bypass_governance=bypass_governance, scope=s))

    async def _iterate(self, start: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
        iterator: Iterator[T] | None = None

        def batch(scope: CancelScope) -> list[T]:
            nonlocal iterator
            scope.check()
            with scope.active():
                if iterator is None:
                    iterator = start()
                return [item for _, item in zip(range(_LIST_BATCH), iterator)]

        while True:
            items = await self._run(batch)
            for item in items:
                yield item
            if len(items) < _LIST_BATCH:
                return

    # ------------------------------------------------------------ whole objects
    # The transfer engine's functions, run with the operation's scope: cancelling the
    # task cancels exactly what they opened.
    async def upload_bytes(
        self,
        bucket: str,
        key: str,
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
        """See :meth:`uplink_py.Project.upload_bytes`; ``data`` must not change meanwhile."""
        return await self.upload_file(bucket, key, engine.byte_view(data), upload_options, custom_metadata,
                                      max_concurrency=max_concurrency, part_size=part_size, progress=progress,
                                      retention=retention, legal_hold=legal_hold, if_none_match=if_none_match)

    async def upload_file(
        self,
        bucket: str,
        key: str,
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
        """See :meth:`uplink_py.Project.upload_file`."""
        tuning = Tuning(max_concurrency, part_size)
        conditions = engine.WriteConditions(retention, legal_hold, if_none_match)
        return await self._run(lambda s: engine.upload(
            self.project, bucket, key, engine.file_argument(path), options=upload_options, metadata=custom_metadata,
            tuning=tuning, progress=progress, scope=s, conditions=conditions,
        ))

    async def download_bytes(
        self,
        bucket: str,
        key: str,
        download_options: DownloadOptions | None = None,
        *,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        part_size: int = DEFAULT_PART_SIZE,
        progress: ProgressCallback | None = None,
        version: str | None = None,
    ) -> bytes:
        """See :meth:`uplink_py.Project.download_bytes`."""
        tuning = Tuning(max_concurrency, part_size)
        return await self._run(lambda s: engine.download_bytes(
            self.project, bucket, key, download_options, tuning=tuning, progress=progress, scope=s, version=version,
        ))

    async def download_into(
        self,
        bucket: str,
        key: str,
        buffer: Buffer,
        offset: int = 0,
        *,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        part_size: int = DEFAULT_PART_SIZE,
        progress: ProgressCallback | None = None,
        version: str | None = None,
    ) -> int:
        """See :meth:`uplink_py.Project.download_into`; don't touch ``buffer`` until it returns."""
        tuning = Tuning(max_concurrency, part_size)
        return await self._run(lambda s: engine.download_into(
            self.project, bucket, key, buffer, offset, tuning=tuning, progress=progress, scope=s, version=version,
        ))

    async def download_file(
        self,
        bucket: str,
        key: str,
        path: PathLike,
        *,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        part_size: int = DEFAULT_PART_SIZE,
        progress: ProgressCallback | None = None,
        version: str | None = None,
    ) -> Object:
        """See :meth:`uplink_py.Project.download_file` (atomic: no partial file, also when cancelled)."""
        tuning = Tuning(max_concurrency, part_size)
        return await self._run(lambda s: engine.download_file(
            self.project, bucket, key, os.fspath(path), tuning=tuning, progress=progress, scope=s, version=version,
        ).info)

    # ------------------------------------------------------------ streams
    async def upload_object(self, bucket: str, key: str, options: UploadOptions | None = None) -> AsyncUpload:
        """A streamed upload: ``async with await project.upload_object(b, k) as up: await up.write(...)``."""
        upload: Upload = await self._run(lambda s: s.call(self.project.upload_object, bucket, key, options))
        return AsyncUpload(self, upload)

    async def download_object(self, bucket: str, key: str, options: DownloadOptions | None = None) -> AsyncDownload:
        """A streamed download: ``async with await project.download_object(b, k) as d: await d.read(n)``."""
        download: Download = await self._run(lambda s: s.call(self.project.download_object, bucket, key, options))
        return AsyncDownload(self, download)


class _AsyncTransfer:
    def __init__(self, owner: AsyncProject, handle: Any) -> None:
        self._owner = owner
        self.handle = handle  # the native Upload or Download

    async def _run(self, fn: Callable[[], T]) -> T:
        """``fn()`` on the project's executor; cancellation cancels this transfer."""
        def call(scope: CancelScope) -> T:
            with scope.track(self.handle):
                return fn()

        return await self._owner._run(call)

    @property
    def closed(self) -> bool:
        return bool(self.handle.closed)

    async def info(self) -> Object:
        return await self._run(self.handle.info)

    def cancel(self) -> None:
        """Cancel from anywhere (an upload is aborted; later calls raise)."""
        self.handle.cancel()


class AsyncUpload(_AsyncTransfer):
    """One object uploaded as a stream. ``async with`` commits, or aborts on any error
    (including cancellation of the task)."""

    async def write(self, data: Buffer) -> int:
        """Write all of ``data`` (do not change it until this returns); the count written."""
        return await self._run(lambda: self.handle.write(data))

    async def set_custom_metadata(self, metadata: Metadata) -> None:
        await self._run(lambda: self.handle.set_custom_metadata(metadata))

    async def commit(self) -> None:
        await self._run(self.handle.commit)

    async def abort(self) -> None:
        """Abort (idempotent; no-op after commit)."""
        await self._run(self.handle.abort)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            await self.commit()
        else:  # a no-op when a cancelled write already aborted it
            await asyncio.shield(self._run(self.handle.abort))


class AsyncDownload(_AsyncTransfer):
    """One object (or a range) downloaded as a stream; ``async with`` closes it."""

    async def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all the rest when negative); ``b""`` at the end."""
        if size < 0:
            return await self._run(self.handle.readall)
        def read() -> bytes:
            data: bytes = self.handle.read(size)[0]
            return data

        return await self._run(read)

    async def readinto(self, buffer: Buffer) -> int:
        """Fill ``buffer`` until full or the end of the object; the count read."""
        return await self._run(lambda: self.handle.readinto(buffer))

    async def file_size(self) -> int:
        return await self._run(self.handle.file_size)

    async def close(self) -> None:
        await self._run(self.handle.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.shield(self._run(self.handle.close))

