"""scripts/testnet's contract, on a second network of the test's own.

Stopping nodes and taking the network down would disturb the shared network
other tests use, so this starts another one in a temporary state directory.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import StorjNetwork, random_bytes, run_testnet, unique_bucket_name

pytestmark = pytest.mark.integration


def port_open(host_port: str) -> bool:
    host, port = host_port.rsplit(":", 1)
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) == 0


def alive(pid: int) -> bool:
    """True for a live process; a zombie has already let go of everything."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def status(env: dict[str, str]) -> dict:
    return json.loads(run_testnet("status", env=env).stdout)


def test_up_is_idempotent(private_network: tuple[StorjNetwork, dict[str, str]]) -> None:
    net, env = private_network
    before = status(env)
    out = run_testnet("up", env=env).stdout
    assert "already running" in out
    after = status(env)
    assert after["pid"] == before["pid"] and after["satellite"] == before["satellite"] == net.satellite


def test_stop_node_rejects_a_bad_index(private_network: tuple[StorjNetwork, dict[str, str]]) -> None:
    _, env = private_network
    res = run_testnet("stop-node", "999", env=env, check=False)
    assert res.returncode == 1
    assert "no storage node" in res.stdout


def test_uploads_survive_stopped_nodes_within_the_margin(
    private_network: tuple[StorjNetwork, dict[str, str]], tmp_path: Path
) -> None:
    net, env = private_network
    st = status(env)
    nodes = st["storage_nodes_running"]
    rs_min, _, success, total = (int(x) for x in st["rs"].split("/"))
    upload_margin = nodes - total  # an upload needs `total` nodes to offer pieces to
    read_margin = success - rs_min  # a stored segment has >= `success` pieces; any `min` rebuild it
    assert upload_margin >= 1 and read_margin >= 1, st

    bucket = f"sj://{unique_bucket_name('faults')}"
    net.uplink("mb", bucket)
    before = random_bytes(3 * 1024 * 1024 + 5)
    (tmp_path / "before").write_bytes(before)
    net.uplink("cp", "--progress=false", str(tmp_path / "before"), f"{bucket}/before")

    for index in range(upload_margin):
        run_testnet("stop-node", str(index), env=env)
        data = random_bytes(2 * 1024 * 1024 + index)
        (tmp_path / "src").write_bytes(data)
        net.uplink("cp", "--progress=false", str(tmp_path / "src"), f"{bucket}/after-{index}")
        net.uplink("cp", "--progress=false", f"{bucket}/after-{index}", str(tmp_path / "dst"))
        assert (tmp_path / "dst").read_bytes() == data
        if index < read_margin:
            # Whichever nodes went down, what was stored before is still whole.
            net.uplink("cp", "--progress=false", f"{bucket}/before", str(tmp_path / "again"))
            assert (tmp_path / "again").read_bytes() == before
    assert status(env)["storage_nodes_stopped"] == list(range(upload_margin))

    # One more node down and the satellite cannot offer `total` nodes any more.
    run_testnet("stop-node", str(upload_margin), env=env)
    (tmp_path / "src").write_bytes(b"x" * 10_000)
    res = net.uplink("cp", "--progress=false", str(tmp_path / "src"), f"{bucket}/too-many", check=False)
    assert res.returncode != 0
    assert "not enough nodes" in res.stdout + res.stderr
    keys = sorted(str(e["key"]) for e in net.ls(f"{bucket}/"))
    assert keys == sorted(["before"] + [f"after-{i}" for i in range(upload_margin)])  # no partial object


def test_down_leaves_nothing_behind(private_network: tuple[StorjNetwork, dict[str, str]]) -> None:
    net, env = private_network
    st = status(env)
    state_dir = Path(env["UPLINK_PY_TESTNET_DIR"])
    postgres = json.loads((state_dir / "postgres.json").read_text())
    satellite_addr = net.satellite.split("@", 1)[1]
    control_addr = urlsplit(json.loads((state_dir / "state.json").read_text())["control"]).netloc
    assert port_open(satellite_addr) and port_open(control_addr) and port_open(f"127.0.0.1:{postgres['port']}")
    postmaster = int((Path(postgres["data"]) / "postmaster.pid").read_text().split()[0])

    out = run_testnet("down", env=env).stdout
    assert "database schemas left by the network: 0" in out

    assert not alive(st["pid"]) and not alive(postmaster)
    for addr in (satellite_addr, control_addr, f"127.0.0.1:{postgres['port']}"):
        assert not port_open(addr), addr
    assert not Path(postgres["data"]).exists()
    assert not (state_dir / "tmp").exists()  # the nodes' pieces
    assert run_testnet("status", env=env, check=False).returncode == 3
    assert "nothing was running" in run_testnet("down", env=env).stdout  # a second down is harmless
