"""What durability costs: download_file with its fsyncs vs the same download without them.

    eval "$(scripts/testnet env)"; python3 bench/fsync_cost.py [--repeats 5]

Runs interleaved on the local network; prints medians with min/max in milliseconds and
the machine's load. The comparison swaps os.fsync for a no-op in this process only.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from contextlib import contextmanager
from collections.abc import Iterator

from measure import Figure

from uplink_py import Uplink

MiB = 1024 * 1024


@contextmanager
def fsync_off() -> Iterator[None]:
    real = os.fsync
    os.fsync = lambda fd: None  # type: ignore[assignment]
    try:
        yield
    finally:
        os.fsync = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", default="1,256", help="object sizes in MiB")
    args = parser.parse_args()
    project = Uplink().parse_access(os.environ["STORJ_TEST_ACCESS"]).open_project()
    bucket = "bench-fsync"
    project.ensure_bucket(bucket)
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(dir=".") as directory:
        for size in (int(s) * MiB for s in args.sizes.split(",")):
            project.upload_bytes(bucket, f"o{size}", os.urandom(size))
            with_sync, without = Figure("ms"), Figure("ms")
            for _ in range(args.repeats):
                for figure, off in ((with_sync, False), (without, True)):
                    target = os.path.join(directory, "t")
                    start = time.perf_counter()
                    if off:
                        with fsync_off():
                            project.download_file(bucket, f"o{size}", target)
                    else:
                        project.download_file(bucket, f"o{size}", target)
                    figure.add((time.perf_counter() - start) * 1000)
                    os.unlink(target)
            cost = with_sync.median - without.median
            print(f"{size // MiB:>4} MiB: with fsync {with_sync.median:8.1f} ms ({with_sync.min:.1f}-{with_sync.max:.1f}), "
                  f"without {without.median:8.1f} ms ({without.min:.1f}-{without.max:.1f}), fsync cost {cost:+.1f} ms")
    project.delete_bucket_with_objects(bucket)
    project.close()
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
