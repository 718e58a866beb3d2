"""The local Storj network to measure on: STORJ_TEST_* variables, or `scripts/testnet env`."""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KEYS = ("STORJ_TEST_SATELLITE", "STORJ_TEST_ACCESS", "STORJ_TEST_UPLINK_CLI")


@dataclass(frozen=True)
class Network:
    satellite: str
    access: str = field(repr=False)  # a secret: never printed
    uplink_cli: str
    profile: str = "loopback"  # scripts/testnet up --profile NAME


def _parse_exports(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export":
            key, _, value = words[1].partition("=")
            values[key] = value
    return values


def load() -> Network:
    """The network named by the environment, else the one `scripts/testnet up` left running."""
    env = dict(os.environ)
    if not all(env.get(k) for k in KEYS):
        res = subprocess.run(
            [str(REPO / "scripts" / "testnet"), "env"], capture_output=True, text=True, timeout=120
        )
        if res.returncode != 0:
            raise SystemExit(
                "bench: no network: set STORJ_TEST_* (eval \"$(scripts/testnet env)\") or run "
                f"`scripts/testnet up` first\n{res.stdout}{res.stderr}"
            )
        env.update(_parse_exports(res.stdout))
    missing = [k for k in KEYS if not env.get(k)]
    if missing:
        raise SystemExit(f"bench: missing {', '.join(missing)}")
    return Network(env["STORJ_TEST_SATELLITE"], env["STORJ_TEST_ACCESS"], env["STORJ_TEST_UPLINK_CLI"],
                   env.get("STORJ_TEST_PROFILE") or "loopback")
