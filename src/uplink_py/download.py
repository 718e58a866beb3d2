"""``Download``: one object, or a range of it, streamed."""

from ._core import Download

__all__ = ["Download"]
