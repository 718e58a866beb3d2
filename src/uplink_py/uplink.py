"""``Uplink``: where every access grant starts (the entry point of uplink-python)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .module_classes import Config

if TYPE_CHECKING:
    from .access import Access


class Uplink:
    """Creates access grants. Holds no state; kept for uplink-python compatibility."""

    def request_access_with_passphrase(self, satellite: str, api_key: str, passphrase: str) -> Access:
        """Ask the satellite for an access grant whose encryption key derives from ``passphrase``."""
        from .access import request  # loads the native module on first use

        return request(satellite, api_key, passphrase)

    def config_request_access_with_passphrase(
        self, config: Config, satellite: str, api_key: str, passphrase: str
    ) -> Access:
        """Like :meth:`request_access_with_passphrase`, with dial timeout and user agent from ``config``."""
        from .access import request

        return request(satellite, api_key, passphrase, config)

    def parse_access(self, serialized_access: str) -> Access:
        """Parse a serialized access grant (as printed by ``Access.serialize`` or ``uplink share``)."""
        from .access import parse

        return parse(serialized_access)

    def __repr__(self) -> str:
        return "Uplink()"
