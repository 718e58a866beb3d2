"""``Access``: a serialized-able grant to one project on one satellite, and the factories
that make one (what :class:`uplink_py.Uplink` and the engine call)."""

from __future__ import annotations

from typing import Any

from . import _native
from . import project  # noqa: F401  (registers Project, which Access.open_project returns)
from ._core import Access as _CoreAccess
from ._core import EncryptionKey
from ._core import derive_encryption_key as _derive_encryption_key
from ._core import parse_access as _parse_access
from ._core import request_access_with_passphrase as _request_access
from .module_classes import Config


class Access(_CoreAccess):
    """An access grant: API key, encryption keys and the satellite's address.

    Pickling an ``Access`` carries its serialized grant (a secret), so another process can
    open its own project with it (Dask workers, data loader workers).
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (parse, (self.serialize(),))

    def derive_encryption_key(self, passphrase: str, salt: str | bytes) -> EncryptionKey:
        """uplink-python's method form of :func:`uplink_py.derive_encryption_key`: a salted
        key for ``passphrase`` (a str salt is UTF-8 encoded), for ``override_encryption_key``."""
        return _derive_encryption_key(passphrase, salt.encode("utf-8") if isinstance(salt, str) else salt)


_native.register_type("Access", Access)


def parse(serialized_access: str) -> Access:
    """An Access from a serialized grant (``Access.serialize()``, ``uplink share``)."""
    return _parse_access(serialized_access)


def request(satellite: str, api_key: str, passphrase: str, config: Config | None = None) -> Access:
    """Ask the satellite for a grant whose encryption key derives from ``passphrase``."""
    return _request_access(satellite, api_key, passphrase, config)
