"""Whether a file is closed by code that an exception is leaving.

A written file commits when it is closed and aborts when it is closed because an
exception propagates: a ``with`` block of a wrapper (``fsspec.open``'s ``OpenFile``,
``io.TextIOWrapper``, ``tarfile``) left by an exception closes the file without telling
it why, so the file asks :func:`sys.exc_info`. That alone cannot tell two cases apart
when the file was opened inside an ``except`` block: the exception being handled then is
still "current" when the file closes, whether the ``with`` block ended normally (commit:
an error report written while handling the error) or re-raised it (abort: the file is
partial). The frame that left the ``with`` block tells: it is executing
``WITH_EXCEPT_START`` (the call of ``__exit__`` with an exception) only in the second case.
"""

from __future__ import annotations

import dis
import sys
from types import FrameType

_WITH_EXCEPT_START = dis.opmap.get("WITH_EXCEPT_START")  # CPython >= 3.9
_FRAMES = 64  # how far up the stack to look: wrappers add a handful of frames


def _positions(frame: FrameType | None) -> dict[int, int]:
    positions: dict[int, int] = {}
    while frame is not None and len(positions) < _FRAMES:
        positions[id(frame)] = frame.f_lasti
        frame = frame.f_back
    return positions


def _leaving_with_by_exception(frame: FrameType) -> bool:
    code = frame.f_code.co_code
    return _WITH_EXCEPT_START is not None and 0 <= frame.f_lasti < len(code) \
        and code[frame.f_lasti] == _WITH_EXCEPT_START


class Unwinding:
    """Made when a file opens; :meth:`failing` when it closes."""

    def __init__(self) -> None:
        self._handled = sys.exc_info()[1]  # an exception handled at open is no reason to abort
        # Where each frame stood at open: only needed when an exception is being handled.
        self._opened_at = {} if self._handled is None else _positions(sys._getframe(1))

    def failing(self) -> bool:
        """Whether an exception propagates through the code closing the file now."""
        current = sys.exc_info()[1]
        if current is None:
            return False
        if current is not self._handled:
            return True
        # The exception handled at open: failing only if a block entered since is being
        # left by it. Frames where they stood at open enclose the open: not ours to judge.
        frame: FrameType | None = sys._getframe(1)
        for _ in range(_FRAMES):
            if frame is None:
                break
            at_open = self._opened_at.get(id(frame))
            if at_open == frame.f_lasti:
                return False
            if _leaving_with_by_exception(frame):
                return True
            if at_open is not None:  # the frame that opened the file went on, not into a with exit
                return False
            frame = frame.f_back
        return False
