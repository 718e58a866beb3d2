"""Timeouts and faults: the dial timeout, storage nodes and the satellite going away.

Stopping nodes and the satellite would disturb the shared session network, so the
fault tests run on a private network of their own (like test_testnet_lifecycle.py);
RS is 2/3/4/6 over 10 nodes: an upload needs 6 nodes to offer pieces to and
commits a segment with 4 pieces; any 2 pieces rebuild it.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import StorjNetwork, random_bytes, run_testnet, unique_bucket_name
from test_interrupts import black_hole, with_satellite  # noqa: F401  (black_hole is a fixture)

pytestmark = pytest.mark.integration

MiB = 1 << 20


def elapsed(f: Any) -> tuple[BaseException | None, float]:
    start = time.monotonic()
    try:
        f()
    except Exception as e:  # noqa: BLE001 - the test inspects it
        return e, time.monotonic() - start
    return None, time.monotonic() - start


# --- the dial timeout ----------------------------------------------------------


def test_dial_timeout_is_honoured_requesting_an_access(storj_network: StorjNetwork, black_hole: str) -> None:  # noqa: F811
    """A satellite that accepts TCP and never answers: the call fails after the dial
    timeout (1 s) with InternalError("... dial timeout (1s) exceeded ..."), not a hang."""
    from uplink_py import Config, Uplink
    from uplink_py.errors import InternalError

    node_id = storj_network.satellite.split("@", 1)[0]
    err, took = elapsed(
        lambda: Uplink().config_request_access_with_passphrase(
            Config(dial_timeout_milliseconds=1000), f"{node_id}@{black_hole}", storj_network.api_key, "passphrase"
        )
    )
    print(f"request access, black hole, 1 s dial timeout: {type(err).__name__} after {took:.2f} s")
    assert isinstance(err, InternalError), err
    assert "dial timeout (1s) exceeded" in str(err)
    assert 0.9 <= took < 3.0


def test_dial_timeout_is_honoured_by_project_calls(storj_network: StorjNetwork, black_hole: str) -> None:  # noqa: F811
    from uplink_py import Config, Uplink
    from uplink_py.errors import InternalError

    node_id = storj_network.satellite.split("@", 1)[0]
    access = Uplink().parse_access(with_satellite(storj_network.access, f"{node_id}@{black_hole}"))
    with access.config_open_project(Config(dial_timeout_milliseconds=500)) as project:
        err, took = elapsed(lambda: project.stat_bucket("any-bucket"))
        print(f"stat_bucket, black hole, 0.5 s dial timeout: {type(err).__name__} after {took:.2f} s")
        assert isinstance(err, InternalError) and "dial timeout (500ms) exceeded" in str(err), err
        assert 0.4 <= took < 2.5
        # the project still works as a project: a second call fails the same way
        err, took = elapsed(lambda: project.list_buckets())
        assert isinstance(err, InternalError) and took < 2.5, err


# --- storage nodes and the satellite of a private network ----------------------


def sha(data: Any) -> str:
    return hashlib.sha256(data).hexdigest()


def upload_stopping_nodes(project: Any, bucket: str, key: str, data: bytes, stop: list[int], env: dict[str, str]) -> None:
    """Uploads data in 4 MiB writes; after 72 MiB stops the storage nodes `stop`, then
    writes the rest. uplink buffers a whole segment (64 MiB) before it asks the
    satellite for nodes, so at 72 MiB the first segment's pieces are streaming."""
    with project.upload_object(bucket, key) as upload:
        for offset in range(0, len(data), 4 * MiB):
            if offset == 72 * MiB:
                for index in stop:
                    run_testnet("stop-node", str(index), env=env)
            upload.write(data[offset : offset + 4 * MiB])


def download(project: Any, bucket: str, key: str) -> bytes:
    with project.download_object(bucket, key) as d:
        return d.readall()


def test_stopped_nodes_within_and_beyond_the_margin(private_network: tuple[StorjNetwork, dict[str, str]]) -> None:
    from uplink_py import Uplink
    from uplink_py.errors import ObjectNotFoundError, StorjException

    net, env = private_network
    bucket = unique_bucket_name("faults")
    project = Uplink().parse_access(net.access).open_project()
    try:
        project.create_bucket(bucket)

        # 2 nodes stop while the first segment's pieces stream: it still gets >= 4
        # of its 6 pieces; the later segments avoid the stopped nodes.
        a = random_bytes(150 * MiB)  # 3 segments of 64 MiB
        upload_stopping_nodes(project, bucket, "a", a, [0, 1], env)
        assert sha(download(project, bucket, "a")) == sha(a)  # read margin: 2 nodes down

        # 4 down, 6 up: still enough nodes for new uploads (the upload margin).
        b = random_bytes(100 * MiB)
        upload_stopping_nodes(project, bucket, "b", b, [2, 3], env)
        assert sha(download(project, bucket, "b")) == sha(b)

        # Beyond the margin: 3 of the 6 nodes left stop while a segment streams to all
        # of them, so it cannot reach 4 pieces; then 3 nodes cannot take new segments.
        c = random_bytes(100 * MiB)
        err, took = elapsed(lambda: upload_stopping_nodes(project, bucket, "c", c, [4, 5, 6], env))
        print(f"upload beyond the margin: {type(err).__name__} after {took:.2f} s: {str(err)[:200]}")
        assert isinstance(err, StorjException), err
        assert "failed to upload enough pieces (needed at least 4 but got" in str(err), err
        with pytest.raises(ObjectNotFoundError):
            project.stat_object(bucket, "c")
        assert sorted(o.key for o in project.list_objects(bucket)) == ["a", "b"]  # no partial "c"
        deadline = time.monotonic() + 10  # a failed upload's pending object goes in the background
        while [u.key for u in project.list_uploads(bucket)] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert project.list_uploads(bucket) == []

        # Not even one node too many for a new upload: 3 up, 6 needed.
        err, _ = elapsed(lambda: project.upload_bytes(bucket, "d", random_bytes(MiB)))
        assert isinstance(err, StorjException) and "not enough nodes" in str(err), err
        with pytest.raises(ObjectNotFoundError):
            project.stat_object(bucket, "d")
    finally:
        project.close()


def test_stopped_satellite_fails_fast(private_network: tuple[StorjNetwork, dict[str, str]], tmp_path: Path) -> None:
    """Runs last: shuts the private network down under an open project."""
    from uplink_py import Config, Uplink
    from uplink_py.errors import StorjException

    net, env = private_network
    access = Uplink().parse_access(net.access)
    with access.config_open_project(Config(dial_timeout_milliseconds=1000)) as project:
        project.list_buckets()  # a pooled connection to the satellite is open
        run_testnet("down", env=env)
        err, took = elapsed(lambda: project.stat_bucket("any"))
        print(f"stopped satellite, open project: {type(err).__name__} after {took:.2f} s: {str(err)[:160]}")
        assert isinstance(err, StorjException), err
        # Refused connections are retried by uplink with backoff (0.1 .. 3 s, ~6 s in all).
        assert took < 12
    err, took = elapsed(
        lambda: Uplink().config_request_access_with_passphrase(
            Config(dial_timeout_milliseconds=1000), net.satellite, net.api_key, net.passphrase
        )
    )
    print(f"stopped satellite, request access: {type(err).__name__} after {took:.2f} s")
    assert isinstance(err, StorjException) and took < 12, err
