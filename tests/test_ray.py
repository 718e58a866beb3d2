"""Ray Data reads and writes sj:// through the filesystem, with the registry's Ray: a local
cluster of its own (2 CPUs), worker processes that open their own project from the pickled
filesystem; rows compared exactly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conftest import StorjNetwork

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             object_store_memory=256 << 20)
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_data_parquet_round_trip(storj_network: StorjNetwork, py_bucket: str, cluster: None) -> None:
    import pandas as pd
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    from uplink_py.fsspec import StorjFileSystem

    fs = PyFileSystem(FSSpecHandler(StorjFileSystem(access=storj_network.access)))
    frame = pd.DataFrame({"id": range(1000), "label": [f"row-{i}" for i in range(1000)]})
    for part in range(4):  # four files: Ray reads them as separate blocks, in its workers
        frame.iloc[part * 250 : (part + 1) * 250].to_parquet(
            f"sj://{py_bucket}/table/part-{part}.parquet", storage_options={"access": storj_network.access})
    ds = ray.data.read_parquet(f"{py_bucket}/table", filesystem=fs)
    assert ds.count() == 1000
    got = ds.to_pandas().sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, frame, check_dtype=False)  # Ray hands back pyarrow-backed dtypes
    doubled = ds.map_batches(lambda b: b.assign(id=b["id"] * 2), batch_format="pandas")
    doubled.write_parquet(f"{py_bucket}/doubled", filesystem=fs)
    back = ray.data.read_parquet(f"{py_bucket}/doubled", filesystem=fs).to_pandas()
    assert sorted(back["id"]) == [2 * i for i in range(1000)]


def test_ray_data_binary_files(storj_network: StorjNetwork, py_bucket: str, cluster: None) -> None:
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    from uplink_py.fsspec import StorjFileSystem

    sj = StorjFileSystem(access=storj_network.access)
    blobs: dict[str, Any] = {f"{py_bucket}/blobs/{i:02d}.bin": bytes([i]) * (1000 + i) for i in range(12)}
    for path, data in blobs.items():
        sj.pipe_file(path, data)
    ds = ray.data.read_binary_files(f"{py_bucket}/blobs", filesystem=PyFileSystem(FSSpecHandler(sj)),
                                    include_paths=True)
    got = {row["path"]: row["bytes"] for row in ds.iter_rows()}
    assert got == blobs
