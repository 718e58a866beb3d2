"""Repeated figures (median with min/max) and the memory probes."""

from __future__ import annotations

import re
import resource
import statistics
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Figure:
    """One figure measured several times."""

    unit: str
    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    def summary(self) -> dict[str, object]:
        return {"median": self.median, "min": self.min, "max": self.max, "runs": len(self.values), "unit": self.unit}


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank: a value that was observed."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n*q/100), at least 1
    return ordered[int(rank) - 1]


# ------------------------------------------------------------------ memory

_STATUS = "/proc/self/status"


def _status_kib(name: str) -> int:
    with open(_STATUS) as f:
        match = re.search(rf"^{name}:\s+(\d+) kB", f.read(), re.M)
    if match is None:
        raise RuntimeError(f"no {name} in {_STATUS}")
    return int(match.group(1))


def reset_rss_peak() -> bool:
    """Resets the kernel's peak-RSS mark (VmHWM) of this process; False where that is refused."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@dataclass
class MemoryPeak:
    tracemalloc_peak_bytes: int = 0  # largest Python-allocated total above the start
    rss_peak_delta_bytes: int = 0  # VmHWM during the call minus VmRSS before it (Go heap, C, Python)
    rss_reset: bool = True  # False: VmHWM could not be reset, the delta is an upper bound since start


@contextmanager
def memory_peak() -> Iterator[MemoryPeak]:
    """Measures a block: tracemalloc peak (Python allocations only) and RSS growth (everything).

    RSS: the peak mark VmHWM is reset through /proc/self/clear_refs ("5") so that it
    starts at the current RSS; the figure is VmHWM after the block minus VmRSS before.
    It covers the Go runtime's heap and stacks, C++ and Python, not just Python.
    """
    result = MemoryPeak()
    result.rss_reset = reset_rss_peak()
    rss_before = _status_kib("VmRSS")
    tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    try:
        yield result
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result.tracemalloc_peak_bytes = max(0, peak - base)
        result.rss_peak_delta_bytes = max(0, (_status_kib("VmHWM") - rss_before) * 1024)


def cpu_seconds() -> float:
    """User + system CPU time of this process so far: every thread, Go's included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Clock:
    seconds: float = 0.0
    cpu: float = 0.0


@contextmanager
def clock() -> Iterator[Clock]:
    """Wall time and this process's CPU time of a block."""
    result = Clock()
    wall, cpu = time.perf_counter(), cpu_seconds()
    yield result
    result.seconds = time.perf_counter() - wall
    result.cpu = cpu_seconds() - cpu
