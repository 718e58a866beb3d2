"""A binary file object that writes one object, uploading parts while it is written.

:class:`ObjectWriter` (``Project.open_writer``) fills part buffers from ``write()`` and
uploads each full one as a part of a multipart upload, ``max_concurrency`` at a time, while
the caller goes on writing into the next. Memory stays bounded: at most
``max_concurrency + 1`` part buffers exist (the ones uploading and the one filling); a
writer that gets ahead of the network waits in ``write()`` for a buffer to come back.

The commit rule of the engine holds: ``close()`` (or leaving a ``with`` block normally)
commits, and the object becomes visible whole; an exception leaving the ``with`` block,
``close()`` called while an exception is being handled (in an ``except`` or ``finally``
block, or a wrapper's ``__exit__`` such as ``tarfile``'s or webdataset's ``TarWriter``), :meth:`ObjectWriter.abort`,
a failed part, or dropping the writer unclosed aborts, and the object that was under the
key stays. ``abort()`` may come from another thread; the other methods belong to one. An object smaller than one part never starts a
multipart upload: it goes up as one upload at ``close()``. With ``max_concurrency=1``
the bytes stream into one upload as they are written (no part buffers). A create-if-absent
writer (``if_none_match``) and one with custom metadata large enough to be refused (the
satellite checks it only at the commit) always use parts, whose upload they can abort.
"""

from __future__ import annotations

import io
import threading
import warnings
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from ..module_classes import CommitUploadOptions, Object, UploadOptions
from .conditions import NO_CONDITIONS, WriteConditions
from .settings import CHUNK, MIN_PART_SIZE, Tuning
from .sources import byte_view
from .tasks import CancelScope, executor
from .unwinding import Unwinding
from .uploads import Metadata, needs_abortable_commit, parts_for, upload

if TYPE_CHECKING:
    from .._core import Project, Upload



