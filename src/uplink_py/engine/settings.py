"""Defaults and argument checks shared by every transfer (one value per concept)."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024
DEFAULT_PART_SIZE = 64 * MiB  # one Storj segment: smaller parts cost more segments
DEFAULT_CONCURRENCY = 4  # parts (or ranges) of one object in flight
DEFAULT_MANY_CONCURRENCY = 8  # objects in flight: *_many, fsspec batches, CLI, loader
CHUNK = 8 * MiB  # one write/read call into the native module, and the progress step
MIN_PART_SIZE = 5 * MiB  # Storj's smallest part (but the last)


def int_at_least(value: object, name: str, minimum: int) -> int:
    """``value`` if it is an int >= ``minimum``: TypeError for other types (bool too),
    ValueError below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return value


def positive_int(value: object, name: str) -> int:
    return int_at_least(value, name, 1)


def non_negative_int(value: object, name: str) -> int:
    return int_at_least(value, name, 0)


@dataclass(frozen=True)
class Tuning:
    """How one object moves: ``max_concurrency`` parts of ``part_size`` bytes in flight
    (1: one stream). Checked when made, so a bad value fails before anything starts."""

    max_concurrency: int = DEFAULT_CONCURRENCY
    part_size: int = DEFAULT_PART_SIZE

    def __post_init__(self) -> None:
        positive_int(self.max_concurrency, "max_concurrency")
        positive_int(self.part_size, "part_size")

    def ranges(self, start: int, length: int) -> list[tuple[int, int]]:
        """``(offset, length)`` of each part of ``length`` bytes from ``start``."""
        return [(offset, min(self.part_size, start + length - offset))
                for offset in range(start, start + length, self.part_size)]

    def parallel(self, size: int) -> bool:
        """Whether ``size`` bytes move as parallel parts rather than one stream."""
        return self.max_concurrency > 1 and size > self.part_size
