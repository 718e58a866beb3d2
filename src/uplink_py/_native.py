"""Loads the native module on first use.

Loading ``_core`` starts the Go runtime linked into it. Importing ``uplink_py`` must not
do that, so a process that only imported the package can still ``fork()`` safely (data
loader workers, multiprocessing); the first real call loads it here.
"""

from __future__ import annotations

import threading
from types import ModuleType

from .errors import LibUplinkSoError

_lock = threading.Lock()
_core: ModuleType | None = None


def core() -> ModuleType:
    """The native module, loaded and wired to the facade classes."""
    global _core
    if _core is not None:
        return _core
    with _lock:
        if _core is None:
            try:
                from . import _core as native
            except ImportError as exc:
                raise LibUplinkSoError(
                    f"uplink_py's native module could not be loaded: {exc}. "
                    "Reinstall uplink-py (pip install --force-reinstall uplink-py)."
                ) from exc
            from .access import Access
            from .download import Download
            from .project import Project
            from .upload import PartUpload, Upload

            native._register_types(Access, Project, Upload, Download, PartUpload)
            _core = native
    return _core
