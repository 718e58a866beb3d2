#!/usr/bin/env python3
"""Where the time of one large transfer goes: CPU seconds by process, next to the wall time.

    python bench/where_time_goes.py [--size-mib 256] [--repeats 2]

For uplink_py (single stream and 4 parallel parts) and the Go CLI (default), each way,
it reads the CPU time (user + system, from /proc) of: the client (this process, or
the CLI child), the network (satellite + storage nodes: one testnet process), its
PostgreSQL, and the rest of the machine (/proc/stat total minus those three). On a
2-core machine that runs the network too, a transfer is fast when the client leaves
the cores to the network; these figures show how much each side takes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import network  # noqa: E402
from golang_cli import GoCLI  # noqa: E402
from run import MiB, workspace  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int, children: bool = False) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime (exited backends)
    return ticks / TICK


def _comm(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def _machine_cpu() -> float:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    return busy / TICK


def snapshot(network_pid: int) -> dict[str, float]:
    postgres = sum(_proc_cpu(int(p), children=True) for p in os.listdir("/proc") if p.isdigit() and _comm(p) == "postgres")
    return {"machine": _machine_cpu(), "network": _proc_cpu(network_pid), "postgres": postgres,
            "self": _proc_cpu(os.getpid())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    status = json.loads(subprocess.run([str(network.REPO / "scripts" / "testnet"), "status"],
                                       capture_output=True, text=True, check=True).stdout)
    net = network.load()
    from uplink_py import Uplink

    size = args.size_mib * MiB
    data = np.random.default_rng(1).integers(0, 256, size, dtype=np.uint8)
    target = np.ones(size, dtype=np.uint8)
    rows = []
    with Uplink().parse_access(net.access).open_project() as project, workspace(project, "where") as (bucket, tmp):
        cli = GoCLI(net.uplink_cli, net.access, tempfile.mkdtemp(dir=tmp))
        src = tmp / "large.bin"
        data.tofile(src)
        project.upload_bytes(bucket, "ref", data, max_concurrency=1)
        variants = {
            "py single down": lambda: project.download_into(bucket, "ref", target, max_concurrency=1),
            "py parallel c=4 down": lambda: project.download_into(
                bucket, "ref", target, max_concurrency=4, part_size=-(-size // 4)),
            "go cp down": lambda: cli.run("cp", "--progress=false", f"sj://{bucket}/ref", str(tmp / "out.bin")),
            "py single up": lambda: project.upload_bytes(bucket, "up-py", data, max_concurrency=1),
            "py parallel c=4 up": lambda: project.upload_bytes(
                bucket, "up-py4", data, max_concurrency=4, part_size=-(-size // 4)),
            "go cp up": lambda: cli.run("cp", "--progress=false", str(src), f"sj://{bucket}/up-go"),
        }
        for _ in range(args.repeats):
            for name, fn in variants.items():
                before = snapshot(status["pid"])
                start = time.perf_counter()
                result = fn()
                wall = time.perf_counter() - start
                after = snapshot(status["pid"])
                d = {k: after[k] - before[k] for k in before}
                client = result.cpu_seconds if name.startswith("go") else d["self"]
                other = d["machine"] - d["network"] - d["postgres"] - client
                rows.append((name, wall, client, d["network"], d["postgres"], other, d["machine"] / wall / os.cpu_count()))
    print(f"{args.size_mib} MiB, {os.cpu_count()} cores; CPU seconds per transfer, by process")
    print(f"{'variant':<22}{'wall s':>8}{'MiB/s':>8}{'client':>8}{'network':>9}{'postgres':>9}{'other':>8}{'busy':>7}")
    for name, wall, client, netw, pg, other, busy in rows:
        print(f"{name:<22}{wall:8.2f}{args.size_mib / wall:8.1f}{client:8.2f}{netw:9.2f}{pg:9.2f}{other:8.2f}"
              f"{busy:7.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
