#!/usr/bin/env python3
"""zarr 3 chunks/s on sj://: our asynchronous filesystem vs fsspec's sync-to-async wrapper
around the sync one (the route zarr took before), in one run.

    python bench/arrays.py [--chunks 400] [--chunk-kib 40] [--repeats 3] [--json]

Each repeat writes an array of ``--chunks`` chunks through each route, then reads it all
back (variants interleaved, order shuffled per repeat); values are checked once.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import network  # noqa: E402
from measure import Figure  # noqa: E402
from run import log, machine, workspace  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=400)
    parser.add_argument("--chunk-kib", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import zarr
    from fsspec.implementations.asyn_wrapper import AsyncFileSystemWrapper
    from zarr.storage import FsspecStore

    from uplink_py import Uplink
    from uplink_py.fsspec import StorjFileSystem
    from uplink_py.fsspec_async import AsyncStorjFileSystem

    net = network.load()
    load_start = [round(x, 2) for x in os.getloadavg()]
    per_chunk = args.chunk_kib * 1024 // 8  # float64 values
    data = np.random.default_rng(3).standard_normal(args.chunks * per_chunk)
    routes = {
        "AsyncStorjFileSystem": lambda: AsyncStorjFileSystem(access=net.access, asynchronous=True,
                                                             skip_instance_cache=True),
        "AsyncFileSystemWrapper(StorjFileSystem)": lambda: AsyncFileSystemWrapper(
            StorjFileSystem(access=net.access, skip_instance_cache=True), asynchronous=True),
    }
    figures: dict[str, Figure] = {}
    with Uplink().parse_access(net.access).open_project() as project, workspace(project, "arrays") as (bucket, _):
        log(f"{args.chunks} chunks of {args.chunk_kib} KiB, {args.repeats} repeats, profile {net.profile}")
        for r in range(args.repeats):
            steps = list(routes.items())
            random.Random(r).shuffle(steps)
            for name, make in steps:
                store = FsspecStore(make(), path=f"{bucket}/{name.split('(')[0]}-{r}.zarr")
                start = time.perf_counter()
                arr = zarr.create_array(store, shape=data.shape, chunks=(per_chunk,), dtype="float64")
                arr[:] = data
                figures.setdefault(f"{name} write", Figure("chunks/s")).add(args.chunks / (time.perf_counter() - start))
                start = time.perf_counter()
                back = zarr.open_array(store, mode="r")[:]
                figures.setdefault(f"{name} read", Figure("chunks/s")).add(args.chunks / (time.perf_counter() - start))
                if r == 0 and not np.array_equal(back, data):
                    raise AssertionError(f"{name}: values differ")
    f = {k: v.median for k, v in figures.items()}
    ours, theirs = routes
    summary = {f"zarr_{d}_ratio_vs_wrapper": f[f"{ours} {d}"] / f[f"{theirs} {d}"] for d in ("write", "read")}
    end = [round(x, 2) for x in os.getloadavg()]
    print(f"\nzarr chunks/s: {args.chunks} x {args.chunk_kib} KiB, profile {net.profile}, {args.repeats} repeats, "
          f"load {load_start[0]} -> {end[0]}")
    for name, fig in sorted(figures.items()):
        print(f"  {name:<48} {fig.median:8.1f}  [{fig.min:.1f}-{fig.max:.1f}]")
    for key, value in summary.items():
        print(f"  {key:<48} {value:6.2f}")
    if args.json:
        print(json.dumps({**summary, "figures": {k: v.summary() for k, v in figures.items()},
                          "meta": {**machine(), "profile": net.profile, "loadavg_start": load_start,
                                   "loadavg_end": end}}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
