"""Dask on ``sj://``: a LocalCluster of worker processes reads and writes Storj through the
fsspec filesystem; each worker process opens its own project from the pickled options."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import fsspec
import pytest

from conftest import StorjNetwork
from uplink_py.fsspec import StorjFileSystem

pytestmark = pytest.mark.integration


def ensure_registered() -> None:
    """Use the installed ``fsspec.specs`` entry point; register the class only where the
    package was installed without it (a tree under development). Runs on workers too."""
    from fsspec.registry import known_implementations, registry

    for protocol in ("sj", "storj"):
        if protocol not in known_implementations and protocol not in registry:
            fsspec.register_implementation(protocol, StorjFileSystem)


ensure_registered()


def worker_state() -> dict[str, Any]:
    """Runs on a worker: its pid, and the projects uplink_py.fsspec opened there."""
    import uplink_py.engine.projects as module

    return {"pid": os.getpid(), "projects": len(module._projects)}


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """Two worker processes (spawned), one thread each, loopback only, no dashboard."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, host="127.0.0.1",
        worker_dashboard_address=None,
    )
    client = Client(cluster)
    try:
        client.run(ensure_registered)
        yield client
    finally:
        client.close()
        cluster.close()


def test_dask_reads_and_writes_sj_on_worker_processes(
    storj_network: StorjNetwork, bucket: str, client: Any
) -> None:
    import dask.dataframe as dd
    import numpy as np
    import pandas as pd

    options = {"access": storj_network.access}
    fs = StorjFileSystem(access=storj_network.access)
    rng = np.random.default_rng(7)
    parts = []
    for i in range(4):
        part = pd.DataFrame({
            "id": np.arange(i * 1000, (i + 1) * 1000, dtype="int64"),
            "x": rng.standard_normal(1000),
            "key": rng.choice(["p", "q"], 1000),
        })
        part.to_parquet(f"sj://{bucket}/in/part-{i}.parquet", storage_options=options, index=False)
        parts.append(part)
    whole = pd.concat(parts, ignore_index=True)

    before = client.run(worker_state)
    assert all(state["projects"] == 0 for state in before.values())  # nothing inherited
    assert all(state["pid"] != os.getpid() for state in before.values())

    ddf = dd.read_parquet(f"sj://{bucket}/in/", storage_options=options)
    assert ddf.npartitions == 4
    total, count, by_key = dd.compute(ddf["x"].sum(), ddf["id"].count(), ddf.groupby("key")["x"].sum())
    assert count == 4000
    assert total == pytest.approx(whole["x"].sum())
    want_by_key = whole.groupby("key")["x"].sum()
    assert sorted(by_key.index) == ["p", "q"]
    for key in ("p", "q"):
        assert by_key[key] == pytest.approx(want_by_key[key])

    after = client.run(worker_state)
    # Each worker that ran a task opened one project of its own, in its own process.
    assert sum(state["projects"] for state in after.values()) >= 1
    assert all(state["projects"] <= 1 for state in after.values())

    # Workers write too: a derived table, committed by the workers, read back here.
    out = ddf[ddf["key"] == "p"].assign(y=ddf["x"] * 2)
    out.to_parquet(f"sj://{bucket}/out/", storage_options=options, write_index=False)
    written = sorted(p for p in fs.find(f"{bucket}/out") if p.endswith(".parquet"))
    assert len(written) == 4
    back = pd.read_parquet(f"sj://{bucket}/out/", storage_options=options).sort_values("id", ignore_index=True)
    want = whole[whole["key"] == "p"].assign(y=lambda d: d["x"] * 2).sort_values("id", ignore_index=True)
    pd.testing.assert_frame_equal(back[want.columns.tolist()], want, check_dtype=False)


def test_dask_bag_reads_text_on_workers(storj_network: StorjNetwork, bucket: str, client: Any) -> None:
    import dask.bag as db

    fs = StorjFileSystem(access=storj_network.access)
    lines = {f"{bucket}/logs/{i}.txt": "".join(f"{i} {j}\n" for j in range(500)) for i in range(3)}
    fs.pipe({path: text.encode() for path, text in lines.items()})
    bag = db.read_text(f"sj://{bucket}/logs/*.txt", storage_options={"access": storj_network.access})
    counted = bag.map(lambda line: int(line.split()[1])).sum().compute()
    assert counted == 3 * sum(range(500))
