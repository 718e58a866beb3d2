"""Timeouts for the calls of a block: ``with call_timeout(5): project.stat_object(b, k)``.

Every blocking call has a deadline: ``Config.call_timeout_milliseconds`` for satellite
calls (stat, a listing page, delete, commit, opening a transfer or a project; 120 s by
default) and ``Config.transfer_timeout_milliseconds`` for each read, write (of at most
8 MiB) and commit of a transfer (600 s by default). :func:`call_timeout` replaces both
for the calls the current thread makes inside the block, and for the parallel pieces of
the package's transfers started there. A call that runs out of time raises
:class:`~uplink_py.errors.DeadlineExceededError` (also the builtin ``TimeoutError``);
a transfer it ends is cancelled (aborted: nothing is committed).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from . import _native

__all__ = ["call_timeout"]


def _milliseconds(seconds: float | None) -> int:
    if seconds is None:
        return 0  # no timeout
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"seconds must be a number or None, not {type(seconds).__name__}")
    if not seconds > 0 or math.isnan(seconds):
        raise ValueError(f"seconds must be > 0 (None: no timeout), not {seconds!r}")
    if math.isinf(seconds):
        return 0
    return max(1, math.ceil(seconds * 1000))


@contextmanager
def call_timeout(seconds: float | None) -> Iterator[None]:
    """Every blocking call of this thread in the block gets at most ``seconds``
    (``None``: no timeout) instead of the project's Config timeouts. Nestable."""
    core = _native.core()
    previous = core._swap_call_timeout(_milliseconds(seconds))
    try:
        yield
    finally:
        core._swap_call_timeout(previous)
