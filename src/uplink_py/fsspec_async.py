"""The asynchronous face of the ``sj://`` filesystem, for zarr 3, xarray and other asyncio users.

``fsspec.filesystem("sj", asynchronous=True, ...)`` (what zarr's ``FsspecStore.from_url``
and ``zarr.open("sj://...")`` ask for) gives an :class:`AsyncStorjFileSystem`: fsspec's
coroutine methods (``_cat_file``, ``_pipe_file``, ``_cat_ranges``, ``_info``, ``_ls``,
``_find``, ``_rm``...) run :class:`~uplink_py.fsspec.StorjFileSystem`'s own methods on a
pool of ``max_workers`` threads of this filesystem (the native module releases the GIL), so
zarr's concurrent chunk requests really run at once, without fsspec's generic
sync-to-async wrapper and its small default thread pool. Cancelling the awaiting task
cancels the native calls of its operation. The sync methods are the sync filesystem's.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from fsspec.asyn import AsyncFileSystem  # type: ignore[import-untyped,unused-ignore]

from . import engine
from .engine import CancelScope
from .fsspec import StorjFileSystem

__all__ = ["AsyncStorjFileSystem"]

T = TypeVar("T")
DEFAULT_MAX_WORKERS = 16


class AsyncStorjFileSystem(StorjFileSystem, AsyncFileSystem):  # type: ignore[misc,unused-ignore]
    """``StorjFileSystem`` with fsspec's async interface (``asynchronous=True``).

    Args: those of :class:`~uplink_py.fsspec.StorjFileSystem`, and ``max_workers``: the
    calls that run at once (more wait their turn).
    """

    async_impl = True
    # The sync methods stay StorjFileSystem's (plain threads): fsspec's mirrored ones would
    # need an event loop of the filesystem's own, which an asynchronous instance has not.
    mirror_sync_methods = False

    def __init__(self, *args: Any, max_workers: int = DEFAULT_MAX_WORKERS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._max_workers = engine.positive_int(max_workers, "max_workers")
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on this filesystem's pool, in a cancel scope of its own."""
        if self._pool is None or self._pool_pid != os.getpid():  # a forked child has no pool threads
            self._pool, self._pool_pid = engine.executor(self._max_workers, "fsspec-async"), os.getpid()
        scope = CancelScope()

        def run() -> T:
            with scope.active():
                return fn(*args, **kwargs)

        future: Future[T] = self._pool.submit(run)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            scope.cancel()
            if not future.cancel():  # running: the transfer is over when the caller resumes
                waiter = asyncio.wrap_future(future)
                await asyncio.wait([waiter])
                if not waiter.cancelled():
                    waiter.exception()  # retrieved: the cancellation is what the caller gets
            raise

    # the coroutines zarr and fsspec's async helpers use, over the sync implementations

    async def _info(self, path: Any, **kwargs: Any) -> Any:
        return await self._call(super().info, path, **kwargs)

    async def _ls(self, path: Any, detail: bool = True, **kwargs: Any) -> Any:
        return await self._call(super().ls, path, detail=detail, **kwargs)

    async def _exists(self, path: Any, **kwargs: Any) -> bool:
        return await self._call(super().exists, path, **kwargs)

    async def _find(self, path: Any, maxdepth: int | None = None, withdirs: bool = False, **kwargs: Any) -> Any:
        return await self._call(super().find, path, maxdepth=maxdepth, withdirs=withdirs, **kwargs)

    async def _cat_file(self, path: Any, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        return await self._call(super().cat_file, path, start=start, end=end, **kwargs)

    async def _cat_ranges(self, paths: Any, starts: Any, ends: Any, max_gap: int | None = None,
                          on_error: str = "return", **kwargs: Any) -> Any:
        return await self._call(super().cat_ranges, paths, starts, ends, max_gap=max_gap, on_error=on_error,
                                **kwargs)

    async def _pipe_file(self, path: Any, value: Any, mode: str = "overwrite", **kwargs: Any) -> None:
        await self._call(super().pipe_file, path, value, mode=mode, **kwargs)

    async def _rm_file(self, path: Any, **kwargs: Any) -> None:
        await self._call(super().rm_file, path, **kwargs)

    async def _rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None, **kwargs: Any) -> None:
        await self._call(super().rm, path, recursive=recursive, maxdepth=maxdepth)

    async def _put_file(self, lpath: Any, rpath: Any, **kwargs: Any) -> None:
        await self._call(super().put_file, lpath, rpath, **kwargs)

    async def _get_file(self, rpath: Any, lpath: Any, **kwargs: Any) -> None:
        await self._call(super().get_file, rpath, lpath, **kwargs)

    async def _cp_file(self, path1: Any, path2: Any, **kwargs: Any) -> None:
        await self._call(super().cp_file, path1, path2, **kwargs)

    async def _makedirs(self, path: Any, exist_ok: bool = False) -> None:
        await self._call(super().makedirs, path, exist_ok=exist_ok)

    async def _mkdir(self, path: Any, create_parents: bool = True, **kwargs: Any) -> None:
        await self._call(super().mkdir, path, create_parents=create_parents, **kwargs)

    def close(self) -> None:
        super().close()
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

