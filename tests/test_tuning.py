"""Transfer tuning in Config: the Go CLI's `uplink cp` knobs reach uplink."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from conftest import random_bytes, sha256

MiB = 1 << 20


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize(("field", "value", "error"), [
    ("maximum_concurrent_pieces", -1, ValueError),
    ("maximum_concurrent_segments", 1 << 31, ValueError),
    ("connection_pool_capacity", "8", TypeError),
    ("connection_pool_key_capacity", 1.5, TypeError),
    ("connection_pool_idle_expiration_milliseconds", -5, ValueError),
    ("connection_pool_idle_expiration_milliseconds", 1 << 62, ValueError),  # beyond a Go Duration
])
def test_tuning_is_validated(access: Any, field: str, value: Any, error: type[Exception]) -> None:
    from uplink_py import Config

    with pytest.raises(error, match=field):
        access.config_open_project(Config(**{field: value}))


@pytest.mark.integration
def test_tuned_project_transfers_and_its_pool_expires_idle_connections(access: Any, py_bucket: str) -> None:
    """A project with every knob set moves a multi-segment object byte-exact; its own
    connection pool closes idle connections after 1 s (uplink's keeps them 2 min), and
    closing the project closes the pool."""
    from uplink_py import Config

    config = Config(maximum_concurrent_pieces=8, maximum_concurrent_segments=2, connection_pool_capacity=20,
                    connection_pool_key_capacity=2, connection_pool_idle_expiration_milliseconds=1000)
    data = random_bytes(24 * MiB)
    before = open_fds()
    with access.config_open_project(config) as project:
        project.upload_bytes(py_bucket, "tuned", data, max_concurrency=1)
        assert sha256(project.download_bytes(py_bucket, "tuned", max_concurrency=1)) == sha256(data)
        busy = open_fds()
        deadline = time.monotonic() + 5
        while open_fds() > before + 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        idle = open_fds()
    print(f"descriptors: {before} before, {busy} after the transfers, {idle} once idle connections expired")
    assert busy > before + 2, "the transfers should have pooled connections"
    assert idle <= before + 2, (before, busy, idle)
    assert open_fds() <= before + 1
