"""Whether a file is closed by code that an exception is leaving.

A written file commits when it is closed and aborts when it is closed because an
exception propagates: a ``with`` block of a wrapper (``fsspec.open``'s ``OpenFile``,
``io.TextIOWrapper``, ``tarfile``) left by an exception closes the file without telling
it why, so the file asks :func:`sys.exc_info`. That alone cannot tell two cases apart
when the file was opened inside an ``except`` block: the exception being handled then is
still "current" when the file closes, whether the ``with`` block ended normally (commit:
an error report written while handling the error) or re-raised it (abort: the file is
partial). The frame that leaves the ``with`` block tells: it is executing
``WITH_EXCEPT_START`` (the call of ``__exit__`` with an exception) only in the second case.

Which frames to look at: the stack at close, compared from its bottom with the stack at
open. The frames both share (same object at the same depth, by address and code: a freed
frame's address can come back for another, never with the same code and ancestors) were
there when the file opened; those above them are blocks entered since. A block entered
since, or the deepest shared frame having moved on, that is leaving a ``with`` block by
an exception means the file is being closed by that exception.
"""

from __future__ import annotations

import dis
import sys
import warnings
from types import CodeType, FrameType

from ..errors import AbortedWriteWarning

WITH_EXCEPT_START = dis.opmap.get("WITH_EXCEPT_START")  # CPython >= 3.9 (a test checks)


def _bottom_up(frame: FrameType | None) -> list[FrameType]:
    frames = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    frames.reverse()
    return frames


def _leaving_with_by_exception(frame: FrameType) -> bool:
    code = frame.f_code.co_code
    return WITH_EXCEPT_START is not None and 0 <= frame.f_lasti < len(code) \
        and code[frame.f_lasti] == WITH_EXCEPT_START


class Unwinding:
    """Made when a file opens; :meth:`failing` when it closes."""

    def __init__(self) -> None:
        self._handled = sys.exc_info()[1]  # an exception handled at open is no reason to abort
        # The stack at open, from its bottom: only needed when an exception is being handled.
        self._opened: list[tuple[int, CodeType, int]] = [] if self._handled is None else [
            (id(f), f.f_code, f.f_lasti) for f in _bottom_up(sys._getframe(1))]

    def failing(self, what: object = "a file") -> bool:
        """Whether an exception propagates through the code closing the file now. When the
        only sign is an exception being handled (no block seen leaving by it: an ``except``
        or ``finally`` block closes the file), says so with :class:`AbortedWriteWarning`:
        an ``except`` block may have swallowed the exception, and the caller the abort."""
        current = sys.exc_info()[1]
        if current is None:
            return False
        if current is not self._handled:
            if not any(_leaving_with_by_exception(f) for f in _bottom_up(sys._getframe(1))):
                warnings.warn(f"{what} was closed while {type(current).__name__} was being handled: aborted, "
                              f"nothing was stored", AbortedWriteWarning, stacklevel=3)
            return True
        # The exception handled at open: failing only if a block entered since is being left by it.
        now = _bottom_up(sys._getframe(1))
        shared = 0
        for frame, (address, code, _) in zip(now, self._opened):
            if id(frame) != address or frame.f_code is not code:
                break
            shared += 1
        if any(_leaving_with_by_exception(f) for f in now[shared:]):
            return True
        if shared:  # the deepest frame there at open: in a with exit only if it moved on to one
            deepest = now[shared - 1]
            return deepest.f_lasti != self._opened[shared - 1][2] and _leaving_with_by_exception(deepest)
        return False
