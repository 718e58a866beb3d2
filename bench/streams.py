#!/usr/bin/env python3
"""File objects and checkpoints beside `upload_bytes` and the Go `uplink cp`, in one run.

    python bench/streams.py [--size-mib 1024] [--repeats 3] [--json]

Measures, MiB/s of the same bytes (median [min-max] of the repeats, variants interleaved):
  * writing: ``Project.open_writer`` fed 8 MiB writes from a numpy buffer, vs
    ``upload_bytes`` of that buffer, vs ``uplink cp FILE sj://`` (the file in /dev/shm);
  * reading: ``uplink-py cat`` into a pipe this process drains (a new process: start,
    dial and all, as the CLI's), vs ``uplink cp sj:// FILE``;
  * checkpoints: ``torch.save`` of a state dict of the size into ``open_writer`` and
    ``torch.load`` from ``open_reader`` (through io.BufferedReader), vs ``uplink cp`` of
    the file ``torch.save`` writes, up and down.
The network comes from STORJ_TEST_* or `scripts/testnet env`; the bucket and files go at
the end, also after an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import network  # noqa: E402
from golang_cli import GoCLI  # noqa: E402
from measure import Figure  # noqa: E402
from run import log, machine, workspace  # noqa: E402

MiB = 1024 * 1024
CHUNK = 8 * MiB


class Streams:
    def __init__(self, project, cli: GoCLI, access: str, bucket: str, tmp: Path, size: int) -> None:  # type: ignore[no-untyped-def]
        import torch

        self.torch = torch
        self.project, self.cli, self.access, self.bucket, self.tmp, self.size = project, cli, access, bucket, tmp, size
        self.figures: dict[str, Figure] = {}
        self.data = np.random.default_rng(7).integers(0, 256, size, dtype=np.uint8)
        self.sha = hashlib.sha256(self.data).hexdigest()
        self.file = tmp / "data.bin"
        self.data.tofile(self.file)
        # a state dict of about `size` bytes: a few large float tensors, as a model's
        n = size // 4 // 8
        self.state = {f"layer{i}.weight": torch.randn(n) for i in range(8)}
        self.ckpt = tmp / "ckpt.pt"
        torch.save(self.state, self.ckpt)
        self.ckpt_mib = self.ckpt.stat().st_size / MiB
        project.upload_bytes(bucket, "ref/data", self.data)
        project.upload_file(bucket, "ref/ckpt", self.ckpt)

    def _add(self, name: str, mib: float, seconds: float) -> None:
        self.figures.setdefault(name, Figure("MiB/s")).add(mib / seconds)

    # writing

    def writer(self) -> None:
        start = time.perf_counter()
        with self.project.open_writer(self.bucket, "up/writer") as w, memoryview(self.data) as view:
            for at in range(0, self.size, CHUNK):
                w.write(view[at : at + CHUNK])
        self._add("open_writer, 8 MiB writes", self.size / MiB, time.perf_counter() - start)

    def upload_bytes(self) -> None:
        start = time.perf_counter()
        self.project.upload_bytes(self.bucket, "up/bytes", self.data)
        self._add("upload_bytes", self.size / MiB, time.perf_counter() - start)

    def go_up(self) -> None:
        run = self.cli.run("cp", "--progress=false", str(self.file), f"sj://{self.bucket}/up/go")
        self._add("uplink cp up", self.size / MiB, run.seconds)

    # reading

    def cat(self, check: bool) -> None:
        """`uplink-py cat` into a pipe (1 MiB, the most Linux grants unprivileged) that this
        process drains into one reused buffer; the content check runs untimed, after."""
        env = {**os.environ, "STORJ_ACCESS": self.access}
        cmd = [sys.executable, "-m", "uplink_py", "cat", f"sj://{self.bucket}/ref/data"]
        read_end, write_end = os.pipe()
        try:
            fcntl.fcntl(write_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), MiB)
        except OSError:
            pass
        buffer, total = bytearray(MiB), 0
        start = time.perf_counter()
        with open(read_end, "rb", buffering=0) as drain:
            proc = subprocess.Popen(cmd, stdout=write_end, stdin=subprocess.DEVNULL, env=env)
            os.close(write_end)
            while count := drain.readinto(buffer):
                total += count
            status = proc.wait()
        seconds = time.perf_counter() - start
        if status != 0 or total != self.size:
            raise RuntimeError(f"uplink-py cat exited {status} after {total} of {self.size} bytes")
        self._add("uplink-py cat | pipe", self.size / MiB, seconds)
        if check:
            out = subprocess.run(cmd, capture_output=True, env=env, check=True).stdout
            if hashlib.sha256(out).hexdigest() != self.sha:
                raise AssertionError("uplink-py cat: bytes differ")

    def go_down(self, check: bool) -> None:
        out = self.tmp / "down.bin"
        run = self.cli.run("cp", "--progress=false", f"sj://{self.bucket}/ref/data", str(out))
        self._add("uplink cp down", self.size / MiB, run.seconds)
        if check and hashlib.sha256(out.read_bytes()).hexdigest() != self.sha:
            raise AssertionError("uplink cp down: bytes differ")
        out.unlink()

    # checkpoints

    def torch_save(self) -> None:
        start = time.perf_counter()
        with self.project.open_writer(self.bucket, "up/ckpt") as w:
            self.torch.save(self.state, w)
        self._add("torch.save -> open_writer", self.ckpt_mib, time.perf_counter() - start)

    def torch_load(self, check: bool) -> None:
        start = time.perf_counter()
        with self.project.open_reader(self.bucket, "ref/ckpt") as r:
            loaded = self.torch.load(io.BufferedReader(r, buffer_size=CHUNK), weights_only=True)
        self._add("torch.load <- open_reader", self.ckpt_mib, time.perf_counter() - start)
        if check and any(not self.torch.equal(loaded[k], v) for k, v in self.state.items()):
            raise AssertionError("torch.load: tensors differ")

    def go_ckpt_up(self) -> None:
        run = self.cli.run("cp", "--progress=false", str(self.ckpt), f"sj://{self.bucket}/up/go-ckpt")
        self._add("uplink cp checkpoint up", self.ckpt_mib, run.seconds)

    def go_ckpt_down(self) -> None:
        out = self.tmp / "ckpt.out"
        run = self.cli.run("cp", "--progress=false", f"sj://{self.bucket}/ref/ckpt", str(out))
        self._add("uplink cp checkpoint down", self.ckpt_mib, run.seconds)
        out.unlink()

    def run(self, repeats: int) -> None:
        for r in range(repeats):
            first = r == 0
            steps: list[Callable[[], None]] = [
                self.writer, self.upload_bytes, self.go_up, lambda: self.cat(first), lambda: self.go_down(first),
                self.torch_save, lambda: self.torch_load(first), self.go_ckpt_up, self.go_ckpt_down,
            ]
            random.Random(r).shuffle(steps)
            log(f"repeat {r + 1}/{repeats}")
            for step in steps:
                step()


def summarize(s: Streams) -> dict[str, float]:
    f = {k: v.median for k, v in s.figures.items()}
    return {
        "writer_ratio_vs_upload_bytes": f["open_writer, 8 MiB writes"] / f["upload_bytes"],
        "writer_ratio_vs_go_cp": f["open_writer, 8 MiB writes"] / f["uplink cp up"],
        "cat_pipe_ratio_vs_go_cp": f["uplink-py cat | pipe"] / f["uplink cp down"],
        "torch_save_ratio_vs_go_cp": f["torch.save -> open_writer"] / f["uplink cp checkpoint up"],
        "torch_load_ratio_vs_go_cp": f["torch.load <- open_reader"] / f["uplink cp checkpoint down"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    load_start = [round(x, 2) for x in os.getloadavg()]
    net = network.load()
    from uplink_py import Uplink

    with Uplink().parse_access(net.access).open_project() as project, workspace(project, "streams") as (bucket, tmp):
        config = tmp / "uplink-config"
        config.mkdir()
        cli = GoCLI(net.uplink_cli, net.access, str(config))
        log(f"{args.size_mib} MiB, {args.repeats} repeats, profile {net.profile}")
        s = Streams(project, cli, net.access, bucket, tmp, args.size_mib * MiB)
        s.run(args.repeats)
        summary = summarize(s)
    meta = {**machine(), "profile": net.profile, "size_mib": args.size_mib, "repeats": args.repeats,
            "checkpoint_mib": round(s.ckpt_mib, 1), "go_cli_version": cli.version(),
            "loadavg_start": load_start, "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
    print(f"\nfile objects and checkpoints: {args.size_mib} MiB, profile {net.profile}, {args.repeats} repeats, "
          f"load {load_start[0]} -> {meta['loadavg_end'][0]}")
    for name, fig in s.figures.items():
        print(f"  {name:<30} {fig.median:8.1f} MiB/s  [{fig.min:.1f}-{fig.max:.1f}]")
    for key, value in summary.items():
        print(f"  {key:<30} {value:6.2f}")
    if args.json:
        print(json.dumps({**summary, "figures": {k: v.summary() for k, v in s.figures.items()}, "meta": meta},
                         sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
