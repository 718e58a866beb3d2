"""Data loading for training: many objects prefetched concurrently, yielded in order.

:class:`ObjectLoader` downloads up to ``max_concurrency`` objects at once and yields
``(key, array)`` pairs in the order of the keys, each ``array`` a 1-D ``numpy.uint8``
array of the object's bytes::

    from uplink_py.loader import ObjectLoader

    for key, data in ObjectLoader(grant, "train", prefix="shards/", max_bytes_in_flight=512 << 20):
        batch = decode(data)        # use ``data`` now: see the reuse contract below

**Memory.** Downloads go straight into numpy buffers from a pool; the buffers alive at
once (downloads in flight, items ready and waiting, the item you hold) never add up to
more than ``max_bytes_in_flight``. An object larger than that is loaded alone.

**Reuse contract.** With ``copy=False`` (the default) the array yielded is a view of a
pooled buffer that is valid *until you ask for the next item*; then the buffer goes back
to the pool and a later object is written into it. Keep the data longer by copying it
(``data.copy()``, ``bytes(data)``) or pass ``copy=True`` to get arrays of your own.

**PyTorch.** :class:`ObjectDataset` (map-style) and :class:`ObjectIterableDataset` work
with ``torch.utils.data.DataLoader`` and its worker processes, and without torch
installed for anything else; ``TorchObjectDataset``/``TorchObjectIterableDataset`` are the
same classes deriving from torch's ``Dataset``/``IterableDataset`` (torch is imported only
when those names are first used). A dataset pickles to its serialized grant, bucket and
keys; each worker process opens its own project on first use. The iterable dataset gives
each DataLoader worker (and each ``shard``, for distributed training) its own slice of
the keys, so every key is read exactly once per epoch.

**Worker start methods.** Use ``multiprocessing_context="spawn"`` or ``"forkserver"``
in the DataLoader. ``fork`` (Linux's default) only works while the parent process has
not used uplink_py yet: the native module embeds the Go runtime, whose threads do not
survive ``fork()``, so a forked child of a process that had loaded it would hang on its
first call. uplink_py refuses such calls instead (``ForkedProcessError``). Importing this
module and building a dataset from a serialized grant string does not load the native
module, so plain ``fork`` works as long as the parent only does that.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import engine
from .engine import DEFAULT_MANY_CONCURRENCY as DEFAULT_CONCURRENCY
from .credentials import AccessLike, Credentials, open_project
from .engine import CancelScope, MiB, Stopped
from .module_classes import ListObjectsOptions

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .project import Project

    Array = npt.NDArray[np.uint8]

T = TypeVar("T")
DEFAULT_BYTES_IN_FLIGHT = 256 * MiB

Transform = Callable[[str, "Array"], T]

__all__ = [
    "LoaderStats",
    "ObjectDataset",
    "ObjectIterableDataset",
    "ObjectLoader",
]
# TorchObjectDataset and TorchObjectIterableDataset are served by __getattr__ (they
# import torch); they stay out of __all__ so star-imports and doc tools work without it.


def _numpy() -> Any:
    try:
        import numpy
    except ImportError as exc:  # pragma: no cover - numpy is a test dependency
        raise ImportError("uplink_py.loader needs numpy: pip install 'uplink-py[numpy]'") from exc
    return numpy


def _capacity(size: int) -> int:
    """Buffer size for an object: rounded up (at most 1/8 more) so buffers get reused."""
    step = max(4096, 1 << max(0, size.bit_length() - 4))
    return -(-size // step) * step


@dataclass
class LoaderStats:
    """What one pass of an :class:`ObjectLoader` did (for tuning and tests)."""

    objects: int = 0
    bytes: int = 0
    buffers_allocated: int = 0
    buffers_reused: int = 0
    peak_buffer_bytes: int = 0  # the most memory its buffers held at once
    peak_downloads: int = 0  # the most downloads in flight at once


class _Pass:
    """The shared state of one pass: the buffer pool (with its ordered reservations) and
    the cancel scope of its downloads, which stop() cancels."""

    def __init__(self, limit: int, stats: LoaderStats) -> None:
        self._np = _numpy()
        self._limit = limit
        self._stats = stats
        self._cond = threading.Condition()
        self._free: list[Array] = []
        self._allocated = 0  # bytes of every pooled buffer, free or in use
        self._in_use = 0
        self._next = 0  # the index whose turn it is to reserve
        self._stopped = False
        self.scope = CancelScope()
        self._downloading = 0

    def reserve(self, index: int, size: int) -> Array:
        """A buffer of at least ``size`` bytes, once every earlier index has one and there is room."""
        with self._cond:
            while True:
                if self._stopped:
                    raise Stopped()
                if self._next == index:
                    buffer = self._take(size)
                    if buffer is not None:
                        self._next += 1
                        self._cond.notify_all()
                        return buffer
                self._cond.wait()

    def _take(self, size: int) -> Array | None:
        fits = [i for i, b in enumerate(self._free) if b.nbytes >= size]
        if fits:
            buffer = self._free.pop(min(fits, key=lambda i: self._free[i].nbytes))  # best fit
            self._in_use += buffer.nbytes
            self._stats.buffers_reused += 1
            return buffer
        capacity = _capacity(size)
        self._free.sort(key=lambda b: b.nbytes)
        while self._free and self._allocated + capacity > self._limit:
            self._allocated -= self._free.pop().nbytes  # too small anyway: let it go
        if self._allocated + capacity > self._limit and self._in_use > 0:
            return None  # wait for the consumer to hand buffers back
        fresh: Array = self._np.empty(capacity, dtype=self._np.uint8)
        self._allocated += capacity
        self._in_use += capacity
        self._stats.buffers_allocated += 1
        self._stats.peak_buffer_bytes = max(self._stats.peak_buffer_bytes, self._allocated)
        return fresh

    def release(self, buffer: Array) -> None:
        with self._cond:
            self._in_use -= buffer.nbytes
            if self._allocated > self._limit:  # an oversized object's buffer: not kept
                self._allocated -= buffer.nbytes
            else:
                self._free.append(buffer)
            self._cond.notify_all()

    def skip(self, index: int) -> None:
        """Passes the turn of an index that failed before reserving."""
        with self._cond:
            while not self._stopped and self._next != index:
                self._cond.wait()
            self._next = max(self._next, index + 1)
            self._cond.notify_all()

    def started(self) -> None:
        with self._cond:
            self._downloading += 1
            self._stats.peak_downloads = max(self._stats.peak_downloads, self._downloading)

    def finished(self) -> None:
        with self._cond:
            self._downloading -= 1

    def stop(self) -> None:
        self.scope.cancel()
        with self._cond:
            self._stopped = True
            self._cond.notify_all()


class ObjectLoader:
    """Iterates ``(key, array)`` over objects of one bucket, prefetching concurrently.

    Args:
        access: an open :class:`~uplink_py.Project` (used, not closed), an
            :class:`~uplink_py.Access` or a serialized grant (a project is opened per pass).
        bucket: the bucket.
        keys: the keys, in the order wanted; or ``None`` with ``prefix``.
        prefix: with ``keys=None``, every object under this prefix (recursive, listing order).
        max_concurrency: downloads in flight at once.
        max_bytes_in_flight: the memory budget of the buffers (see the module docs).
        copy: yield arrays of your own instead of pooled views valid until the next item.

    Each ``iter()`` is one pass (``keys`` must then be re-iterable, like a list);
    ``stats`` describes the last pass. Leaving a pass early (``break``) cancels the
    downloads in flight. An object that fails raises its error at its turn in the order.
    """

    def __init__(
        self,
        access: Project | AccessLike,
        bucket: str,
        keys: Iterable[str] | None = None,
        *,
        prefix: str | None = None,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        max_bytes_in_flight: int = DEFAULT_BYTES_IN_FLIGHT,
        copy: bool = False,
    ) -> None:
        if (keys is None) == (prefix is None):
            raise ValueError("give either keys or prefix")
        engine.positive_int(max_concurrency, "max_concurrency")
        engine.positive_int(max_bytes_in_flight, "max_bytes_in_flight")
        self.access = access
        self.bucket = bucket
        self.keys = keys
        self.prefix = prefix
        self.max_concurrency = max_concurrency
        self.max_bytes_in_flight = max_bytes_in_flight
        self.copy = copy
        self.stats = LoaderStats()

    def _key_iter(self, project: Project) -> Iterator[str]:
        if self.keys is not None:
            return iter(self.keys)
        options = ListObjectsOptions(prefix=self.prefix or "", recursive=True)
        return (o.key for o in project.iter_objects(self.bucket, options) if not o.is_prefix)

    def __iter__(self) -> Generator[tuple[str, Array], None, None]:
        np = _numpy()
        from .project import Project as OpenProject  # a caller's project: used, not closed

        owned = not isinstance(self.access, OpenProject)
        project = open_project(self.access) if not isinstance(self.access, OpenProject) else self.access
        self.stats = stats = LoaderStats()
        state = _Pass(self.max_bytes_in_flight, stats)
        pool = engine.executor(self.max_concurrency, "loader")
        pending: deque[Future[tuple[str, Array, int]]] = deque()
        window = 2 * self.max_concurrency
        held: Array | None = None
        try:
            keys = self._key_iter(project)
            index = 0
            while True:
                while len(pending) < window:
                    key = next(keys, None)
                    if key is None:
                        break
                    pending.append(pool.submit(self._fetch, project, state, index, key))
                    index += 1
                if held is not None:  # the consumer asked for the next item: its buffer is free
                    state.release(held)
                    held = None
                if not pending:
                    return
                key, buffer, size = pending.popleft().result()
                stats.objects += 1
                stats.bytes += size
                if self.copy or size == 0:
                    data = np.array(buffer[:size], copy=True)
                    state.release(buffer)
                    yield key, data
                else:
                    held = buffer
                    yield key, buffer[:size]
        finally:
            state.stop()
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True)
            if owned:
                project.close()

    def _fetch(self, project: Project, state: _Pass, index: int, key: str) -> tuple[str, Array, int]:
        buffer: Array | None = None
        try:
            download = state.scope.call(project.download_object, self.bucket, key)
            with state.scope.track(download), download:
                state.started()
                try:
                    size = download.file_size()
                    buffer = state.reserve(index, size)
                    with memoryview(buffer[:size].data) as view:
                        engine.read_exactly(download, view)
                finally:
                    state.finished()
            return key, buffer, size
        except BaseException:
            if buffer is not None:
                state.release(buffer)
            else:
                state.skip(index)
            raise


# ---------------------------------------------------------------- datasets


def _worker_shard() -> tuple[int, int]:
    """(worker id, worker count) inside a torch DataLoader worker, else (0, 1).

    Looks at torch only when it is already imported: nothing else runs DataLoader workers.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return 0, 1
    info = torch.utils.data.get_worker_info()
    return (0, 1) if info is None else (int(info.id), int(info.num_workers))


