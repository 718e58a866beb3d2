"""One project per process and credentials, never a parent's after ``fork()``.

:func:`shared_project` serves integrations that hold credentials rather than a project
(fsspec filesystems, datasets in worker processes). The credentials are anything hashable
that can open a project (:class:`uplink_py.credentials.Credentials`).
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

if TYPE_CHECKING:
    from .._core import Project

P = TypeVar("P", bound="Project", covariant=True)


class ProjectSource(Protocol[P]):
    """What a shared project is opened from (and keyed by: hashable)."""

    def __hash__(self) -> int: ...

    def open_project(self) -> P: ...


# ---------------------------------------------------------------- one project per process

_lock = threading.Lock()
_projects: dict[ProjectSource[Project], Project] = {}
_inherited: list[Project] = []  # a parent's projects after fork(): kept, never used nor closed


def _after_fork_in_child() -> None:
    """A forked child must not touch its parent's projects; it opens its own on first use."""
    global _lock
    _lock = threading.Lock()
    _inherited.extend(_projects.values())  # closing them here could reach the dead Go runtime
    _projects.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def shared_project(credentials: ProjectSource[P]) -> P:
    """This process's project for ``credentials``, opened on first use (thread-safe)."""
    project = _projects.get(credentials)
    if project is None or project.closed:
        with _lock:
            project = _projects.get(credentials)
            if project is None or project.closed:
                project = _projects[credentials] = credentials.open_project()
    return cast("P", project)  # what this credentials' open_project returned


def close_shared_project(credentials: ProjectSource[Project]) -> None:
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
