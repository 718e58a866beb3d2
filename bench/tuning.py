#!/usr/bin/env python3
"""Config's transfer tuning swept: one object up and down, single stream, per setting.

    scripts/testnet up [--profile wan]
    python bench/tuning.py [--size-mib 64] [--runs 3]

Each setting opens its own project (Config with one knob changed from uplink's default)
and moves the same bytes with upload_bytes/download_bytes(max_concurrency=1): a single
stream, where uplink's own concurrency (segments, pieces, pooled connections) is all
there is. The Go CLI uploads the same file with the same knob as its flag
(--maximum-concurrent-segments/-pieces; its time is its whole process). The settings of one run are interleaved, so drift hits them alike. Prints
median [min-max] MiB/s and the load average; the guidance in README.md ("Tuning
transfers") comes from these tables.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import network  # noqa: E402
from golang_cli import GoCLI  # noqa: E402
from measure import Figure  # noqa: E402

MiB = 1 << 20
SETTINGS: dict[str, dict[str, int]] = {
    "defaults (300 pieces, 10 segments)": {},
    "maximum_concurrent_segments=1": {"maximum_concurrent_segments": 1},
    "maximum_concurrent_segments=4": {"maximum_concurrent_segments": 4},
    "maximum_concurrent_segments=20": {"maximum_concurrent_segments": 20},
    "maximum_concurrent_pieces=30": {"maximum_concurrent_pieces": 30},
    "maximum_concurrent_pieces=1000": {"maximum_concurrent_pieces": 1000},
    "connection_pool_capacity=20": {"connection_pool_capacity": 20},
}
CLI_FLAGS = {"maximum_concurrent_segments": "--maximum-concurrent-segments",
             "maximum_concurrent_pieces": "--maximum-concurrent-pieces"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from uplink_py import Config, Uplink

    net = network.load()
    access = Uplink().parse_access(net.access)
    bucket = "bench-tuning-" + secrets.token_hex(4)
    data = os.urandom(args.size_mib * MiB)
    up = {name: Figure("MiB/s") for name in SETTINGS}
    down = {name: Figure("MiB/s") for name in SETTINGS}
    cli_up = {name: Figure("MiB/s") for name, knobs in SETTINGS.items() if set(knobs) <= set(CLI_FLAGS)}
    tmp = Path(tempfile.mkdtemp(prefix="bench-tuning-"))
    source = tmp / "object.bin"
    source.write_bytes(data)
    (tmp / "config").mkdir()
    cli = GoCLI(net.uplink_cli, net.access, str(tmp / "config"))
    with access.open_project() as admin:
        admin.ensure_bucket(bucket)
        try:
            for _ in range(args.runs):
                for name, knobs in SETTINGS.items():
                    with access.config_open_project(Config(**knobs)) as project:
                        project.stat_bucket(bucket)  # dialled: time the transfer only
                        start = time.perf_counter()
                        project.upload_bytes(bucket, "object", data, max_concurrency=1)
                        up[name].add(args.size_mib / (time.perf_counter() - start))
                        start = time.perf_counter()
                        got = project.download_bytes(bucket, "object", max_concurrency=1)
                        down[name].add(args.size_mib / (time.perf_counter() - start))
                        assert got == data
                    if name in cli_up:
                        flags = [f"{CLI_FLAGS[k]}={v}" for k, v in knobs.items()]
                        run = cli.run("cp", "--progress=false", *flags, str(source), f"sj://{bucket}/cli")
                        cli_up[name].add(args.size_mib / run.seconds)
        finally:
            admin.delete_bucket_with_objects(bucket)
            shutil.rmtree(tmp)
    load = os.getloadavg()
    print(f"{args.size_mib} MiB, single stream, {args.runs} runs; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("| setting | upload MiB/s | download MiB/s | `uplink cp` upload, same flag |\n|---|---|---|---|")

    def cell(f: Figure | None) -> str:
        return "-" if f is None else f"{f.median:.1f} [{f.min:.1f}-{f.max:.1f}]"

    for name in SETTINGS:
        print(f"| {name} | {cell(up[name])} | {cell(down[name])} | {cell(cli_up.get(name))} |")


if __name__ == "__main__":
    main()
