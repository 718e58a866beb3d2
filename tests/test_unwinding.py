"""engine.unwinding: a written file closed by an exception leaving a block aborts; closed by
a block that ends normally, it commits, also when it was opened inside an ``except`` block
(the exception being handled then is no reason). No network: file-like stand-ins of ours
record what the check said, in the shapes users close files (plain ``with``, io wrappers
around it, a block in a later frame, a context manager's ``__exit__``)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest

from uplink_py.engine.unwinding import WITH_EXCEPT_START, Unwinding


class Plain:
    """``__init__`` and ``close`` frames of the same shape: a freed frame's address coming
    back for the other must not make them look like one (it did: commit on 3.11-3.13)."""

    def __init__(self) -> None:
        self.unwinding = Unwinding()
        self.said: str | None = None

    def __enter__(self) -> Plain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.said = "abort" if self.unwinding.failing() else "commit"


class Raw(io.RawIOBase):
    def __init__(self) -> None:
        self.unwinding = Unwinding()
        self.said: str | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.said = "abort" if self.unwinding.failing() else "commit"
        super().close()


def _said(opened: Any) -> str | None:
    while not hasattr(opened, "said"):
        opened = getattr(opened, "buffer", None) or opened.raw  # TextIOWrapper -> BufferedWriter -> Raw
    return opened.said  # type: ignore[no-any-return]


MAKERS: dict[str, Callable[[], Any]] = {
    "plain": Plain,
    "raw": Raw,
    "TextIOWrapper(BufferedWriter(raw))": lambda: io.TextIOWrapper(io.BufferedWriter(Raw()), encoding="utf-8"),
}


def reraised_in_the_block(make: Callable[[], Any]) -> Any:
    try:
        try:
            raise KeyError("handled")
        except KeyError:
            opened = make()
            with opened:
                raise
    except KeyError:
        pass
    return opened


def block_ends_normally_in_a_handler(make: Callable[[], Any]) -> Any:
    try:
        raise KeyError("handled")
    except KeyError:
        opened = make()
        with opened:
            pass
    return opened


def block_in_a_later_frame_reraises(make: Callable[[], Any]) -> Any:
    def finish(opened: Any) -> None:
        with opened:
            raise

    try:
        try:
            raise KeyError("handled")
        except KeyError:
            opened = make()
            finish(opened)
    except KeyError:
        pass
    return opened


def written_by_an_exit_handler(make: Callable[[], Any]) -> Any:
    made: list[Any] = []

    class Report:
        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> None:
            made.append(make())
            with made[0]:
                pass

    with pytest.raises(KeyError):
        with Report():
            raise KeyError("leaving")
    return made[0]


def exception_in_the_block(make: Callable[[], Any]) -> Any:
    with pytest.raises(ValueError):
        with make() as opened:
            raise ValueError("failed midway")
    return opened


CASES = {
    reraised_in_the_block: "abort",
    block_ends_normally_in_a_handler: "commit",
    block_in_a_later_frame_reraises: "abort",
    written_by_an_exit_handler: "commit",
    exception_in_the_block: "abort",
}


def test_the_opcode_is_found() -> None:
    """Without WITH_EXCEPT_START a re-raise in a handler would commit: a CPython that drops
    it must fail here, not quietly."""
    assert WITH_EXCEPT_START is not None


@pytest.mark.parametrize("case", list(CASES), ids=lambda c: c.__name__)
@pytest.mark.parametrize("maker", list(MAKERS))
def test_what_closing_says(case: Callable[[Callable[[], Any]], Any], maker: str) -> None:
    assert _said(case(MAKERS[maker])) == CASES[case]
