"""Credentials: a serialized grant, or a satellite, API key and passphrase, to an open project.

The one place grants are parsed and requested for the package's integrations. Importing
this module does not load the native module; opening does. A :class:`Credentials` is what
integrations carry across processes (pickled into Dask workers and data loader workers),
and what :func:`uplink_py.engine.shared_project` keys its per-process projects by.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from .access import Access
    from .project import Project

AccessLike = Union["Access", str]
"""An :class:`~uplink_py.Access` or a serialized access grant."""


@dataclass(frozen=True)
class Credentials:
    """A serialized grant, or a satellite, API key and passphrase to request one.

    Secrets stay out of the repr. Equal credentials share a project in
    :func:`shared_project`.
    """

    access: str | None = field(default=None, repr=False)
    satellite: str | None = None
    api_key: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        by_passphrase = (self.satellite, self.api_key, self.passphrase)
        if self.access is not None:
            if not isinstance(self.access, str):
                raise TypeError("access must be a serialized grant (str); pass access.serialize()")
            if any(v is not None for v in by_passphrase):
                raise ValueError("give either access or satellite/api_key/passphrase, not both")
        elif not all(isinstance(v, str) and v for v in by_passphrase):
            raise ValueError("satellite, api_key and passphrase are needed together")

    @classmethod
    def of(cls, access: AccessLike) -> Credentials:
        return cls(access=access if isinstance(access, str) else access.serialize())

    def open_access(self) -> Access:
        from . import access  # loads the native module on first use

        if self.access is not None:
            return access.parse(self.access)
        assert self.satellite and self.api_key and self.passphrase
        return access.request(self.satellite, self.api_key, self.passphrase)

    def open_project(self) -> Project:
        """A new project, the caller's to close."""
        return self.open_access().open_project()


def open_project(access: AccessLike) -> Project:
    """A new project for an Access or a serialized grant (the caller closes it)."""
    if isinstance(access, str):
        return Credentials(access=access).open_project()
    return access.open_project()
