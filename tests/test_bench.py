"""The benchmark harness still runs (bench/run.py), without judging its numbers.

It runs the hidden `--smoke` plan (12 MiB, 20 small objects, one repeat: about 15 s
here), which goes through every code path of `--quick` and `--full` with smaller
sizes; `--quick` itself takes a few minutes, too long for every test run.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from conftest import REPO, StorjNetwork

pytestmark = pytest.mark.integration

RATIOS = (
    "download_ratio_vs_go",
    "upload_ratio_vs_go",
    "download_ratio_vs_go_lib",
    "upload_ratio_vs_go_lib",
    "download_parallel_ratio_vs_go_best",
    "upload_parallel_ratio_vs_go_best",
    "small_objects_ratio_vs_go",
    "loader_ratio_vs_sequential",
    "ttfb_p50_vs_go_lib",
    "ttfb_p99_vs_go_lib",
    "tracemalloc_peak_bytes",
)


def _bench_env(storj_network: StorjNetwork) -> dict[str, str]:
    """The network for a benchmark process."""
    return {
        **os.environ,
        "STORJ_TEST_SATELLITE": storj_network.satellite,
        "STORJ_TEST_API_KEY": storj_network.api_key,
        "STORJ_TEST_PASSPHRASE": storj_network.passphrase,
        "STORJ_TEST_ACCESS": storj_network.access,
        "STORJ_TEST_UPLINK_CLI": storj_network.uplink_cli,
        "STORJ_TEST_NETWORK_DIR": str(storj_network.directory or ""),
    }


def test_bench_smoke_json(storj_network: StorjNetwork) -> None:
    env = _bench_env(storj_network)
    res = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--smoke", "--json"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert res.returncode == 0, f"bench/run.py failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    assert storj_network.access not in res.stdout + res.stderr  # the grant is a secret
    lines = res.stdout.strip().splitlines()
    doc = json.loads(lines[-1])  # the JSON object is the last line
    for key in RATIOS:
        value = doc[key]
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (key, value)
        assert math.isfinite(value) and value > 0, (key, value)
    assert doc["meta"]["plan"] == "smoke"
    for direction, sides in doc["limit_fraction"].items():
        assert direction in ("down", "up") and 4 <= len(sides) <= 5, sides  # the CLI's best may be its default
        assert all(0 < s["fraction"] and s["binds"] in ("cpu", "network") for s in sides.values()), sides
    assert set(doc["memory_vs_budget"]) == {"single down", "parallel down", "single up", "parallel up", "ObjectLoader"}
    assert "download_ratio_vs_go" in res.stdout.split(lines[-1])[0]  # the table came first
    # the run removed its bucket
    assert doc["meta"]["bucket"].startswith("bench-")
    assert doc["meta"]["bucket"] not in [b["Name"] for b in storj_network.ls()]


def test_cli_cp_bench_smoke(storj_network: StorjNetwork) -> None:
    """bench/cli_cp.py at 4 MiB, one repeat: every variant runs, checks its bytes, and
    the ratios come out."""
    env = _bench_env(storj_network)
    res = subprocess.run([sys.executable, str(REPO / "bench" / "cli_cp.py"), "--size-mib", "4", "--repeats", "1",
                          "--json"], env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"bench/cli_cp.py failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    assert storj_network.access not in res.stdout + res.stderr
    doc = json.loads(res.stdout.strip().splitlines()[-1])
    for key in ("cp_up_ratio_vs_go_default", "cp_down_ratio_vs_go_default"):
        assert math.isfinite(doc[key]) and doc[key] > 0, (key, doc[key])
    assert len(doc["figures"]) == 8
