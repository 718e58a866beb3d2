"""The shared local network works for a real client: the Go uplink CLI built from the same pin."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from conftest import ENV_KEYS, StorjNetwork, parse_env, random_bytes, run_testnet

pytestmark = pytest.mark.integration

SEGMENT = 64 * 1024 * 1024  # the uplink's default segment size


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("size", [0, 1, 256 * 1024 + 7, SEGMENT + 4099], ids=["empty", "1B", "256KiB+7", "segment+4099"])
def test_cli_round_trip(storj_network: StorjNetwork, bucket: str, tmp_path: Path, size: int) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(random_bytes(size))
    storj_network.uplink("cp", "--progress=false", str(src), f"sj://{bucket}/dir/object")
    storj_network.uplink("cp", "--progress=false", f"sj://{bucket}/dir/object", str(dst))
    assert dst.stat().st_size == size
    assert sha256(dst) == sha256(src)

    entries = storj_network.ls("--recursive", f"sj://{bucket}")
    assert [(e["key"], e["size"]) for e in entries] == [("dir/object", size)]


def test_cli_ranged_download(storj_network: StorjNetwork, bucket: str, tmp_path: Path) -> None:
    data = random_bytes(1_000_003)
    (tmp_path / "src").write_bytes(data)
    storj_network.uplink("cp", "--progress=false", str(tmp_path / "src"), f"sj://{bucket}/o")
    storj_network.uplink("cp", "--progress=false", "--range", "bytes=12345-99999", f"sj://{bucket}/o", str(tmp_path / "part"))
    assert (tmp_path / "part").read_bytes() == data[12345:100000]


def test_cli_metadata_round_trip(storj_network: StorjNetwork, bucket: str, tmp_path: Path) -> None:
    (tmp_path / "src").write_bytes(b"hello")
    meta = {"content-type": "text/plain", "ünïcode": "välue ✓"}
    storj_network.uplink("cp", "--progress=false", "--metadata", json.dumps(meta), str(tmp_path / "src"), f"sj://{bucket}/m")
    got = json.loads(storj_network.uplink("meta", "get", f"sj://{bucket}/m").stdout)
    assert got == meta


def test_missing_object_is_an_error(storj_network: StorjNetwork, bucket: str, tmp_path: Path) -> None:
    res = storj_network.uplink("cp", "--progress=false", f"sj://{bucket}/nope", str(tmp_path / "x"), check=False)
    assert res.returncode != 0
    assert "not found" in (res.stdout + res.stderr).lower()
    assert not (tmp_path / "x").exists()


def test_read_only_share_cannot_upload(storj_network: StorjNetwork, bucket: str, tmp_path: Path) -> None:
    (tmp_path / "src").write_bytes(b"shared")
    storj_network.uplink("cp", "--progress=false", str(tmp_path / "src"), f"sj://{bucket}/pub/a")
    out = storj_network.uplink("share", "--readonly", "--not-after=+1h", f"sj://{bucket}/pub/").stdout
    restricted = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Access "))
    assert restricted and restricted != storj_network.access

    storj_network.uplink("cp", "--progress=false", f"sj://{bucket}/pub/a", str(tmp_path / "got"), access=restricted)
    assert (tmp_path / "got").read_bytes() == b"shared"
    denied = storj_network.uplink("cp", "--progress=false", str(tmp_path / "src"), f"sj://{bucket}/pub/b",
                                  access=restricted, check=False)
    assert denied.returncode != 0
    assert "permission denied" in (denied.stdout + denied.stderr).lower()
    outside = storj_network.uplink("ls", f"sj://{bucket}/other/", access=restricted, check=False)
    assert outside.returncode != 0


def test_env_describes_the_running_network(storj_network: StorjNetwork) -> None:
    if storj_network.directory is None:
        pytest.fail("STORJ_TEST_NETWORK_DIR is not set: export all of `scripts/testnet env`")
    values = parse_env(run_testnet("env", env=storj_network.script_env()).stdout)
    assert set(ENV_KEYS) <= set(values)
    assert values["STORJ_TEST_SATELLITE"] == storj_network.satellite
    assert values["STORJ_TEST_SATELLITE"].split("@")[1].startswith("127.0.0.1:")
    assert values["STORJ_TEST_ACCESS"] == storj_network.access
    assert Path(values["STORJ_TEST_UPLINK_CLI"]).is_file()


def test_status_shows_no_secrets(storj_network: StorjNetwork) -> None:
    out = run_testnet("status", env=storj_network.script_env()).stdout
    status = json.loads(out)
    assert status["state"] == "up"
    assert status["storage_nodes_running"] >= 5
    for secret in (storj_network.access, storj_network.api_key, storj_network.passphrase):
        assert secret not in out
    assert "api_key" not in repr(storj_network) and storj_network.access not in repr(storj_network)


def test_wan_profile_shapes_every_client(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    """``up --profile wan``: the published satellite and the nodes are behind shaped
    proxies, so uplink_py and the Go CLI both see the satellite ~40 ms away (a bucket
    stat is one round trip) and nodes tens to hundreds of ms away; bytes round-trip
    whole; starting the same directory with another profile is refused."""
    import statistics
    import time

    from uplink_py import Uplink

    env = {**os.environ, "UPLINK_PY_TESTNET_DIR": str(tmp_path_factory.mktemp("wan-net"))}
    run_testnet("up", "--profile", "wan", env=env)
    try:
        values = parse_env(run_testnet("env", env=env).stdout)
        assert values["STORJ_TEST_PROFILE"] == "wan"
        refused = run_testnet("up", env=env, check=False)  # a loopback network wanted: refused
        assert refused.returncode != 0 and "wan network runs" in refused.stderr, refused
        network = StorjNetwork.from_env(values)
        data = random_bytes(4 << 20)
        with Uplink().parse_access(network.access).open_project() as project:
            project.ensure_bucket("wan")
            stats = []
            for _ in range(7):
                start = time.monotonic()
                project.stat_bucket("wan")
                stats.append(time.monotonic() - start)
            start = time.monotonic()
            project.upload_bytes("wan", "k", data)
            uploaded = time.monotonic() - start
            assert hashlib.sha256(project.download_bytes("wan", "k")).digest() == hashlib.sha256(data).digest()
        network.uplink("cp", "sj://wan/k", str(tmp_path / "k"))  # the Go CLI goes through the proxies too
        assert hashlib.sha256((tmp_path / "k").read_bytes()).digest() == hashlib.sha256(data).digest()
        print(f"wan: stat_bucket median {statistics.median(stats) * 1000:.1f} ms, 4 MiB upload {uploaded:.2f} s")
        assert 0.036 <= statistics.median(stats) < 0.5, stats  # 40 ms RTT, 2 ms jitter each way
        assert uploaded > 0.1  # nodes 5-125 ms away each way: not loopback
    finally:
        run_testnet("down", env=env)


def test_production_shaped_erasure_code(tmp_path_factory: pytest.TempPathFactory) -> None:
    """``up --rs production``: Storj's own 29/35/80/110 on 110 storage nodes, which this
    machine holds (about 0.75 GiB); a round trip is byte-exact; asking the running
    network for another shape is refused."""
    from uplink_py import Uplink

    env = {**os.environ, "UPLINK_PY_TESTNET_DIR": str(tmp_path_factory.mktemp("prod-net"))}
    env.pop("UPLINK_PY_TESTNET_NODES", None)
    run_testnet("up", "--rs", "production", env=env)
    try:
        status = json.loads(run_testnet("status", env=env).stdout)
        assert status["rs"] == "29/35/80/110" and status["storage_nodes_running"] == 110, status
        refused = run_testnet("up", "--rs", "2/3/4/6", env=env, check=False)
        assert refused.returncode != 0 and "RS 29/35/80/110 runs" in refused.stderr, refused
        network = StorjNetwork.from_env(parse_env(run_testnet("env", env=env).stdout))
        data = random_bytes((3 << 20) + 17)  # more than one stripe per piece on 29 pieces
        with Uplink().parse_access(network.access).open_project() as project:
            project.ensure_bucket("prod")
            project.upload_bytes("prod", "k", data)
            assert hashlib.sha256(project.download_bytes("prod", "k")).digest() == hashlib.sha256(data).digest()
    finally:
        run_testnet("down", env=env)
