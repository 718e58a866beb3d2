"""From credentials to an open project: the one place grants are parsed and requested.

:class:`Credentials` is what integrations carry across processes (pickled into Dask
workers and data loader workers); :func:`shared_project` keeps one project per process
and credentials, never reusing a parent's after ``fork()``.
"""

from __future__ import annotations

import atexit
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from ..access import Access
    from ..project import Project

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
        from .._native import core

        if self.access is not None:
            return core().parse_access(self.access)  # type: ignore[no-any-return]
        return core().request_access_with_passphrase(  # type: ignore[no-any-return]
            self.satellite, self.api_key, self.passphrase
        )

    def open_project(self) -> Project:
        """A new project, the caller's to close."""
        return self.open_access().open_project()


def open_project(access: AccessLike) -> Project:
    """A new project for an Access or a serialized grant (the caller closes it)."""
    if isinstance(access, str):
        return Credentials(access=access).open_project()
    return access.open_project()


# ---------------------------------------------------------------- one project per process

_lock = threading.Lock()
_projects: dict[Credentials, Project] = {}
_inherited: list[Project] = []  # a parent's projects after fork(): kept, never used nor closed


def _after_fork_in_child() -> None:
    """A forked child must not touch its parent's projects; it opens its own on first use."""
    global _lock
    _lock = threading.Lock()
    _inherited.extend(_projects.values())  # closing them here could reach the dead Go runtime
    _projects.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def shared_project(credentials: Credentials) -> Project:
    """This process's project for ``credentials``, opened on first use (thread-safe)."""
    project = _projects.get(credentials)
    if project is not None and not project.closed:
        return project
    with _lock:
        project = _projects.get(credentials)
        if project is None or project.closed:
            project = _projects[credentials] = credentials.open_project()
        return project


def close_shared_project(credentials: Credentials) -> None:
    """Close this process's project for ``credentials`` (reopened if used again)."""
    with _lock:
        project = _projects.pop(credentials, None)
    if project is not None:
        project.close()


@atexit.register
def _close_all() -> None:
    with _lock:
        projects = list(_projects.values())
        _projects.clear()
    for project in projects:
        try:
            project.close()
        except Exception:  # pragma: no cover - best effort at exit
            pass
