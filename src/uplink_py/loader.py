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
the keys, so every key is read exactly once per epoch. Both build from a key list or
from a prefix (``from_prefix``, listed once), can hand the transform a seekable
:class:`~uplink_py.engine.ObjectReader` instead of the whole object (``item="reader"``),
retry transient failures (``retries``); the iterable one shuffles per epoch from a seed
(``shuffle=True``, ``set_epoch``) and can skip a failed object with a warning
(``on_error="skip"``), as can :class:`ObjectLoader`.

**Worker start methods.** Use ``multiprocessing_context="spawn"`` or ``"forkserver"``
in the DataLoader. ``fork`` (Linux's default) only works while the parent process has
not used uplink_py yet: the native module embeds the Go runtime, whose threads do not
survive ``fork()``, so a forked child of a process that had loaded it would hang on its
first call. uplink_py refuses such calls instead (``ForkedProcessError``). Importing this
module and building a dataset from a serialized grant string does not load the native
module, so plain ``fork`` works as long as the parent only does that.
"""

from __future__ import annotations

import random
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from . import engine, errors
from .engine import DEFAULT_MANY_CONCURRENCY as DEFAULT_CONCURRENCY
from .credentials import AccessLike, Credentials, open_project
from .engine import CancelScope, MiB, ObjectReader, Stopped
from .module_classes import ListObjectsOptions

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .project import Project

    Array = npt.NDArray[np.uint8]

T = TypeVar("T")
DEFAULT_BYTES_IN_FLIGHT = 256 * MiB

Transform = Callable[[str, "Array"], T]
ReaderTransform = Callable[[str, ObjectReader], T]
D = TypeVar("D", bound="_Dataset")

__all__ = [
    "LoaderStats",
    "SkippedObjectWarning",
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
    skipped: int = 0  # objects that failed and were skipped (on_error="skip")


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
        retries: download attempts after the first for an object that fails with a
            transient error (not a missing object, not a cancellation).
        on_error: ``"raise"`` (the failed object's error at its turn) or ``"skip"``
            (a :class:`SkippedObjectWarning` at its turn, and the pass goes on).

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
        retries: int = 0,
        on_error: OnError = "raise",
    ) -> None:
        if (keys is None) == (prefix is None):
            raise ValueError("give either keys or prefix")
        engine.positive_int(max_concurrency, "max_concurrency")
        engine.positive_int(max_bytes_in_flight, "max_bytes_in_flight")
        self.retries = engine.non_negative_int(retries, "retries")
        self.on_error = _check_on_error(on_error)
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
                try:
                    key, buffer, size = pending.popleft().result()
                except errors.StorjException as exc:
                    if self.on_error == "raise" or isinstance(exc, errors.CancelledError):
                        raise
                    _warn_skipped(exc)
                    stats.skipped += 1
                    continue
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
            for attempt in _attempts(self.retries):
                with attempt:
                    download = state.scope.call(project.download_object, self.bucket, key)
                    with state.scope.track(download), download:
                        state.started()
                        try:
                            size = download.file_size()
                            if buffer is None:
                                buffer = state.reserve(index, size)
                            elif buffer.nbytes < size:  # its turn has passed: no bigger buffer now
                                raise errors.ObjectChangedError(f"{self.bucket}/{key} grew between attempts")
                            with memoryview(buffer[:size].data) as view:
                                engine.read_exactly(download, view)
                        finally:
                            state.finished()
            assert buffer is not None
            return key, buffer, size
        except BaseException:
            if buffer is not None:
                state.release(buffer)
            else:
                state.skip(index)
            raise


# ---------------------------------------------------------------- failures

OnError = Literal["raise", "skip"]
RETRY_PAUSE = 0.2  # seconds before the first retry, doubling, at most 2 s


class SkippedObjectWarning(UserWarning):
    """An object that failed and was skipped (``on_error="skip"``)."""


def _check_on_error(value: object) -> OnError:
    if value not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', not {value!r}")
    return value


def _warn_skipped(exc: BaseException) -> None:
    warnings.warn(f"skipped: {exc}", SkippedObjectWarning, stacklevel=3)


def _transient(exc: BaseException) -> bool:
    """Worth another attempt: a network or satellite failure, a deadline, rate limiting;
    not a missing object, a permission, a changed object or a cancellation."""
    return isinstance(exc, (errors.InternalError, errors.TooManyRequestsError))


class _Attempt:
    def __init__(self, last: bool) -> None:
        self.last = last
        self.failed = False

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        if exc is None or self.last or not _transient(exc):
            return False
        self.failed = True
        return True  # swallowed: the next attempt runs


def _attempts(retries: int) -> Iterator[_Attempt]:
    """``with attempt:`` blocks, up to ``retries`` more after the first, until one succeeds
    (a transient error of the last one, and any other error, propagates)."""
    for n in range(retries + 1):
        attempt = _Attempt(last=n == retries)
        yield attempt
        if not attempt.failed:
            return
        time.sleep(min(2.0, RETRY_PAUSE * 2**n))


def _open_item(project: Project, bucket: str, key: str, retries: int) -> Array:
    """One object, whole, into an array of its own (with retries)."""
    np = _numpy()
    for attempt in _attempts(retries):
        with attempt:
            with project.download_object(bucket, key) as download:
                array: Array = np.empty(download.file_size(), dtype=np.uint8)
                with memoryview(array.data) as view:
                    engine.read_exactly(download, view)
            return array
    raise AssertionError("unreachable: the last attempt returns or raises")


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


ItemMode = Literal["array", "reader"]


def _check_item(value: object) -> ItemMode:
    if value not in ("array", "reader"):
        raise ValueError(f"item must be 'array' or 'reader', not {value!r}")
    return value


def _list_keys(access: AccessLike, bucket: str, prefix: str) -> list[str]:
    """Every object key under ``prefix`` (recursive), sorted (Storj lists in the order of
    the encrypted keys, which means nothing to a reader)."""
    project = engine.shared_project(Credentials.of(access))
    options = ListObjectsOptions(prefix=prefix, recursive=True)
    return sorted(o.key for o in project.iter_objects(bucket, options) if not o.is_prefix)


def _reader(project: Project, bucket: str, key: str, retries: int) -> ObjectReader:
    for attempt in _attempts(retries):
        with attempt:
            return ObjectReader(project, bucket, key)
    raise AssertionError("unreachable: the last attempt returns or raises")


class _Dataset(_ProjectPerProcess):
    """What both datasets share: keys, a transform, the item mode, retries."""

    def __init__(self, access: AccessLike, bucket: str, keys: Sequence[str], transform: Any, item: ItemMode,
                 retries: int) -> None:
        super().__init__(access)
        self.bucket = bucket
        self.keys = list(keys)
        self.transform = transform
        self.item = _check_item(item)
        self.retries = engine.non_negative_int(retries, "retries")

    @classmethod
    def from_prefix(cls: type[D], access: AccessLike, bucket: str, prefix: str = "", *args: Any, **kwargs: Any) -> D:
        """The dataset of every object under ``prefix``, listed now, sorted by key.

        Listing opens a project in this process, which loads the native module: give the
        DataLoader ``multiprocessing_context="spawn"`` or ``"forkserver"`` (see the module docs).
        """
        return cls(access, bucket, _list_keys(access, bucket, prefix), *args, **kwargs)

    def _item(self, project: Project, key: str) -> Any:
        if self.item == "reader":
            reader = _reader(project, self.bucket, key, self.retries)
            if self.transform is None:
                return key, reader  # the caller's to close
            with reader:
                return self.transform(key, reader)
        array = _open_item(project, self.bucket, key, self.retries)
        return self.transform(key, array) if self.transform is not None else (key, array)


class ObjectDataset(_Dataset, Generic[T]):
    """Map-style dataset: ``dataset[i]`` is the object ``keys[i]`` (or
    :meth:`from_prefix`: every object under a prefix).

    An item is ``transform(key, data)`` when ``transform`` is given (it must be picklable
    for worker processes), else ``(key, data)``. ``data`` is the object's bytes in an array
    of its own, or with ``item="reader"`` an open :class:`~uplink_py.engine.ObjectReader`
    (seekable, one version, read ahead in parallel) from which the transform reads what
    it needs: a frame of a video, a member of an archive; it is closed once the transform
    returns (without a transform the caller closes it). ``retries`` more attempts are
    made for a transient failure (network, deadline, rate limit) of the download (with
    ``item="reader"``: of opening the reader; what the transform reads later raises).
    """

    def __init__(
        self,
        access: AccessLike,
        bucket: str,
        keys: Sequence[str],
        transform: Transform[T] | ReaderTransform[T] | None = None,
        *,
        item: ItemMode = "array",
        retries: int = 0,
    ) -> None:
        super().__init__(access, bucket, keys, transform, item, retries)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> Any:
        return self._item(self._get_project(), self.keys[index])


class ObjectIterableDataset(_Dataset, Generic[T]):
    """Iterable dataset over ``keys`` (or :meth:`from_prefix`), prefetched by an
    :class:`ObjectLoader`.

    In a DataLoader worker it reads only that worker's slice of the keys;
    ``shard=(rank, world_size)`` slices further for distributed training. With
    ``shuffle=True`` each epoch reads the keys in an order drawn from ``seed`` and the
    epoch (:meth:`set_epoch`, called before each epoch): every worker and rank draws the
    same order, so the slices still cover every key once. The DataLoader's workers get the
    epoch with their copy of the dataset, so ``persistent_workers=True`` (which keeps the
    copies) would repeat one order: leave it off, or shuffle another way. Items are
    ``transform(key, array)`` (the array is a pooled view, valid during the call only:
    ``transform`` must copy or decode it) or, without a transform, ``(key, array)`` with
    an array of its own; ``item="reader"`` hands the transform an open
    :class:`~uplink_py.engine.ObjectReader` instead (no whole-object prefetch). A failed
    object raises at its turn, or with ``on_error="skip"`` is left out with a
    :class:`SkippedObjectWarning`; ``retries`` as for :class:`ObjectDataset`.
    """

    def __init__(
        self,
        access: AccessLike,
        bucket: str,
        keys: Sequence[str],
        transform: Transform[T] | ReaderTransform[T] | None = None,
        *,
        shard: tuple[int, int] = (0, 1),
        max_concurrency: int = DEFAULT_CONCURRENCY,
        max_bytes_in_flight: int = DEFAULT_BYTES_IN_FLIGHT,
        shuffle: bool = False,
        seed: int = 0,
        item: ItemMode = "array",
        retries: int = 0,
        on_error: OnError = "raise",
    ) -> None:
        super().__init__(access, bucket, keys, transform, item, retries)
        rank, world = shard
        if not 0 <= rank < world:
            raise ValueError("shard must be (rank, world_size) with 0 <= rank < world_size")
        self.shard = shard
        self.max_concurrency = max_concurrency
        self.max_bytes_in_flight = max_bytes_in_flight
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self.on_error = _check_on_error(on_error)

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order ``shuffle`` draws (call it before each epoch's iteration)."""
        self.epoch = engine.non_negative_int(epoch, "epoch")

    def epoch_keys(self) -> list[str]:
        """Every key, in this epoch's order."""
        keys = list(self.keys)
        if self.shuffle:
            random.Random(self.seed * 1_000_003 + self.epoch).shuffle(keys)
        return keys

    def shard_keys(self) -> list[str]:
        """The keys this process reads: its slice by rank, then by DataLoader worker."""
        worker, workers = _worker_shard()
        rank, world = self.shard
        return self.epoch_keys()[rank * workers + worker :: world * workers]

    def __iter__(self) -> Iterator[Any]:
        project = self._get_project()
        if self.item == "reader":
            for key in self.shard_keys():
                try:
                    item = self._item(project, key)
                except errors.StorjException as exc:
                    if self.on_error == "raise" or isinstance(exc, errors.CancelledError):
                        raise
                    _warn_skipped(exc)
                    continue
                yield item
            return
        loader = ObjectLoader(
            project, self.bucket, self.shard_keys(), max_concurrency=self.max_concurrency,
            max_bytes_in_flight=self.max_bytes_in_flight, copy=self.transform is None,
            retries=self.retries, on_error=self.on_error,
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
