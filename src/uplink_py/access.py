"""``Access``: a serialized-able grant to one project on one satellite."""

from __future__ import annotations

from typing import Any

from ._core import Access as _CoreAccess


def _parse(serialized_access: str) -> Access:
    from ._native import core

    return core().parse_access(serialized_access)  # type: ignore[no-any-return]


class Access(_CoreAccess):
    """An access grant: API key, encryption keys and the satellite's address.

    Pickling an ``Access`` carries its serialized grant (a secret), so another process can
    open its own project with it (Dask workers, data loader workers).
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_parse, (self.serialize(),))
