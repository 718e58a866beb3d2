"""Loads the native module on first use and hands it the Python tables it needs.

Loading ``_core`` starts the Go runtime linked into it. Importing ``uplink_py`` must not
do that, so a process that only imported the package can still ``fork()`` safely (data
loader workers, multiprocessing); the first real call loads it here. The native module
imports nothing from the package: this module registers the error classes, the result
classes and the main thread with it, and the facade modules register their subclasses
(``access.py``, ``project.py``). Imports go one way: facade -> _native -> _core.
"""

from __future__ import annotations

import io
import threading
from types import ModuleType

from . import errors, module_classes

_lock = threading.Lock()
_core: ModuleType | None = None

_RESULT_CLASSES = ("Bucket", "Object", "SystemMetadata", "CustomMetadata", "CustomMetadataEntry", "UploadInfo",
                   "Part", "EdgeCredentials", "ObjectVersion", "Retention", "ObjectLockConfiguration", "DeleteResult")


def core() -> ModuleType:
    """The native module, loaded once and given the tables of uplink_py."""
    global _core
    if _core is not None:
        return _core
    with _lock:
        if _core is None:
            try:
                from . import _core as native
            except ImportError as exc:
                raise errors.LibUplinkSoError(
                    f"uplink_py's native module could not be loaded: {exc}. "
                    "Reinstall uplink-py (pip install --force-reinstall uplink-py)."
                ) from exc
            native._register_python(
                errors._from_code, errors.ForkedProcessError,
                {name: getattr(module_classes, name) for name in _RESULT_CLASSES},
                threading.main_thread().ident,
            )
            io.RawIOBase.register(native.Upload)  # they implement its protocol (see upload.py, download.py)
            io.RawIOBase.register(native.Download)
            _core = native
    return _core


def loaded() -> ModuleType | None:
    """The native module if something loaded it already (never loads it)."""
    return _core


def register_type(kind: str, cls: type) -> None:
    """Makes the native module create handles of ``kind`` ("Access", "Project") as ``cls``."""
    core()._register_type(kind, cls)