class ObjectWriter(io.BufferedIOBase):
    """Writes ``bucket/key``; see the module docs. ``info`` is the committed object."""

    def __init__(
        self,
        project: Project,
        bucket: str,
        key: str,
        *,
        options: UploadOptions | None = None,
        metadata: Metadata = None,
        tuning: Tuning = Tuning(),
        conditions: WriteConditions = NO_CONDITIONS,
    ) -> None:
        super().__init__()
        tuning = parts_for(metadata, conditions, tuning)  # always parts for some (see the module docs)
        if tuning.max_concurrency > 1 and tuning.part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} (5 MiB) for parallel parts, "
                             f"not {tuning.part_size}")
        self._project = project
        self.bucket = bucket
        self.key = key
        self._options = options
        self._conditions = conditions
        self._metadata = metadata
        self._tuning = tuning
        self._scope = CancelScope()  # a child of the scope active here, if any
        # one stream as written, except where the commit may be refused (see uploads.upload)
        self._through = tuning.max_concurrency == 1 and not needs_abortable_commit(metadata, conditions)
        self._cond = threading.Condition()
        self._free: list[bytearray] = []  # part buffers back from their upload
        self._made = 0  # part buffers that exist: at most max_concurrency + 1
        self._error: BaseException | None = None  # the first failed part's
        self._current: bytearray | None = None  # the part being filled
        self._fill = 0
        self._position = 0
        self._stream: Upload | None = None  # max_concurrency == 1: written through
        self._upload_id: str | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[None]] = []
        self._parts = 0
        self.info: Object | None = None
        self._ending = threading.Lock()  # one close or abort at a time (abort may come from a watchdog)
        self._unwinding = Unwinding()
        self._ready = True  # __del__ of a writer whose __init__ raised has nothing to abort

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self._position} bytes written"
        return f"<ObjectWriter {self.bucket}/{self.key}: {state}>"

    # io.BufferedIOBase

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        self._check_open()
        return self._position

    def flush(self) -> None:
        """Nothing to do: parts go up as they fill, the rest at ``close()``."""
        self._check_open()

    def write(self, data: Any) -> int:  # any buffer
        self._check_open()
        view = byte_view(data)
        try:
            if self._through:
                self._write_through(view)
            else:
                self._write_parts(view)
        except BaseException:
            self.abort()
            raise
        self._position += view.nbytes
        return view.nbytes

    def close(self) -> None:
        """Commits the object (waits for its parts); on any error aborts it and raises.
        Called while an exception propagates, it aborts instead (see the module docs)."""
        if self._unwinding.failing(self):
            self.abort()
            return
        self.commit()

    def commit(self) -> None:
        """Commits the object now, whatever exception is being handled (``close()`` minus
        its check of one): for a caller that decided already, as an fsspec file does."""
        with self._ending:
            if self.closed:
                return
            try:
                self.info = self._finish()
            except BaseException:
                self._abort_locked(wait=True)
                raise
            self._release()
            super().close()

    def abort(self) -> None:
        """Stores nothing: the upload and its parts are aborted. Idempotent."""
        self._abort(wait=True)

    def _abort(self, wait: bool) -> None:
        self._scope.cancel()  # first: a close() in progress stops waiting for its parts
        with self._ending:
            self._abort_locked(wait)

    def _abort_locked(self, wait: bool) -> None:
        # The parts end before the upload is aborted (wait): a part that commits after
        # abort_upload would leave its segments behind.
        if self.closed:
            return
        self._scope.cancel()
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
            except Exception:  # the error that brought us here says more
                pass
        self._release(wait)
        if self._upload_id is not None:
            try:
                self._project.abort_upload(self.bucket, self.key, self._upload_id)
            except Exception:
                pass
        super().close()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def __del__(self) -> None:
        # io's own __del__ would close(): commit what a dropped writer holds. Abort instead.
        # (A writer with parts uploading is referenced by their threads until they end.)
        if getattr(self, "_ready", False) and not self.closed:
            warnings.warn(f"unclosed {self!r}: aborted, nothing was stored", ResourceWarning, stacklevel=2)
            try:  # maybe on a part's thread, which cannot wait for itself
                self._abort(wait=False)
            except Exception:
                pass

    # the work

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on a closed ObjectWriter")

    def _write_through(self, view: memoryview) -> None:
        if self._stream is None:
            self._stream = self._scope.call(self._project.upload_object, self.bucket, self.key, self._options,
                                           **self._conditions.begin())
        with self._scope.track(self._stream):
            for start in range(0, view.nbytes, CHUNK):
                with view[start : start + CHUNK] as chunk:
                    self._stream.write(chunk)

    def _write_parts(self, view: memoryview) -> None:
        done, part_size = 0, self._tuning.part_size
        while done < view.nbytes:
            if self._current is None:
                self._current, self._fill = self._take(), 0
            count = min(part_size - self._fill, view.nbytes - done)
            # grows a fresh buffer as it fills (a small object never holds a whole part)
            with view[done : done + count] as piece:
                self._current[self._fill : self._fill + count] = piece
            self._fill += count
            done += count
            if self._fill == part_size:
                self._submit()

    def _take(self) -> bytearray:
        """A part buffer: a free one, a new one while fewer than max_concurrency + 1
        exist, else the next to come back (the network is behind)."""
        with self._cond:
            while True:
                self._raise_failure()
                if self._free:
                    return self._free.pop()
                if self._made <= self._tuning.max_concurrency:
                    self._made += 1
                    return bytearray()
                self._cond.wait()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    def _submit(self) -> None:
        """Uploads the filled part buffer (the first one begins the multipart upload)."""
        assert self._current is not None
        buffer, count = self._current, self._fill
        self._current, self._fill = None, 0
        if self._upload_id is None:
            begun = self._scope.call(self._project.begin_upload, self.bucket, self.key, self._options,
                                     abort_on_close=True, **self._conditions.begin())
            self._upload_id = begun.upload_id
            self._pool = executor(self._tuning.max_concurrency, "writer")
        assert self._pool is not None
        self._parts += 1
        self._futures = [f for f in self._futures if not f.done()]
        self._futures.append(self._pool.submit(self._put, self._parts, buffer, count))

    def _put(self, number: int, buffer: bytearray, count: int) -> None:
        try:
            self._scope.check()
            assert self._upload_id is not None
            part = self._scope.call(self._project.upload_part, self.bucket, self.key, self._upload_id, number)
            with self._scope.track(part), part, memoryview(buffer) as whole:  # the part commits at the end
                for start in range(0, count, CHUNK):
                    with whole[start : min(start + CHUNK, count)] as chunk:
                        part.write(chunk)
        except BaseException as exc:
            with self._cond:
                if self._error is None:
                    self._error = exc
            self._scope.cancel()  # the other parts stop: the object will not commit
        finally:
            with self._cond:
                self._free.append(buffer)
                self._cond.notify_all()

    def _finish(self) -> Object:
        if self._stream is not None:
            stream = self._stream
            with self._scope.track(stream):
                if self._metadata is not None:
                    stream.set_custom_metadata(self._metadata)
                stream.commit()
            self._stream = None
            return stream.info()
        if self._upload_id is None:  # less than one part in all: one upload
            data = memoryview(self._current or b"")[: self._fill]
            return upload(self._project, self.bucket, self.key, data, options=self._options,
                          metadata=self._metadata, tuning=Tuning(max_concurrency=1), scope=self._scope,
                          conditions=self._conditions)
        if self._current is not None:
            self._submit()  # the last, short part
        wait(self._futures)
        self._raise_failure()
        return self._scope.call(self._project.commit_upload, self.bucket, self.key, self._upload_id,
                                CommitUploadOptions(self._metadata), **self._conditions.commit())

    def _release(self, wait: bool = True) -> None:
        """Waits for the part uploads to end (cancelled ones end at once) and drops the buffers."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait)
            self._pool = None
        self._futures.clear()
        self._free.clear()
        self._current = None
