"""A seekable binary file object over one object version, reading ahead in parallel.

:class:`ObjectReader` (``Project.open_reader``) pins the object's version when it opens
(every byte it returns is of that version, or :class:`~uplink_py.errors.ObjectChangedError`
is raised) and serves ``readinto`` from ranges of ``block_size`` bytes downloaded by
worker threads. Read ahead follows the reader: a sequential reader keeps up to
``max_concurrency`` ranges in flight ahead of its position (one at first, twice as many
after each range it read through), never more than ``max_bytes_ahead`` bytes, so reading
only a file's first bytes costs one range; a read after a seek elsewhere fetches only what it needs
(at least :data:`MIN_RANDOM_READ`), so random access (a zip's directory, a Parquet
footer) does not pull blocks it will not use. Ranges left behind by a seek are cancelled.
"""

from __future__ import annotations

import io
import operator
import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .downloads import Pinned, pin, read_range
from .settings import MiB, positive_int
from .sources import byte_view
from .tasks import CancelScope, executor

if TYPE_CHECKING:
    from .._core import Project
    from ..module_classes import Object

DEFAULT_BLOCK_SIZE = 16 * MiB  # one range download: large enough that its set-up is small beside it
MIN_RANDOM_READ = 256 * 1024  # the least a read after a seek fetches


@dataclass
class _Range:
    start: int
    length: int
    future: Future[bytes]
    scope: CancelScope

    @property
    def end(self) -> int:
        return self.start + self.length


class ObjectReader(io.RawIOBase):
    """Reads one version of ``bucket/key``; see the module docs. Wrap it in
    ``io.BufferedReader`` for small reads and ``readline``; ``info`` and ``size`` describe
    the version read."""

    def __init__(
        self,
        project: Project,
        bucket: str,
        key: str,
        *,
        max_concurrency: int = 4,
        block_size: int = DEFAULT_BLOCK_SIZE,
        max_bytes_ahead: int | None = None,
        pinned: Pinned | None = None,
    ) -> None:
        super().__init__()
        positive_int(max_concurrency, "max_concurrency")
        positive_int(block_size, "block_size")
        self._budget = positive_int(max_bytes_ahead, "max_bytes_ahead") if max_bytes_ahead is not None \
            else max_concurrency * block_size
        if self._budget < block_size:
            raise ValueError(f"max_bytes_ahead ({self._budget}) must hold one block ({block_size} bytes)")
        self._project = project
        self._pinned = pinned or pin(project, bucket, key)
        self._concurrency = max_concurrency
        self._block = block_size
        self._position = 0
        self._last_end = 0  # where the previous read ended: a read from there is sequential
        self._window: deque[_Range] = deque()  # consecutive ranges from the first one's start
        self._ahead = 1  # ranges the window may hold now: doubles while reads stay sequential
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()  # one reader call at a time (a file object, not a queue)

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"at {self._position} of {self.size}"
        return f"<ObjectReader {self._pinned.bucket}/{self._pinned.key}: {state}>"

    @property
    def info(self) -> Object:
        return self._pinned.info

    @property
    def size(self) -> int:
        return self._pinned.size

    @property
    def block_size(self) -> int:
        return self._block

    # io.RawIOBase

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._check_open()
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._check_open()
        offset, whence = operator.index(offset), operator.index(whence)  # TypeError for floats
        if whence == os.SEEK_SET:
            target = offset
        elif whence == os.SEEK_CUR:
            target = self._position + offset
        elif whence == os.SEEK_END:
            target = self.size + offset
        else:
            raise ValueError(f"invalid whence ({whence}: use 0, 1 or 2)")
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        self._position = target
        return target

    def readinto(self, buffer: Any) -> int:  # any writable buffer
        self._check_open()
        view = byte_view(buffer)
        if view.readonly:
            raise BufferError("readinto needs a writable buffer")
        with self._lock:
            want = min(view.nbytes, max(0, self.size - self._position))
            if want == 0:
                return 0
            sequential = self._position == self._last_end
            begin, done = self._position, 0
            try:
                while done < want:
                    block = self._range_at(self._position, want - done, sequential)
                    data = self._result(block)
                    offset = self._position - block.start
                    count = min(want - done, block.length - offset)
                    view[done : done + count] = memoryview(data)[offset : offset + count]
                    done += count
                    self._position += count
                    if self._position >= block.end:
                        self._window.popleft()
                        if sequential:  # after a seek, nothing ahead until reads go on from there
                            self._ahead = min(self._concurrency, 2 * self._ahead)
                            self._top_up(block.end)
                        sequential = True  # the rest of this read continues it
            except BaseException:
                self._position = begin  # the caller got none of it: a retry reads it again
                raise
            self._last_end = self._position
            return done

    def readall(self) -> bytes:
        out = bytearray(max(0, self.size - self._position))
        count = self.readinto(out)
        del out[count:]
        return bytes(out)

    def close(self) -> None:
        self._close(wait=True)

    def _close(self, wait: bool) -> None:
        if self.closed:
            return
        self._drop_window()
        if self._pool is not None:
            self._pool.shutdown(wait=wait)  # cancelled ranges end at once
            self._pool = None
        super().close()

    def __del__(self) -> None:
        try:  # maybe on a range's thread, which cannot wait for itself
            self._close(wait=False)
        except Exception:
            pass

    # the window

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on a closed ObjectReader")

    def _range_at(self, position: int, want: int, sequential: bool) -> _Range:
        """The range holding ``position``: from the window, or a new window from there."""
        while self._window and self._window[0].end <= position:  # read past (a forward seek)
            self._cancel(self._window.popleft())
        if self._window and self._window[0].start <= position:
            return self._window[0]
        self._drop_window()
        self._ahead = 1
        if sequential:
            self._schedule(position, self._block)
        else:  # random access: only what is asked for (a block at most), and no read ahead yet
            self._schedule(position, min(self._block, max(want, MIN_RANDOM_READ)))
        return self._window[0]

    def _top_up(self, start: int) -> None:
        """Read ahead: ranges from the window's end (``start`` when it is empty), within the
        count and the byte budget."""
        while len(self._window) < self._ahead:
            if self._window:
                start = self._window[-1].end
            length = min(self._block, self.size - start)
            if length <= 0 or sum(r.length for r in self._window) + length > self._budget:
                return
            self._schedule(start, length)

    def _schedule(self, start: int, length: int) -> None:
        length = min(length, self.size - start)
        if self._pool is None:
            self._pool = executor(self._concurrency, "reader")
        scope = CancelScope()
        future = self._pool.submit(read_range, self._project, self._pinned, start, start + length, scope)
        self._window.append(_Range(start, length, future, scope))

    def _result(self, block: _Range) -> bytes:
        try:
            return block.future.result()
        except BaseException:
            if block.future.done():  # the range failed: a later read tries it again
                self._drop_window()
            raise

    def _cancel(self, block: _Range) -> None:
        block.scope.cancel()
        block.future.cancel()

    def _drop_window(self) -> None:
        while self._window:
            self._cancel(self._window.popleft())
