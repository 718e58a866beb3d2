#!/usr/bin/env python3
"""uplink_py next to the Go `uplink` CLI, on the same local network and the same data.

    scripts/testnet up [--profile wan]
    python bench/run.py [--quick] [--json] [--profile loopback|wan]

Measures, in one run (see BENCHMARKS.md for a full run and how to read it):
  * one large object (256 MiB; 64 MiB with --quick), down and up, MiB/s:
    uplink_py single stream (max_concurrency=1), uplink_py parallel (best of a few
    max_concurrency/part_size settings), the Go library itself (bench/golib: the same
    storj.io/uplink, timed around the call on an open project as uplink_py is: the
    limit of a binding), Go `uplink cp` default, and Go `uplink cp --parallelism N` at
    its best N among 1, 2, 4, 8 (the CLI's time is its whole process: start, dial, exit);
  * many small objects (1000 x 64 KiB; 200 with --quick), objects/s: uplink_py
    upload_many/download_many at its best max_concurrency vs Go `uplink cp --recursive
    --transfers N` at its best N;
  * ObjectLoader over the small objects vs a sequential download loop, objects/s;
  * memory while moving the large object from/to numpy: tracemalloc peak and RSS peak,
    single stream, parallel and ObjectLoader, each beside its byte budget;
  * stat_object latency and time to first byte (uplink_py and the Go library), p50/p99;
  * for each side, the fraction of the limit it reaches: the line rate of the nodes its
    segments in flight use (wan), or the machine's cores at its CPU cost per MiB.
Each figure is repeated (3 runs in full mode, 2 with --quick); the variants of one
repeat run interleaved, so drift of the machine hits them alike. The table shows
median [min-max]; --json prints one JSON object as the last line.

The network comes from the STORJ_TEST_* variables, else from `scripts/testnet env`.
The bucket and the temporary files are removed at the end, also after an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import network  # noqa: E402
from golang_cli import GoCLI  # noqa: E402
from golib import GoLib  # noqa: E402
from measure import Figure, MemoryPeak, clock, memory_peak, percentile  # noqa: E402
from network import Shape  # noqa: E402

MiB = 1024 * 1024
KiB = 1024
SEGMENT = 64 * MiB  # uplink's segment size
UPLOAD_SEGMENTS = 10  # segments uplink uploads at once from one stream (maximum_concurrent_segments)
LOADER_BUDGET = 4 * MiB  # max_bytes_in_flight of the ObjectLoader memory probe


@dataclass(frozen=True)
class Plan:
    name: str
    large_size: int
    small_count: int
    small_size: int
    repeats: int
    stat_calls: int  # stat_object calls per repeat
    ttfb_calls: int  # downloads begun for time to first byte, per repeat and side
    sequential_count: int  # objects of the sequential loop (a per-object rate: the loader's reference)
    go_parallelism: tuple[int, ...] = (1, 2, 4, 8)
    transfers: tuple[int, ...] = (8, 16, 32)  # Go --transfers and uplink_py max_concurrency for many objects

    @property
    def memory_parallel(self) -> tuple[int, int]:
        """The (max_concurrency, part_size) of the parallel memory probe."""
        return 4, _part(self.large_size, 4)

    def py_parallel(self) -> list[tuple[int, int]]:
        """The (max_concurrency, part_size) settings tried for uplink_py parallel."""
        settings = [(4, 64 * MiB), (2, _part(self.large_size, 2)), (4, _part(self.large_size, 4)),
                    (8, _part(self.large_size, 8))]
        seen: list[tuple[int, int]] = []
        for s in settings:
            if s not in seen and -(-self.large_size // s[1]) > 1:  # more than one part, else it is single stream
                seen.append(s)
        return seen


def _part(size: int, parts: int) -> int:
    """size/parts rounded up to a MiB, at least 5 MiB (Storj's smallest part but the last)."""
    return max(5 * MiB, -(-(-(-size // parts)) // MiB) * MiB)


PLANS = {
    "full": Plan("full", 256 * MiB, 1000, 64 * KiB, repeats=3, stat_calls=300, ttfb_calls=100, sequential_count=200),
    "quick": Plan("quick", 64 * MiB, 200, 64 * KiB, repeats=2, stat_calls=200, ttfb_calls=40, sequential_count=100),
    # tiny, for the test that keeps the harness from rotting (tests/test_bench.py)
    "smoke": Plan("smoke", 12 * MiB, 20, 64 * KiB, repeats=1, stat_calls=20, ttfb_calls=5, sequential_count=10,
                  go_parallelism=(1, 2), transfers=(8,)),
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ setup and cleanup


@contextmanager
def workspace(project, prefix: str) -> Iterator[tuple[str, Path]]:  # type: ignore[no-untyped-def]
    """A bucket and a temp dir (in /dev/shm when there is one: file I/O of the CLI stays cheap)."""
    root = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    tmp = Path(tempfile.mkdtemp(prefix="uplink-py-bench-", dir=root))
    bucket = f"{prefix}-{secrets.token_hex(5)}"
    made = False
    try:
        project.create_bucket(bucket)
        made = True
        yield bucket, tmp
    finally:
        # Ctrl-C again during cleanup must not leave the bucket: ignore it meanwhile.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            if made:
                log(f"cleanup: deleting bucket {bucket}")
                try:
                    project.delete_bucket_with_objects(bucket)
                except Exception as exc:  # report, still remove the files
                    log(f"cleanup: could not delete bucket {bucket}: {exc}")
            shutil.rmtree(tmp, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, previous)


def _terminate(signum, frame):  # type: ignore[no-untyped-def]
    raise KeyboardInterrupt(f"signal {signum}")


# ------------------------------------------------------------------ the measurements


class Bench:
    def __init__(self, plan: Plan, project, cli: GoCLI, lib: GoLib, bucket: str, tmp: Path,  # type: ignore[no-untyped-def]
                 shape: Shape | None) -> None:
        self.plan = plan
        self.shape = shape
        self.project = project
        self.cli = cli
        self.lib = lib
        self.bucket = bucket
        self.tmp = tmp
        self.figures: dict[str, Figure] = {}
        self.go_rss: dict[str, int] = {}
        self.cpu: dict[str, Figure] = {}  # client CPU ms per MiB moved, by figure name
        self.memory: list[dict[str, object]] = []
        rng = np.random.default_rng(12345)
        log(f"plan {plan.name}: large {plan.large_size // MiB} MiB, {plan.small_count} x "
            f"{plan.small_size // KiB} KiB, {plan.repeats} repeats")
        # the same bytes for everyone: numpy arrays for uplink_py, files for the CLI
        self.large = rng.integers(0, 256, plan.large_size, dtype=np.uint8)
        self.large_file = tmp / "large.bin"
        self.large.tofile(self.large_file)
        self.large_sha256 = hashlib.sha256(self.large).hexdigest()
        self.small = rng.integers(0, 256, plan.small_count * plan.small_size, dtype=np.uint8)
        self.small_keys = [f"obj-{i:05d}" for i in range(plan.small_count)]
        self.small_dir = tmp / "small"
        self.small_dir.mkdir()
        for i, key in enumerate(self.small_keys):
            self._small_view(i).tofile(self.small_dir / key)
        self.target = np.ones(plan.large_size, dtype=np.uint8)  # touched: RSS deltas exclude it

    def _small_view(self, i: int) -> np.ndarray:
        n = self.plan.small_size
        return self.small[i * n : (i + 1) * n]

    def fig(self, name: str, unit: str) -> Figure:
        return self.figures.setdefault(name, Figure(unit))

    # --- reference objects, that every download reads

    def upload_references(self) -> None:
        log("uploading the reference objects")
        self.project.upload_bytes(self.bucket, "ref/large", self.large, max_concurrency=1)
        self.project.upload_many(
            self.bucket, [(f"ref-small/{k}", self._small_view(i)) for i, k in enumerate(self.small_keys)],
            max_concurrency=16,
        )

    # --- one large object

    def _mibps(self, seconds: float) -> float:
        return self.plan.large_size / MiB / seconds

    def _add(self, name: str, seconds: float, cpu: float) -> None:
        self.fig(name, "MiB/s").add(self._mibps(seconds))
        self.cpu.setdefault(name, Figure("CPU ms/MiB")).add(cpu * 1000 / (self.plan.large_size / MiB))

    def _check_target(self, what: str) -> None:
        if not np.array_equal(self.target, self.large):
            raise AssertionError(f"{what}: downloaded bytes differ from the uploaded ones")
        self.target.fill(1)

    def _py_down(self, name: str, check: bool, **kw: int) -> None:
        with clock() as c:
            n = self.project.download_into(self.bucket, "ref/large", self.target, **kw)
        self._add(name, c.seconds, c.cpu)
        if n != self.plan.large_size:
            raise AssertionError(f"{name}: {n} bytes, want {self.plan.large_size}")
        if check:
            self._check_target(name)

    def _py_up(self, name: str, key: str, **kw: int) -> None:
        with clock() as c:
            info = self.project.upload_bytes(self.bucket, key, self.large, **kw)
        self._add(name, c.seconds, c.cpu)
        if info.system.content_length != self.plan.large_size:
            raise AssertionError(f"{name}: committed {info.system.content_length} bytes")

    def _go_down(self, name: str, check: bool, *flags: str) -> None:
        out = self.tmp / "large.out"
        run = self.cli.run("cp", "--progress=false", *flags, f"sj://{self.bucket}/ref/large", str(out))
        self._add(name, run.seconds, run.cpu_seconds)
        self.go_rss[name] = max(self.go_rss.get(name, 0), run.max_rss_bytes)
        if check and not np.array_equal(np.fromfile(out, dtype=np.uint8), self.large):
            raise AssertionError(f"{name}: downloaded file differs")
        out.unlink()

    def _go_up(self, name: str, key: str, *flags: str) -> None:
        run = self.cli.run("cp", "--progress=false", *flags, str(self.large_file), f"sj://{self.bucket}/{key}")
        self._add(name, run.seconds, run.cpu_seconds)
        self.go_rss[name] = max(self.go_rss.get(name, 0), run.max_rss_bytes)

    def _lib_down(self, check: bool) -> None:
        run = self.lib.run("down", self.bucket, "ref/large", size=self.plan.large_size)
        self._add("go lib down", run.seconds, run.cpu_seconds)
        self.go_rss["go lib down"] = max(self.go_rss.get("go lib down", 0), run.max_rss_bytes)
        if check and run.sha256 != self.large_sha256:
            raise AssertionError("go lib down: downloaded bytes differ")

    def _lib_up(self) -> None:
        run = self.lib.run("up", self.bucket, "up/go-lib", file=self.large_file)
        self._add("go lib up", run.seconds, run.cpu_seconds)
        self.go_rss["go lib up"] = max(self.go_rss.get("go lib up", 0), run.max_rss_bytes)

    def large_object(self, repeat: int) -> None:
        plan = self.plan
        first = repeat == 0
        steps: list[Callable[[], None]] = []
        for label, kw in [("py single", {"max_concurrency": 1})] + [
            (f"py parallel c={c} part={p // MiB}MiB", {"max_concurrency": c, "part_size": p})
            for c, p in plan.py_parallel()
        ]:
            key = "up/" + label.replace(" ", "-").replace("=", "")
            steps.append(lambda label=label, kw=kw: self._py_down(f"{label} down", first, **kw))
            steps.append(lambda label=label, kw=kw, key=key: self._py_up(f"{label} up", key, **kw))
        steps.append(lambda: self._lib_down(first))
        steps.append(self._lib_up)
        for n in plan.go_parallelism:
            flags = () if n == 1 else ("--parallelism", str(n))
            steps.append(lambda n=n, flags=flags: self._go_down(_go_name(n, "down"), first, *flags))
            steps.append(lambda n=n, flags=flags: self._go_up(_go_name(n, "up"), f"up/go-p{n}", *flags))
        _run_shuffled(steps, repeat)

    # --- many small objects

    def small_objects(self, repeat: int) -> None:
        steps: list[Callable[[], None]] = []
        for n in self.plan.transfers:
            steps += [
                lambda n=n: self._py_many_down(n, repeat == 0),
                lambda n=n: self._go_many_down(n, repeat == 0),
                lambda n=n: self._py_many_up(n),
                lambda n=n: self._go_many_up(n),
                lambda n=n: self._loader(n, repeat == 0),
            ]
        steps.append(lambda: self._sequential(repeat == 0))
        _run_shuffled(steps, repeat)

    def _loader(self, n: int, check: bool) -> None:
        from uplink_py.loader import ObjectLoader

        keys = [f"ref-small/{k}" for k in self.small_keys]
        start = time.perf_counter()
        got = 0
        for i, (_, data) in enumerate(ObjectLoader(self.project, self.bucket, keys, max_concurrency=n)):
            if check and not np.array_equal(data, self._small_view(i)):
                raise AssertionError(f"ObjectLoader: object {i} differs")
            got += 1
        self.fig(f"py ObjectLoader c={n}", "objects/s").add(got / (time.perf_counter() - start))

    def _sequential(self, check: bool) -> None:
        n = min(self.plan.sequential_count, self.plan.small_count)
        buf = np.empty(self.plan.small_size, dtype=np.uint8)
        start = time.perf_counter()
        for i, k in enumerate(self.small_keys[:n]):
            self.project.download_into(self.bucket, f"ref-small/{k}", buf)
            if check and not np.array_equal(buf, self._small_view(i)):
                raise AssertionError(f"sequential loop: object {i} differs")
        self.fig("py sequential download loop", "objects/s").add(n / (time.perf_counter() - start))

    def _py_many_down(self, n: int, check: bool) -> None:
        start = time.perf_counter()
        got = self.project.download_many(self.bucket, [f"ref-small/{k}" for k in self.small_keys], max_concurrency=n)
        self.fig(f"py download_many c={n}", "objects/s").add(self.plan.small_count / (time.perf_counter() - start))
        if check and any(g != self._small_view(i).tobytes() for i, g in enumerate(got)):
            raise AssertionError("download_many: bytes differ")

    def _go_many_down(self, n: int, check: bool) -> None:
        out = self.tmp / "small.out"
        run = self.cli.run("cp", "--progress=false", "--recursive", "--transfers", str(n),
                           f"sj://{self.bucket}/ref-small/", f"{out}/")
        self.fig(f"go cp -r --transfers {n} down", "objects/s").add(self.plan.small_count / run.seconds)
        if check:
            files = sorted(os.listdir(out))
            if files != self.small_keys or any(
                (out / k).read_bytes() != self._small_view(i).tobytes() for i, k in enumerate(self.small_keys)
            ):
                raise AssertionError("go cp -r down: files differ")
        shutil.rmtree(out)

    def _py_many_up(self, n: int) -> None:
        items = [(f"up-small-py{n}/{k}", self._small_view(i)) for i, k in enumerate(self.small_keys)]
        start = time.perf_counter()
        self.project.upload_many(self.bucket, items, max_concurrency=n)
        self.fig(f"py upload_many c={n}", "objects/s").add(self.plan.small_count / (time.perf_counter() - start))

    def _go_many_up(self, n: int) -> None:
        run = self.cli.run("cp", "--progress=false", "--recursive", "--transfers", str(n),
                           f"{self.small_dir}/", f"sj://{self.bucket}/up-small-go{n}/")
        self.fig(f"go cp -r --transfers {n} up", "objects/s").add(self.plan.small_count / run.seconds)

    # --- memory while moving the large object from/to numpy

    def memory_probe(self) -> None:
        size = self.plan.large_size
        c, part = self.plan.memory_parallel
        settings = {"single": {"max_concurrency": 1}, "parallel": {"max_concurrency": c, "part_size": part}}
        for label, kw in settings.items():
            with memory_peak() as up:
                self.project.upload_bytes(self.bucket, f"mem/{label}", self.large, **kw)
            self._record_memory(f"{label} up", up)
            with memory_peak() as down:
                self.project.download_into(self.bucket, "ref/large", self.target, **kw)
            self._record_memory(f"{label} down", down)
            self._check_target(f"memory {label} down")
        from uplink_py.loader import ObjectLoader

        keys = [f"ref-small/{k}" for k in self.small_keys]
        with memory_peak() as loader:
            for _ in ObjectLoader(self.project, self.bucket, keys, max_concurrency=16, max_bytes_in_flight=LOADER_BUDGET):
                pass
        self._record_memory("ObjectLoader", loader)

    def _record_memory(self, what: str, peak: MemoryPeak) -> None:
        self.fig(f"tracemalloc peak {what}", "bytes").add(peak.tracemalloc_peak_bytes)
        self.fig(f"RSS peak delta {what}", "bytes").add(peak.rss_peak_delta_bytes)
        if not peak.rss_reset:
            self.memory.append({"warning": "VmHWM could not be reset: RSS figures are peaks since start"})

    # --- stat_object latency

    def stat_latency(self) -> None:
        samples = []
        for _ in range(self.plan.stat_calls):
            start = time.perf_counter()
            self.project.stat_object(self.bucket, "ref/large")
            samples.append((time.perf_counter() - start) * 1000)
        self.fig("stat_object p50", "ms").add(percentile(samples, 50))
        self.fig("stat_object p99", "ms").add(percentile(samples, 99))
        self._record_ttfb("py", self._py_ttfb())
        self._record_ttfb("go lib", self.lib.run("ttfb", self.bucket, "ref/large", count=self.plan.ttfb_calls).ttfb_ms)

    def _py_ttfb(self) -> list[float]:
        """download_object until its first byte is read, as golib -op ttfb does."""
        samples, one = [], bytearray(1)
        for _ in range(self.plan.ttfb_calls):
            start = time.perf_counter()
            download = self.project.download_object(self.bucket, "ref/large")
            try:
                if download.readinto(one) != 1:
                    raise AssertionError("time to first byte: nothing read")
                samples.append((time.perf_counter() - start) * 1000)
            finally:
                download.close()
        return samples

    def _record_ttfb(self, side: str, samples: list[float]) -> None:
        self.fig(f"{side} time to first byte p50", "ms").add(percentile(samples, 50))
        self.fig(f"{side} time to first byte p99", "ms").add(percentile(samples, 99))

    def run(self) -> None:
        self.upload_references()
        for r in range(self.plan.repeats):
            log(f"repeat {r + 1}/{self.plan.repeats}: large object")
            self.large_object(r)
            log(f"repeat {r + 1}/{self.plan.repeats}: small objects")
            self.small_objects(r)
            log(f"repeat {r + 1}/{self.plan.repeats}: memory, stat_object")
            self.memory_probe()
            self.stat_latency()


def _run_shuffled(steps: list[Callable[[], None]], repeat: int) -> None:
    """Runs the variants in an order that changes with each repeat (seeded: runs are comparable),
    so that no variant always follows the same one (after a burst of uploads the network's
    background work slows whatever comes next)."""
    random.Random(repeat).shuffle(steps)
    for step in steps:
        step()


def _go_name(n: int, direction: str) -> str:
    return f"go cp {direction}" if n == 1 else f"go cp -p {n} {direction}"


# ------------------------------------------------------------------ report


def best(figures: dict[str, Figure], names: list[str]) -> tuple[str, Figure]:
    name = max(names, key=lambda k: figures[k].median)
    return name, figures[name]


def summarize(bench: Bench) -> dict[str, object]:
    f = bench.figures
    plan = bench.plan
    out: dict[str, object] = {}
    picks: dict[str, str] = {}
    for d in ("down", "up"):
        single = f[f"py single {d}"]
        par_names = [k for k in f if k.startswith("py parallel") and k.endswith(f" {d}")] or [f"py single {d}"]
        par_name, par = best(f, par_names)
        go_default = f[_go_name(1, d)]
        go_name, go_best = best(f, [_go_name(n, d) for n in plan.go_parallelism])
        picks[f"py_parallel_{d}"] = par_name
        picks[f"go_best_{d}"] = go_name
        word = "download" if d == "down" else "upload"
        out[f"{word}_ratio_vs_go"] = single.median / go_default.median
        out[f"{word}_ratio_vs_go_lib"] = single.median / f[f"go lib {d}"].median
        out[f"{word}_go_lib_mibps"] = f[f"go lib {d}"].median
        out[f"{word}_parallel_ratio_vs_go_best"] = par.median / go_best.median
        out[f"{word}_parallel_ratio_vs_go_default"] = par.median / go_default.median
        out[f"{word}_single_mibps"] = single.median
        out[f"{word}_parallel_mibps"] = par.median
        out[f"{word}_go_default_mibps"] = go_default.median
        out[f"{word}_go_best_mibps"] = go_best.median
    small = {}
    for d, py_word in (("down", "download_many"), ("up", "upload_many")):
        py_name, py = best(f, [f"py {py_word} c={n}" for n in plan.transfers])
        go_name, go = best(f, [f"go cp -r --transfers {n} {d}" for n in plan.transfers])
        picks[f"py_small_{d}"] = py_name
        picks[f"go_small_{d}"] = go_name
        small[d] = py.median / go.median
        out[f"small_objects_{'download' if d == 'down' else 'upload'}_ratio_vs_go"] = small[d]
        out[f"small_objects_{'download' if d == 'down' else 'upload'}_py_per_s"] = py.median
        out[f"small_objects_{'download' if d == 'down' else 'upload'}_go_per_s"] = go.median
    out["small_objects_ratio_vs_go"] = min(small.values())  # the weaker direction
    loader_name, loader = best(f, [f"py ObjectLoader c={n}" for n in plan.transfers])
    picks["py_loader"] = loader_name
    out["loader_ratio_vs_sequential"] = loader.median / f["py sequential download loop"].median
    for q in ("p50", "p99"):
        py_ttfb, go_ttfb = f[f"py time to first byte {q}"].median, f[f"go lib time to first byte {q}"].median
        out[f"ttfb_{q}_ms"], out[f"ttfb_go_lib_{q}_ms"] = py_ttfb, go_ttfb
        out[f"ttfb_{q}_vs_go_lib"] = py_ttfb / go_ttfb  # above 1: uplink_py is slower to its first byte
    out["memory_vs_budget"] = memory_vs_budget(bench)
    out["limit_fraction"] = {d: {name: limit_fraction(bench, name, d) for name in
                                 (f"py single {d}", picks[f"py_parallel_{d}"], f"go lib {d}", _go_name(1, d),
                                  picks[f"go_best_{d}"])} for d in ("down", "up")}
    tm = [k for k in f if k.startswith("tracemalloc peak")]
    rss = [k for k in f if k.startswith("RSS peak delta")]
    out["tracemalloc_peak_bytes"] = int(max(f[k].max for k in tm))
    out["rss_peak_delta_bytes"] = int(max(f[k].max for k in rss))
    out["stat_object_p50_ms"] = f["stat_object p50"].median
    out["stat_object_p99_ms"] = f["stat_object p99"].median
    out["picks"] = picks
    return out


def segments_in_flight(plan: Plan, name: str, direction: str) -> int:
    """Segments one variant moves at once: a download reads its segments one after the
    other (per part), an upload writes up to UPLOAD_SEGMENTS of one stream at once; parts
    run max_concurrency at a time (uplink_py), --parallelism at a time in parts of 64 MiB
    (the CLI's --parallelism-chunk-size)."""
    size = plan.large_size
    if m := re.search(r"parallel c=(\d+) part=(\d+)MiB", name):
        streams, part = int(m.group(1)), int(m.group(2)) * MiB
    elif m := re.search(r"go cp -p (\d+)", name):
        streams, part = int(m.group(1)), SEGMENT
    else:
        streams, part = 1, size
    parts = -(-size // part)
    per_part = 1 if direction == "down" else min(UPLOAD_SEGMENTS, -(-min(part, size) // SEGMENT))
    return min(streams, parts) * per_part


def limit_fraction(bench: Bench, name: str, direction: str) -> dict[str, object]:
    """The fraction of its limit a variant reaches: the line rate its segments in flight
    can use (Shape.segment_mibps; none on loopback), or the machine's cores at the
    variant's own CPU cost per MiB, whichever is lower."""
    mibps, cpu = bench.figures[name].median, bench.cpu[name].median
    cpu_limit = (os.cpu_count() or 1) * 1000 / cpu
    seg = bench.shape.segment_mibps if bench.shape else None
    net_limit = segments_in_flight(bench.plan, name, direction) * seg if seg else None
    limit, binds = (net_limit, "network") if net_limit is not None and net_limit < cpu_limit else (cpu_limit, "cpu")
    return {"fraction": round(mibps / limit, 3), "limit_mibps": round(limit, 1), "binds": binds}


def memory_vs_budget(bench: Bench) -> dict[str, dict[str, int]]:
    """RSS growth of each memory probe beside its byte budget: what the transfer must
    hold (a download writes into the caller's array: nothing; an upload: the segments
    uplink buffers in flight, 64 MiB each; the loader: max_bytes_in_flight). The excess
    is the constant the README states."""
    size, f = bench.plan.large_size, bench.figures
    _, part = bench.plan.memory_parallel
    budgets = {
        "single down": 0, "parallel down": 0,
        "single up": min(size, UPLOAD_SEGMENTS * SEGMENT),
        "parallel up": min(size, bench.plan.memory_parallel[0] * min(part, SEGMENT)),
        "ObjectLoader": LOADER_BUDGET,
    }
    out = {}
    for what, budget in budgets.items():
        rss = int(f[f"RSS peak delta {what}"].max)
        out[what] = {"rss_peak_delta_bytes": rss, "budget_bytes": budget, "excess_bytes": rss - budget}
    return out


def _fmt(value: float, unit: str) -> str:
    if unit == "bytes":
        return f"{value / KiB:,.0f} KiB" if value < 10 * MiB else f"{value / MiB:,.1f} MiB"
    return f"{value:,.1f}" if value >= 10 else f"{value:,.2f}"


def _table_order(name: str) -> tuple[object, ...]:
    """Downloads before uploads, uplink_py before the CLI, settings by number."""
    direction = 1 if name.endswith(" up") or name.startswith("py upload") else 0
    group = next((i for i, p in enumerate(("py single", "py parallel", "py", "go lib", "go cp -p", "go cp"))
                  if name.startswith(p)), 9)
    if name.startswith("go cp -r"):
        group = 6
    elif name.startswith(("tracemalloc", "RSS")):
        direction, group = (0 if name.startswith("tracemalloc") else 1), (0 if "single" in name else 1)
    elif name.startswith("go cp") and not name.startswith("go cp -p"):
        group = 4  # the default before -p N
    numbers = tuple(int(x) for x in re.findall(r"\d+", name))
    return (direction, group, numbers, name)


def print_table(bench: Bench, summary: dict[str, object], meta: dict[str, object]) -> None:
    plan = bench.plan
    print(f"\nuplink_py vs Go uplink CLI: profile {meta['profile']}, plan {plan.name}, "
          f"large object {plan.large_size // MiB} MiB, "
          f"{plan.small_count} x {plan.small_size // KiB} KiB objects, {plan.repeats} repeat(s), "
          "median [min-max]")
    print(f"python {meta['python']}, uplink CLI {meta['go_cli_version']}, {meta['cpu']} x{meta['cores']}, "
          f"load average {meta['loadavg_start'][0]} at start, {meta['loadavg_end'][0]} at end\n")
    width = max(len(k) for k in bench.figures) + 2
    sections = [
        ("one large object (MiB/s)", lambda k: k.startswith(("py single", "py parallel", "go lib", "go cp"))
         and "-r" not in k and "first byte" not in k),
        ("many small objects (objects/s)", lambda k: "many" in k or "-r" in k or "ObjectLoader c=" in k
         or "sequential" in k),
        ("memory (from/to numpy)", lambda k: k.startswith(("tracemalloc", "RSS"))),
        ("latency (ms)", lambda k: k.startswith("stat_object") or "first byte" in k),
    ]
    for title, keep in sections:
        print(f"{title}")
        for name in sorted(bench.figures, key=_table_order):
            fig = bench.figures[name]
            if keep(name):
                extra = ""
                if name in bench.cpu:
                    extra += f"   client CPU {bench.cpu[name].median:5.1f} ms/MiB"
                if name in bench.go_rss:
                    extra += f", {'process' if name.startswith('go lib') else 'CLI'} peak RSS {bench.go_rss[name] / MiB:,.0f} MiB"
                print(f"  {name:<{width}} {_fmt(fig.median, fig.unit):>12}  "
                      f"[{_fmt(fig.min, fig.unit)}-{_fmt(fig.max, fig.unit)}]{extra}")
        print()
    print("ratios (medians; parallel and small: each side at its best setting)")
    for key, value in summary.items():
        if key.endswith("ratio_vs_go") or "_ratio_vs_go_" in key:
            print(f"  {key:<42} {value:6.2f}")
    print(f"  {'loader_ratio_vs_sequential':<42} {summary['loader_ratio_vs_sequential']:6.2f}")
    print(f"  {'ttfb_p50_vs_go_lib (above 1: slower)':<42} {summary['ttfb_p50_vs_go_lib']:6.2f}")
    print(f"  {'ttfb_p99_vs_go_lib':<42} {summary['ttfb_p99_vs_go_lib']:6.2f}")
    for key, value in summary["picks"].items():  # type: ignore[union-attr]
        print(f"  best {key:<37} {value}")
    print("\nfraction of the limit (the nodes' line rate for the segments in flight, or the cores at its CPU cost)")
    for d, sides in summary["limit_fraction"].items():  # type: ignore[union-attr]
        for name, lim in sides.items():
            print(f"  {name:<{width}} {lim['fraction']:5.2f} of {lim['limit_mibps']:7.1f} MiB/s ({lim['binds']})")
    print("\nRSS growth beside the byte budget")
    for what, m in summary["memory_vs_budget"].items():  # type: ignore[union-attr]
        print(f"  {what:<14} {m['rss_peak_delta_bytes'] / MiB:7.1f} MiB, budget {m['budget_bytes'] / MiB:6.1f} MiB, "
              f"excess {m['excess_bytes'] / MiB:6.1f} MiB")
    print()


def machine() -> dict[str, object]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"python": platform.python_version(), "cpu": cpu, "cores": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="64 MiB, 200 objects, 2 repeats (fits in 5 minutes)")
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)  # tiny: the harness test
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--profile", choices=("loopback", "wan"),
                        help="the network profile expected (scripts/testnet up --profile NAME); recorded in the output")
    args = parser.parse_args(argv)
    plan = PLANS["smoke" if args.smoke else "quick" if args.quick else "full"]

    signal.signal(signal.SIGTERM, _terminate)
    started = time.perf_counter()
    load_start = [round(x, 2) for x in os.getloadavg()]
    if load_start[0] > (os.cpu_count() or 1):
        log(f"warning: load average {load_start[0]} above {os.cpu_count()} cores: other work will skew the figures")
    net = network.load()
    if args.profile and args.profile != net.profile:
        raise SystemExit(f"bench: the network runs profile {net.profile!r}, not {args.profile!r}: "
                         f"scripts/testnet down && scripts/testnet up --profile {args.profile}")
    import uplink_py
    from uplink_py import Uplink

    access = Uplink().parse_access(net.access)
    with access.open_project() as project, workspace(project, "bench") as (bucket, tmp):
        config = tmp / "uplink-config"
        config.mkdir()
        cli = GoCLI(net.uplink_cli, net.access, str(config))
        lib = GoLib(net.access)
        meta = {**machine(), "go_cli_version": cli.version(), "uplink_py": uplink_py.__version__, "plan": plan.name,
                "bucket": bucket, "profile": net.profile}
        shape = net.shape()
        meta["rs"] = shape.rs if shape else None
        bench = Bench(plan, project, cli, lib, bucket, tmp, shape)
        bench.run()
        summary = summarize(bench)
    meta["seconds"] = round(time.perf_counter() - started, 1)
    meta["loadavg_start"] = load_start
    meta["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print_table(bench, summary, meta)
    if args.json:
        doc = {**summary, "figures": {k: v.summary() for k, v in bench.figures.items()},
               "go_cli_peak_rss_bytes": bench.go_rss,
               "client_cpu_ms_per_mib": {k: v.summary() for k, v in bench.cpu.items()}, "meta": meta}
        print(json.dumps(doc, sort_keys=True))
    log(f"done in {meta['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
