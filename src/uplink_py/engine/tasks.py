"""Cancellation scopes, progress reports and the one worker pool of the package.

Every operation runs inside a :class:`CancelScope`: the transfers it opens are tracked
there, so cancelling the scope (a failed part, Ctrl-C, a cancelled asyncio task) stops
exactly that operation and nothing else. :func:`run_tasks` runs an operation's parallel
pieces on a thread pool; the native module releases the GIL for every network call, so
they really run at once.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from .. import _native, errors
from .settings import positive_int

T = TypeVar("T")
H = TypeVar("H", bound="Cancellable")

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` from worker threads, never concurrently."""


class Cancellable(Protocol):
    """A native transfer (Upload, Download, PartUpload): ``cancel()`` from any thread."""

    def cancel(self) -> None: ...


_ambient = threading.local()  # .scope: the CancelScope active on this thread, if any


class CancelScope:
    """The transfers and calls of one operation; :meth:`cancel` stops them all.

    Project calls made through :meth:`call`, and everything inside :meth:`track` and
    :meth:`active`, run in the scope's native ``CallScope`` on whichever thread makes them:
    cancelling reaches those calls in flight and no other call of the process (another
    task's, another thread's). Tracked transfers are cancelled too, idle or not. A scope
    made while another is active on the thread (an engine operation run by a caller's
    scope, e.g. a sync filesystem method on an async one's worker) is its child:
    cancelling the outer one cancels it, and so every worker of that operation.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handles: set[Cancellable] = set()
        self._children: weakref.WeakSet[CancelScope] = weakref.WeakSet()
        self._cancelled = False
        self._native: Any = None  # made at first use: creating a scope must not load the native module
        # call_timeout() of the creating thread, for the calls of workers (None: not set;
        # nothing set one if the native module is not loaded yet).
        core = _native.loaded()
        self._timeout: int | None = core._call_timeout() if core is not None else None
        parent: CancelScope | None = getattr(_ambient, "scope", None)
        if parent is not None:
            parent._adopt(self)

    def _adopt(self, child: CancelScope) -> None:
        with self._lock:
            if not self._cancelled:
                self._children.add(child)
                return
        child.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def check(self) -> None:
        """Raise CancelledError once the scope was cancelled."""
        if self._cancelled:
            raise errors.CancelledError("operation cancelled")

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            handles = list(self._handles)
            children = list(self._children)
            native = self._native
        if native is not None:
            native.cancel()
        for handle in handles:
            handle.cancel()
        for child in children:
            child.cancel()

    def _call_scope(self) -> Any:
        with self._lock:
            if self._native is None:
                self._native = _native.core().CallScope()
                if self._cancelled:
                    self._native.cancel()
            return self._native

    @contextmanager
    def active(self) -> Iterator[None]:
        """Runs the block's native calls in this scope (on the calling thread), with
        the call timeout of the thread that created the scope."""
        outer = getattr(_ambient, "scope", None)
        _ambient.scope = self
        try:
            with self._call_scope():
                if self._timeout is None:
                    yield
                    return
                core = _native.core()
                previous = core._swap_call_timeout(self._timeout)
                try:
                    yield
                finally:
                    core._swap_call_timeout(previous)
        finally:
            _ambient.scope = outer

    @contextmanager
    def track(self, handle: H) -> Iterator[H]:
        """Keeps ``handle`` cancellable by this scope while the block runs (in the scope)."""
        with self._lock:
            self._handles.add(handle)
            cancelled = self._cancelled
        if cancelled:
            handle.cancel()
        try:
            with self.active():
                yield handle
        finally:
            with self._lock:
                self._handles.discard(handle)

    def call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A project call (stat, begin/commit upload, open a transfer...) of this operation."""
        self.check()
        with self.active():
            return method(*args, **kwargs)


class Progress:
    """Serializes progress reports of many workers; the total is exact at the end."""

    def __init__(self, callback: ProgressCallback | None, total: int) -> None:
        self._callback = callback
        self.total = total
        self._done = 0
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        if self._callback is None or count == 0:
            return
        with self._lock:
            self._done += count
            self._callback(self._done, self.total)

    def finish(self) -> None:
        """After success: an empty transfer still reports once, as (0, 0)."""
        if self._callback is not None and self.total == 0:
            self._callback(0, 0)


class Stopped(Exception):
    """A task that never started because its operation had already failed or stopped."""


def executor(max_workers: int, name: str) -> ThreadPoolExecutor:
    """A thread pool of the package (threads named ``uplink-py-<name>``)."""
    return ThreadPoolExecutor(positive_int(max_workers, "max_workers"), thread_name_prefix=f"uplink-py-{name}")


def run_tasks(tasks: Sequence[Callable[[], T]], max_concurrency: int, scope: CancelScope) -> list[T]:
    """Runs ``tasks`` at most ``max_concurrency`` at a time; their results in order.

    The first task to fail cancels ``scope`` (so the others stop), the ones not started
    never start, and its error is raised once every task has stopped. Ctrl-C while
    waiting does the same and raises KeyboardInterrupt.
    """
    positive_int(max_concurrency, "max_concurrency")
    if len(tasks) <= 1 or max_concurrency == 1:
        return [task() for task in tasks]
    first: list[BaseException] = []
    lock = threading.Lock()

    def guard(task: Callable[[], T]) -> T:
        if scope.cancelled:
            raise Stopped()
        try:
            return task()
        except BaseException as exc:
            with lock:
                if not first and not isinstance(exc, Stopped):
                    first.append(exc)
            scope.cancel()
            raise

    pool = executor(min(max_concurrency, len(tasks)), "worker")
    futures: list[Future[T]] = [pool.submit(guard, task) for task in tasks]
    try:
        wait(futures, return_when=FIRST_EXCEPTION)
        if first:
            raise first[0]
        try:
            return [f.result() for f in futures]
        except Stopped:  # cancelled from outside before these started
            raise errors.CancelledError("operation cancelled") from None
    except BaseException:
        scope.cancel()
        for future in futures:
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True)
