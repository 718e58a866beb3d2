"""Local files that appear whole or not at all; devices and FIFOs get bytes in order.

A download writes a temporary file beside the target with positional writes (ranges in
parallel, no memory map: a full disk is an ``OSError``, never a signal), then fsyncs it,
renames it over the target and fsyncs the directory, so after a crash the target is the
old file or the new one, whole. The temporary file is created like ``open(path, "w")``
creates files (mode 0o666 less the umask). On any error it is removed. A symbolic link
stays a link: the file it names is replaced. A device or FIFO (``/dev/null``, a named
pipe) cannot be replaced atomically and must not be replaced at all: it is written in
order, as one stream (:class:`InOrder`); so is an open descriptor named by a path
(``/dev/stdout``, ``/dev/fd/N``, ``/proc/self/fd/N``), wherever it points: after a shell's
``>> log`` the bytes are appended to ``log``, which is not replaced. A socket is an
``OSError`` (it cannot be opened).
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import threading

_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class AtomicFile:
    """A temporary file that :meth:`commit` renames to ``path``; :meth:`discard` removes it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        given = os.fspath(path)
        # Through symbolic links: a link stays and the file it names gets the bytes.
        self.path = os.path.realpath(given)
        directory, name = os.path.split(self.path)
        # A name ending in a separator names a directory, as for open(); abspath drops it.
        # An existing directory fails here, before the download, not at the rename.
        if not name or given.endswith((os.sep, os.altsep or os.sep)) or os.path.isdir(self.path):
            raise IsADirectoryError(21, "Is a directory", given)
        self.temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.uplink-py.part")
        self._fd = os.open(self.temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY | _CLOEXEC, 0o666)
        self._lock = threading.Lock()  # where os.pwrite is missing (Windows)

    def write_at(self, offset: int, data: memoryview) -> None:
        """All of ``data`` at ``offset`` (thread-safe)."""
        done = 0
        while done < data.nbytes:
            with data[done:] as rest:
                if hasattr(os, "pwrite"):
                    written = os.pwrite(self._fd, rest, offset + done)
                else:
                    with self._lock:
                        os.lseek(self._fd, offset + done, os.SEEK_SET)
                        written = os.write(self._fd, rest)
            if written <= 0:  # pragma: no cover - write() raises instead
                raise OSError(f"{self.temporary}: write made no progress")
            done += written

    def commit(self, size: int, *, replace: bool = True) -> None:
        """Make the file durable and visible at ``path``; it must hold ``size`` bytes.
        With ``replace=False`` an existing ``path`` stays and FileExistsError is raised
        (atomically with a hard link, which refuses an existing name; where the filesystem
        has none, a check and then a rename, which a concurrent writer can beat)."""
        written = os.fstat(self._fd).st_size
        if written != size:  # never zero-fill what a download did not write
            raise OSError(f"{self.temporary}: {written} bytes written, expected {size}")
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = -1
        if replace:
            os.replace(self.temporary, self.path)
        else:
            _link_new(self.temporary, self.path)
        _fsync_directory(os.path.dirname(self.path))

    def discard(self) -> None:
        """Remove the temporary file (never raises: another error is on its way)."""
        if self._fd >= 0:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = -1
        try:
            os.unlink(self.temporary)
        except OSError:
            pass


_STANDARD = {"/dev/stdout": 1, "/dev/stderr": 2}
_DESCRIPTOR = re.compile(r"/(?:dev|proc/(self|thread-self|[0-9]+))/fd/([0-9]+)")


def _descriptor(path: str | os.PathLike[str]) -> tuple[int, bool] | None:
    """The open descriptor a path names (``/dev/stdout``, ``/dev/fd/N``, ``/proc/PID/fd/N``),
    and whether it is this process's, if it names one."""
    name = os.fspath(path)
    if not isinstance(name, str) or os.name != "posix":
        return None
    name = os.path.normpath(name)  # /dev//fd/3, /dev/./stdout
    if name in _STANDARD:
        return _STANDARD[name], True
    match = _DESCRIPTOR.fullmatch(name)
    if match is None:
        return None
    owner = match.group(1)
    return int(match.group(2)), owner in (None, "self", "thread-self") or owner == str(os.getpid())


def is_special(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` gets bytes in order and is never replaced: an open descriptor it
    names, a device, FIFO or socket (see the module docs)."""
    if _descriptor(path) is not None:
        return True
    try:
        mode = os.stat(path).st_mode  # through links
    except (FileNotFoundError, NotADirectoryError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


class InOrder:
    """A target of :func:`is_special` opened for in-order writes (one range); :meth:`close` it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        named = _descriptor(path)
        # Our descriptor: a duplicate (writes go where it points, appended after >>). Else
        # no O_CREAT (it exists) and no O_TRUNC (a device); a FIFO waits for its reader here.
        if named is not None and named[1]:
            self._fd = os.dup(named[0])
        else:
            self._fd = os.open(path, os.O_WRONLY | _BINARY | _CLOEXEC)
        self._position = 0

    def close(self) -> None:
        os.close(self._fd)

    def write_at(self, offset: int, data: memoryview) -> None:
        if offset != self._position:  # pragma: no cover - one range, read in order
            raise AssertionError(f"write at {offset}, expected {self._position}")
        done = 0
        while done < data.nbytes:
            with data[done:] as rest:
                done += os.write(self._fd, rest)
        self._position += done


def _link_new(temporary: str, path: str) -> None:
    """``temporary`` renamed to ``path`` only if ``path`` does not exist."""
    try:
        os.link(temporary, path)  # FileExistsError if path exists: nothing replaced
    except FileExistsError:
        raise
    except OSError:  # no hard links here (some network and FAT filesystems): check, then rename
        if os.path.lexists(path):
            raise FileExistsError(17, "File exists", path) from None
        os.rename(temporary, path)
        return
    os.unlink(temporary)


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable (POSIX; Windows has no directory handles)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
