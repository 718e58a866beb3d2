#!/usr/bin/env python3
"""`uplink-py cp` beside the Go `uplink cp`: one file up and down, whole processes, in one run.

    python bench/cli_cp.py [--size-mib 256] [--repeats 5] [--json]

Both commands run as a user runs them: a new process (start, dial, transfer, exit),
the file in /dev/shm when it fits (else the workspace), progress bars off. Measured
(MiB/s, median [min-max] of the repeats, the variants interleaved in a shuffled order):
``uplink-py cp`` with its defaults (4 parts at once) and with ``-p 1`` (one stream), the
Go ``uplink cp`` with its defaults (one stream) and with ``--parallelism 4``. Every download is
checked by hash once. The network comes from STORJ_TEST_* or `scripts/testnet env`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import network  # noqa: E402
from golang_cli import GoCLI  # noqa: E402
from measure import Figure  # noqa: E402
from run import log, machine, workspace  # noqa: E402

MiB = 1024 * 1024


def ours(access: str, *args: str) -> float:
    env = {**os.environ, "STORJ_ACCESS": access}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "uplink_py", "cp", "--no-progress", *args], env=env, check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    load_start = [round(x, 2) for x in os.getloadavg()]
    net = network.load()
    from uplink_py import Uplink

    size = args.size_mib * MiB
    figures: dict[str, Figure] = {}
    with Uplink().parse_access(net.access).open_project() as project, workspace(project, "cli-cp") as (bucket, tmp):
        config = tmp / "uplink-config"
        config.mkdir()
        cli = GoCLI(net.uplink_cli, net.access, str(config))
        shm = Path("/dev/shm")
        files = Path(tempfile_dir(shm, tmp, 3 * size))
        source = files / "cli-cp-source.bin"
        np.random.default_rng(11).integers(0, 256, size, dtype=np.uint8).tofile(source)
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        project.upload_file(bucket, "ref", source)
        checked: set[str] = set()

        def down_check(name: str, out: Path) -> None:
            if name not in checked:
                if hashlib.sha256(out.read_bytes()).hexdigest() != digest:
                    raise AssertionError(f"{name}: bytes differ")
                checked.add(name)
            out.unlink()

        def add(name: str, seconds: float) -> None:
            figures.setdefault(name, Figure("MiB/s")).add(size / MiB / seconds)

        def ours_up(*flags: str) -> None:
            name = " ".join(["uplink-py cp up", *flags])
            add(name, ours(net.access, *flags, str(source), f"sj://{bucket}/up/py"))

        def ours_down(*flags: str) -> None:
            out = files / "py.out"
            name = " ".join(["uplink-py cp down", *flags])
            add(name, ours(net.access, *flags, f"sj://{bucket}/ref", str(out)))
            down_check(name, out)

        def go(direction: str, parallelism: int) -> None:
            flags = ("--parallelism", str(parallelism)) if parallelism > 1 else ()
            name = f"uplink cp {direction}" + (f" --parallelism {parallelism}" if parallelism > 1 else "")
            if direction == "up":
                run = cli.run("cp", "--progress=false", *flags, str(source), f"sj://{bucket}/up/go")
                add(name, run.seconds)
            else:
                out = files / "go.out"
                run = cli.run("cp", "--progress=false", *flags, f"sj://{bucket}/ref", str(out))
                add(name, run.seconds)
                down_check(name, out)

        try:
            for r in range(args.repeats):
                steps = [ours_up, ours_down, lambda: ours_up("-p", "1"), lambda: ours_down("-p", "1"),
                         lambda: go("up", 1), lambda: go("down", 1), lambda: go("up", 4), lambda: go("down", 4)]
                random.Random(r).shuffle(steps)
                log(f"repeat {r + 1}/{args.repeats}")
                for step in steps:
                    step()
        finally:
            for name in ("cli-cp-source.bin", "py.out", "go.out"):
                (files / name).unlink(missing_ok=True)
    f = {k: v.median for k, v in figures.items()}
    summary = {
        "cp_up_ratio_vs_go_default": f["uplink-py cp up"] / f["uplink cp up"],
        "cp_down_ratio_vs_go_default": f["uplink-py cp down"] / f["uplink cp down"],
        "cp_up_ratio_vs_go_parallelism_4": f["uplink-py cp up"] / f["uplink cp up --parallelism 4"],
        "cp_down_ratio_vs_go_parallelism_4": f["uplink-py cp down"] / f["uplink cp down --parallelism 4"],
    }
    meta = {**machine(), "profile": net.profile, "size_mib": args.size_mib, "repeats": args.repeats,
            "go_cli_version": cli.version(), "files_in": str(files), "loadavg_start": load_start,
            "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
    print(f"\ncp of one file: {args.size_mib} MiB, profile {net.profile}, {args.repeats} repeats, "
          f"load {load_start[0]} -> {meta['loadavg_end'][0]}")
    for name, fig in sorted(figures.items()):
        print(f"  {name:<34} {fig.median:8.1f} MiB/s  [{fig.min:.1f}-{fig.max:.1f}]")
    for key, value in summary.items():
        print(f"  {key:<34} {value:6.2f}")
    if args.json:
        print(json.dumps({**summary, "figures": {k: v.summary() for k, v in figures.items()}, "meta": meta},
                         sort_keys=True))
    return 0


def tempfile_dir(preferred: Path, fallback: Path, need: int) -> str:
    """``preferred`` (RAM) if it has room for ``need`` bytes, else ``fallback``."""
    if preferred.is_dir() and shutil.disk_usage(preferred).free > need + 512 * MiB:
        return str(preferred)
    return str(fallback)


if __name__ == "__main__":
    sys.exit(main())