class _ProjectPerProcess:
    """Carries the credentials across pickling; each process uses its own project."""

    def __init__(self, access: AccessLike) -> None:
        self._credentials = Credentials.of(access)

    def _get_project(self) -> Project:
        # In a forked child of a process that used uplink_py: ForkedProcessError.
        return engine.shared_project(self._credentials)

    def __repr__(self) -> str:  # never the grant
        return f"<{type(self).__name__} bucket={getattr(self, 'bucket', '?')!r} keys={len(getattr(self, 'keys', ()))}>"


class ObjectDataset(_ProjectPerProcess, Generic[T]):
    """Map-style dataset: ``dataset[i]`` is the object ``keys[i]``.

    An item is ``transform(key, array)`` when ``transform`` is given (it must be
    picklable for worker processes), else ``(key, array)``; arrays are the caller's own.
    """

    def __init__(
        self, access: AccessLike, bucket: str, keys: Sequence[str], transform: Transform[T] | None = None
    ) -> None:
        super().__init__(access)
        self.bucket = bucket
        self.keys = list(keys)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> T | tuple[str, Array]:
        np = _numpy()
        key = self.keys[index]
        project = self._get_project()
        with project.download_object(self.bucket, key) as download:
            array: Array = np.empty(download.file_size(), dtype=np.uint8)
            with memoryview(array.data) as view:
                engine.read_exactly(download, view)
        return self.transform(key, array) if self.transform is not None else (key, array)


