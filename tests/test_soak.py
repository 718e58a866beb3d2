"""Leaks: a soak of many thousand mixed operations (stat, list, small and large uploads and
downloads, multipart, iterators, shares, and calls that fail) keeps RSS flat.

The soak runs in a child process of its own (so pytest's memory does not blur the figure):
a warm-up first (Go's heap, connection pools and Python's caches reach their working
size), then RSS is sampled through the measured operations. The test asserts a generous
bound on the growth after the warm-up and prints the figures in the run's summary.

The CI size is UPLINK_PY_SOAK_OPS (default 3000 operations, well under a minute here). A
longer soak, with the figures as JSON:

    eval "$(scripts/testnet env)"
    python tests/test_soak.py --ops 50000 --bucket <existing bucket>     # or:
    UPLINK_PY_SOAK_OPS=50000 python -m pytest tests/test_soak.py
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import time
from statistics import median
from pathlib import Path
from typing import Any

import pytest

MiB = 1024 * 1024


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def soak(grant: str, bucket: str, ops: int, warmup: int, seed: int = 7) -> dict[str, Any]:
    """Runs warmup + ops mixed operations; returns counts and RSS figures."""
    import uplink_py
    from uplink_py import DownloadOptions, ListObjectsOptions, Permission, SharePrefix, Uplink
    from uplink_py.errors import InvalidHandleError, StorjException

    rng = random.Random(seed)
    access = Uplink().parse_access(grant)
    project = access.open_project()
    small = [rng.randbytes(rng.choice([0, 10, 1000, 4 * 1024, 40 * 1024])) for _ in range(8)]
    large = rng.randbytes(6 * MiB + 123)
    project.upload_bytes(bucket, "large", large)
    readbuf = bytearray(len(large))
    counts: dict[str, int] = {}
    failures = 0

    def expect_error(call: Any) -> None:
        nonlocal failures
        try:
            call()
        except (StorjException, ValueError, TypeError):
            failures += 1
        else:
            raise AssertionError(f"{call} did not fail")

    def op_stat() -> None:
        assert project.stat_object(bucket, "large").system.content_length == len(large)

    def op_list() -> None:
        assert len(project.list_objects(bucket, ListObjectsOptions(recursive=True, system=True, custom=True))) >= 1
        next(iter(project.list_buckets()))

    def op_iter() -> None:
        for i, _ in enumerate(project.iter_objects(bucket, ListObjectsOptions(prefix="s/", recursive=True))):
            if i == 2:
                break  # an iterator dropped half-way

    def op_small_up() -> None:
        i = rng.randrange(len(small))
        with project.upload_object(bucket, f"s/{i}") as upload:
            upload.set_custom_metadata({"i": str(i)})
            upload.write(small[i])

    def op_small_down() -> None:
        i = rng.randrange(len(small))
        try:
            got = project.download_bytes(bucket, f"s/{i}")
        except uplink_py.errors.ObjectNotFoundError:
            return
        assert got == small[i]

    def op_large_up() -> None:
        project.upload_bytes(bucket, "large", large, part_size=2 * MiB, max_concurrency=3)

    def op_large_down() -> None:
        if rng.random() < 0.5:
            n = project.download_into(bucket, "large", readbuf, part_size=2 * MiB, max_concurrency=3)
            assert n == len(large) and readbuf == large
        else:
            with project.download_object(bucket, "large", DownloadOptions(MiB, 2 * MiB)) as download:
                assert download.readall() == large[MiB: 3 * MiB]

    def op_multipart() -> None:
        upload_id = project.begin_upload(bucket, "mp").upload_id
        for number in (2, 1):
            with project.upload_part(bucket, "mp", upload_id, number) as part:
                part.write(small[number])
        if rng.random() < 0.5:
            project.commit_upload(bucket, "mp", upload_id, {"k": "v"})
        else:
            project.abort_upload(bucket, "mp", upload_id)

    def op_share() -> None:
        shared = access.share(Permission(allow_download=True, allow_list=True), [SharePrefix(bucket, "s/")])
        Uplink().parse_access(shared.serialize())

    def op_fail() -> None:
        which = rng.randrange(7)
        if which == 0:
            expect_error(lambda: project.stat_object(bucket, "missing"))
        elif which == 1:
            expect_error(lambda: project.download_object(bucket, "missing"))
        elif which == 2:
            expect_error(lambda: project.create_bucket(bucket))
        elif which == 3:
            expect_error(lambda: project.stat_bucket("Invalid_Name"))
        elif which == 4:
            expect_error(lambda: Uplink().parse_access("not a grant"))
        elif which == 5:
            upload = project.upload_object(bucket, "aborted")
            upload.write(small[4])
            upload.abort()
            expect_error(lambda: upload.write(b"x"))
            try:
                upload.commit()
            except InvalidHandleError:
                pass
        else:
            expect_error(lambda: project.upload_part(bucket, "mp", "bad upload id", 1))

    weighted = [(op_stat, 14), (op_list, 8), (op_iter, 6), (op_small_up, 16), (op_small_down, 16),
                (op_large_up, 2), (op_large_down, 3), (op_multipart, 4), (op_share, 6), (op_fail, 25)]
    choices = [op for op, weight in weighted for _ in range(weight)]

    def run(count: int) -> None:
        for _ in range(count):
            op = rng.choice(choices)
            op()
            counts[op.__name__] = counts.get(op.__name__, 0) + 1

    start = time.monotonic()
    run(warmup)
    gc.collect()
    base = rss()
    samples = []
    step = max(1, ops // 12)
    for done in range(0, ops, step):
        run(min(step, ops - done))
        gc.collect()
        samples.append(rss())
    seconds = time.monotonic() - start
    third = max(1, len(samples) // 3)
    project.close()
    return {
        "ops": ops, "warmup": warmup, "seconds": round(seconds, 1), "failed_calls": failures, "counts": counts,
        "rss_after_warmup_mib": round(base / MiB, 1), "rss_samples_mib": [round(s / MiB, 1) for s in samples],
        # RSS moves up and down by tens of MiB as Go's GC and the large buffers come and go:
        # a leak shows as a trend, the median of the last third of the samples against the
        # first third's; the peak bounds the swings.
        "growth_mib": round((median(samples[-third:]) - median(samples[:third])) / MiB, 1),
        "peak_over_warmup_mib": round((max(samples) - base) / MiB, 1),
        "uplink_py": uplink_py.__version__,
    }


@pytest.mark.integration
@pytest.mark.timeout(900)
def test_soak_keeps_rss_flat(storj_network: Any, py_bucket: str, request: pytest.FixtureRequest) -> None:
    from conftest import SUMMARY_LINES

    ops = int(os.environ.get("UPLINK_PY_SOAK_OPS", "3000"))
    res = subprocess.run([sys.executable, __file__, "--ops", str(ops), "--bucket", py_bucket],
                         env={**os.environ, "UPLINK_PY_SOAK_ACCESS": storj_network.access},
                         capture_output=True, text=True, timeout=880)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    figures = json.loads(res.stdout.strip().splitlines()[-1])
    request.config.stash.setdefault(SUMMARY_LINES, []).append(
        f"soak: {figures['ops']} ops (+{figures['warmup']} warm-up, {figures['failed_calls']} failing calls) in "
        f"{figures['seconds']} s; RSS after warm-up {figures['rss_after_warmup_mib']} MiB, growth "
        f"{figures['growth_mib']} MiB (median of the last third of the samples over the first third), peak "
        f"{figures['peak_over_warmup_mib']} MiB over the warm-up's; "
        f"samples {figures['rss_samples_mib']}")
    assert sum(figures["counts"].values()) == ops + figures["warmup"] and len(figures["counts"]) == 10
    # Generous: a leak of anything per operation (a 40 KiB object, a 2 MiB range, the
    # uplink-c results of a call) over thousands of operations would exceed it.
    assert figures["growth_mib"] < 16, figures
    assert figures["peak_over_warmup_mib"] < 64, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=0, help="default: ops/5, at least 300")
    parser.add_argument("--bucket", required=True, help="an existing bucket (objects under s/, large, mp)")
    args = parser.parse_args()
    grant = os.environ.get("UPLINK_PY_SOAK_ACCESS") or os.environ["STORJ_TEST_ACCESS"]
    warmup = args.warmup or max(300, args.ops // 5)
    print(json.dumps(soak(grant, args.bucket, args.ops, warmup)))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
