"""The local Storj network to measure on: STORJ_TEST_* variables, or `scripts/testnet env`."""

from __future__ import annotations

import json
import os
import shlex
import statistics
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
    directory: str = ""  # the network's state directory (UPLINK_PY_TESTNET_DIR), "" when unknown

    def shape(self) -> Shape | None:
        """The erasure code and the nodes' line rates, read from the running network (None
        when its directory is unknown: STORJ_TEST_NETWORK_DIR unset)."""
        if not self.directory:  # another network than the default one may be meant: unknown
            return None
        env = {**os.environ, "UPLINK_PY_TESTNET_DIR": self.directory}
        out = {}
        for cmd in ("status", "faults"):
            res = subprocess.run([str(REPO / "scripts" / "testnet"), cmd], capture_output=True, text=True,
                                 timeout=60, env=env)
            out[cmd] = (json.loads(res.stdout) if res.returncode == 0 and res.stdout.strip() else None) or {}
        if not out["status"].get("rs"):
            return None
        rates = tuple(int(v.get("shape", {}).get("rate") or 0) for k, v in out["faults"].items()
                      if k.startswith("node:"))
        return Shape(out["status"]["rs"], rates)


@dataclass(frozen=True)
class Shape:
    rs: str  # min/repair/success/total
    node_rates: tuple[int, ...]  # bytes/s per connection and direction of each node; 0: no cap

    @property
    def segment_mibps(self) -> float | None:
        """The line rate one segment in flight can use: a segment is read from (or written
        as) pieces of 1/min of its size, one connection per node in parallel; uplink keeps
        the fastest (it reads more pieces than it needs and cuts the long tail of uploads),
        so the typical node's cap times min. None when the nodes have no cap (loopback)."""
        if not self.node_rates or 0 in self.node_rates:
            return None
        return int(self.rs.split("/")[0]) * statistics.median(self.node_rates) / (1024 * 1024)


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
                   env.get("STORJ_TEST_PROFILE") or "loopback", env.get("STORJ_TEST_NETWORK_DIR") or "")
