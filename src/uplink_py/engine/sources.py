"""What an upload reads from: a buffer, a regular file, or any stream.

Nothing is memory-mapped: a mapping of a file that another process truncates faults
(SIGBUS) inside the Go runtime and kills the interpreter. Regular files are read with
positional reads into reused buffers (so parts can read their own ranges in parallel)
and checked afterwards: a file that shrank, grew or was rewritten while it was read
raises :class:`~uplink_py.errors.SourceChangedError` before anything is committed.
Pipes, FIFOs, character devices, sockets, ``/proc`` files and file objects are streamed
until their end.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO, Union

from .. import errors
from .settings import CHUNK

if TYPE_CHECKING:
    from typing_extensions import Buffer

PathLike = Union[str, "os.PathLike[str]"]
SourceLike = Union["Buffer", PathLike, BinaryIO]
"""A bytes-like buffer, a local path, or a binary file object (read from its position)."""


def byte_view(data: Any) -> memoryview:
    """A flat byte view of any C-contiguous buffer, without copying (BufferError otherwise)."""
    view = memoryview(data)
    if not view.c_contiguous:
        raise BufferError("the buffer must be C-contiguous")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


class Source:
    """Bytes to upload. ``size`` is exact when known before reading (None: read to the end)."""

    size: int | None = None

    def stream(self) -> Iterator[memoryview]:
        """Every byte in order, in chunks valid until the next one is asked for."""
        raise NotImplementedError

    def chunks(self, offset: int, length: int) -> Iterator[memoryview]:
        """``length`` bytes from ``offset`` (sources of known size only; thread-safe)."""
        raise NotImplementedError

    def verify(self) -> None:
        """Raise SourceChangedError if the source changed since it was opened."""


class BufferSource(Source):
    """A caller's buffer: chunks are views of it (never copied); it must not change meanwhile."""

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self.size = view.nbytes

    def stream(self) -> Iterator[memoryview]:
        return self.chunks(0, self._view.nbytes)

    def chunks(self, offset: int, length: int) -> Iterator[memoryview]:
        for start in range(offset, offset + length, CHUNK):
            yield self._view[start : min(start + CHUNK, offset + length)]


def _signature(st: os.stat_result) -> tuple[int, ...]:
    """What changes when a file is truncated, extended, rewritten or replaced."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class FileSource(Source):
    """A regular file of known size, read by positional reads (parts in parallel)."""

    def __init__(self, file: Any, st: os.stat_result, name: str) -> None:
        self._file = file
        self._fd: int = file.fileno()
        self._signature = _signature(st)
        self._name = name
        self._seek_lock = threading.Lock()  # where os.preadv is missing (Windows)
        self.size = st.st_size

    def _read_at(self, view: memoryview, offset: int) -> int:
        if hasattr(os, "preadv"):
            return os.preadv(self._fd, [view], offset)
        with self._seek_lock:
            self._file.seek(offset)
            return int(self._file.readinto(view) or 0)

    def _changed(self, what: str) -> errors.SourceChangedError:
        return errors.SourceChangedError(f"{self._name}: the file {what} while it was uploaded; nothing was stored")

    def chunks(self, offset: int, length: int) -> Iterator[memoryview]:
        buffer = bytearray(min(CHUNK, length))
        with memoryview(buffer) as whole:
            done = 0
            while done < length:
                want = min(len(buffer), length - done)
                got = self._read_at(whole[:want], offset + done)
                if got == 0:
                    raise self._changed("shrank")
                with whole[:got] as chunk:
                    yield chunk
                done += got

    def stream(self) -> Iterator[memoryview]:
        """To the end, whatever ``size`` said: a file on a pseudo filesystem may report a
        size its contents do not have; :meth:`verify` tells that from a real change."""
        assert self.size is not None
        buffer = bytearray(max(1, min(CHUNK, self.size + 1)))
        offset = 0
        with memoryview(buffer) as whole:
            while True:
                got = self._read_at(whole, offset)
                if got == 0:
                    break
                with whole[:got] as chunk:
                    yield chunk
                offset += got

    def verify(self) -> None:
        now = _signature(os.fstat(self._fd))
        if now != self._signature:
            raise self._changed("grew" if now[2] > self._signature[2] else "shrank" if now[2] < self._signature[2]
                                else "was rewritten")


class StreamSource(Source):
    """A pipe, device, socket, ``/proc`` file or file object: read in order until its end."""

    def __init__(self, file: Any) -> None:
        self._readinto: Callable[[memoryview], int | None] | None = getattr(file, "readinto", None)
        self._read: Callable[[int], Any] | None = getattr(file, "read", None)
        if self._readinto is None and self._read is None:
            raise TypeError(f"cannot upload from {type(file).__name__!r}: not a buffer, path or binary file")

    def _fill(self, view: memoryview) -> int:
        """Reads until ``view`` is full or the stream ends (pipes give what they have)."""
        done = 0
        while done < view.nbytes:
            if self._readinto is not None:
                got = self._readinto(view[done:])
            else:
                assert self._read is not None
                data = self._read(view.nbytes - done)
                if data is not None and not isinstance(data, (bytes, bytearray, memoryview)):
                    raise TypeError(f"read() returned {type(data).__name__}, not bytes: open the file in binary mode")
                got = None if data is None else len(data)
                if data:
                    view[done : done + len(data)] = data
            if got is None:
                raise ValueError("the file is non-blocking and had no data ready: use a blocking file")
            if got == 0:
                break
            done += got
        return done

    def stream(self) -> Iterator[memoryview]:
        buffer = bytearray(CHUNK)
        with memoryview(buffer) as whole:
            while True:
                got = self._fill(whole)
                if got:
                    with whole[:got] as chunk:
                        yield chunk
                if got < len(buffer):
                    return


def file_argument(path: SourceLike) -> SourceLike:
    """What an ``upload_file`` was given: a ``bytes`` path names a file, as for :func:`open`
    (the bytes to upload go to ``upload_bytes``); anything else as it is."""
    return os.fsdecode(path) if isinstance(path, bytes) else path


@contextmanager
def open_source(source: SourceLike) -> Iterator[Source]:
    """The Source for a buffer, a local path (opened here) or a binary file object."""
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)  # fspath first: open() takes an int as a file descriptor
        with open(name, "rb", buffering=0) as file:
            st = os.fstat(file.fileno())
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(21, "Is a directory", name)
            # /proc files are regular but report size 0: streamed like pipes.
            yield FileSource(file, st, name) if stat.S_ISREG(st.st_mode) and st.st_size > 0 else StreamSource(file)
        return
    if hasattr(source, "readinto") or hasattr(source, "read"):
        yield StreamSource(source)
        return
    try:
        view = byte_view(source)
    except TypeError:
        raise TypeError(
            f"cannot upload from {type(source).__name__!r}: not a buffer, path or binary file"
        ) from None
    with view:
        yield BufferSource(view)