class ObjectIterableDataset(_ProjectPerProcess, Generic[T]):
    """Iterable dataset over ``keys``, prefetched by an :class:`ObjectLoader`.

    In a DataLoader worker it reads only that worker's slice of the keys;
    ``shard=(rank, world_size)`` slices further for distributed training. Items are
    ``transform(key, array)`` (the array is a pooled view, valid during the call only:
    ``transform`` must copy or decode it) or, without a transform, ``(key, array)`` with
    an array of its own.
    """

    def __init__(
        self,
        access: AccessLike,
        bucket: str,
        keys: Sequence[str],
        transform: Transform[T] | None = None,
        *,
        shard: tuple[int, int] = (0, 1),
        max_concurrency: int = DEFAULT_CONCURRENCY,
        max_bytes_in_flight: int = DEFAULT_BYTES_IN_FLIGHT,
    ) -> None:
        super().__init__(access)
        rank, world = shard
        if not 0 <= rank < world:
            raise ValueError("shard must be (rank, world_size) with 0 <= rank < world_size")
        self.bucket = bucket
        self.keys = list(keys)
        self.transform = transform
        self.shard = shard
        self.max_concurrency = max_concurrency
        self.max_bytes_in_flight = max_bytes_in_flight

    def shard_keys(self) -> list[str]:
        """The keys this process reads: its slice by rank, then by DataLoader worker."""
        worker, workers = _worker_shard()
        rank, world = self.shard
        return self.keys[rank * workers + worker :: world * workers]

    def __iter__(self) -> Iterator[T | tuple[str, Array]]:
        loader = ObjectLoader(
            self._get_project(), self.bucket, self.shard_keys(), max_concurrency=self.max_concurrency,
            max_bytes_in_flight=self.max_bytes_in_flight, copy=self.transform is None,
        )
        for key, array in loader:
            yield self.transform(key, array) if self.transform is not None else (key, array)


_TORCH_BASES = {"TorchObjectDataset": (ObjectDataset, "Dataset"), "TorchObjectIterableDataset": (ObjectIterableDataset, "IterableDataset")}


def __getattr__(name: str) -> Any:
    """``TorchObjectDataset``/``TorchObjectIterableDataset``, built on first use (imports torch)."""
    if name not in _TORCH_BASES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    try:
        data = import_module("torch.utils.data")
    except ImportError as exc:
        raise ImportError(f"{name} needs PyTorch (pip install torch); ObjectDataset and "
                          "ObjectIterableDataset work without it") from exc
    ours, theirs = _TORCH_BASES[name]
    cls = type(name, (ours, getattr(data, theirs)), {"__module__": __name__, "__qualname__": name})
    globals()[name] = cls  # pickles by name; unpickling in a worker builds it there
    return cls
