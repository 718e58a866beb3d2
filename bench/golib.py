"""The Go-library baseline (bench/golib): storj.io/uplink itself, timed around the call
on an open project as uplink_py is. Built on first use with the machine's Go."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


@dataclass
class LibRun:
    seconds: float  # the transfer alone: after open and dial
    cpu_seconds: float  # of the transfer, every thread
    sha256: str
    max_rss_bytes: int  # the whole process's peak (VmHWM): the data buffer included
    ttfb_ms: list[float]  # -op ttfb: DownloadObject to the first byte, each time


class GoLib:
    def __init__(self, access: str, build_dir: Path = REPO / "build" / "bench-golib") -> None:
        self._access = access
        self.binary = build_dir / "golib"
        build_dir.mkdir(parents=True, exist_ok=True)
        res = subprocess.run(["go", "build", "-trimpath", "-o", str(self.binary), "."], cwd=HERE / "golib",
                             capture_output=True, text=True, timeout=900)
        if res.returncode != 0:
            raise RuntimeError(f"bench: building bench/golib failed:\n{res.stdout}{res.stderr}")

    def run(self, op: str, bucket: str, key: str, *, size: int = 0, file: Path | None = None,
            count: int = 0) -> LibRun:
        cmd = [str(self.binary), "-op", op, "-bucket", bucket, "-key", key]
        cmd += {"down": ["-size", str(size)], "up": ["-file", str(file)], "ttfb": ["-count", str(count)]}[op]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, stdin=subprocess.DEVNULL,
                             env={**os.environ, "STORJ_TEST_ACCESS": self._access})  # not in argv: see main.go
        if res.returncode != 0:
            raise RuntimeError(f"golib -op {op} {key} exited {res.returncode}:\n"
                               + (res.stdout + res.stderr).replace(self._access, "<access>"))
        out = json.loads(res.stdout.strip().splitlines()[-1])
        return LibRun(out.get("seconds", 0.0), out.get("cpu_seconds", 0.0), out.get("sha256", ""),
                      out["max_rss_bytes"], out.get("ttfb_ms") or [])
