"""Scientific arrays on the local network with the registry's zarr 3 and xarray: through
zarr's own ``sj://`` URL route (which now gets our asynchronous filesystem, not fsspec's
sync-to-async wrapper), through an explicit ``FsspecStore``, and ``xarray.to_zarr`` /
``open_zarr``; values compared exactly. Also ``cat_ranges`` with ``max_gap``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest

from conftest import StorjNetwork, random_bytes

zarr = pytest.importorskip("zarr")
xr = pytest.importorskip("xarray")

pytestmark = pytest.mark.integration


def test_async_filesystem_is_what_asynchronous_asks_for(storj_network: StorjNetwork) -> None:
    import fsspec

    from uplink_py.fsspec import StorjFileSystem
    from uplink_py.fsspec_async import AsyncStorjFileSystem

    fs = fsspec.filesystem("sj", access=storj_network.access, asynchronous=True, skip_instance_cache=True)
    assert isinstance(fs, AsyncStorjFileSystem) and fs.async_impl and fs.asynchronous
    assert type(fsspec.filesystem("sj", access=storj_network.access, skip_instance_cache=True)) is StorjFileSystem


def test_zarr_by_url_round_trip(storj_network: StorjNetwork, py_bucket: str) -> None:
    from uplink_py.fsspec_async import AsyncStorjFileSystem

    options = {"access": storj_network.access}
    data = np.random.default_rng(5).standard_normal((200, 300)).astype("float32")
    arr = zarr.create_array(f"sj://{py_bucket}/a.zarr", shape=data.shape, chunks=(50, 60), dtype="float32",
                            storage_options=options)
    arr[:] = data
    assert isinstance(arr.store.fs, AsyncStorjFileSystem)  # no AsyncFileSystemWrapper in between
    again = zarr.open_array(f"sj://{py_bucket}/a.zarr", mode="r", storage_options=options)
    assert np.array_equal(again[:], data)
    assert np.array_equal(again[17:123, 5:299], data[17:123, 5:299])


def test_zarr_with_an_explicit_store_and_groups(storj_network: StorjNetwork, py_bucket: str) -> None:
    from zarr.storage import FsspecStore

    from uplink_py.fsspec_async import AsyncStorjFileSystem

    fs = AsyncStorjFileSystem(access=storj_network.access, asynchronous=True, skip_instance_cache=True)
    store = FsspecStore(fs, path=f"{py_bucket}/g.zarr")
    root = zarr.open_group(store, mode="w")
    ints = root.create_array("ints", shape=(1000,), chunks=(64,), dtype="int64")
    ints[:] = np.arange(1000)
    root.attrs["units"] = "m/s"
    reopened = zarr.open_group(FsspecStore(fs, path=f"{py_bucket}/g.zarr", read_only=True), mode="r")
    assert reopened.attrs["units"] == "m/s" and np.array_equal(reopened["ints"][:], np.arange(1000))
    assert sorted(reopened.array_keys()) == ["ints"]


def test_xarray_to_zarr_and_back(storj_network: StorjNetwork, py_bucket: str) -> None:
    options = {"access": storj_network.access}
    ds = xr.Dataset(
        {"temperature": (("time", "x"), np.random.default_rng(2).standard_normal((48, 120)))},
        coords={"time": np.arange(48), "x": np.linspace(0, 1, 120)},
        attrs={"source": "uplink-py test"},
    )
    ds.to_zarr(f"sj://{py_bucket}/climate.zarr", storage_options=options, mode="w", consolidated=False)
    back = xr.open_zarr(f"sj://{py_bucket}/climate.zarr", storage_options=options, consolidated=False).load()
    xr.testing.assert_identical(back, ds)


def test_cancelling_an_async_call_cancels_it(storj_network: StorjNetwork, py_bucket: str) -> None:
    from uplink_py.fsspec_async import AsyncStorjFileSystem

    fs = AsyncStorjFileSystem(access=storj_network.access, asynchronous=True, skip_instance_cache=True)

    async def main() -> None:
        await fs._pipe_file(f"{py_bucket}/big", random_bytes(128 << 20))
        start = time.monotonic()
        assert len(await fs._cat_file(f"{py_bucket}/big")) == 128 << 20
        whole = time.monotonic() - start
        task = asyncio.ensure_future(fs._cat_file(f"{py_bucket}/big"))
        await asyncio.sleep(0.05)
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        stopped = time.monotonic() - start
        # the parts in flight were cancelled, not waited for: well before a whole transfer
        assert stopped < max(0.3, whole / 2), (stopped, whole)
        assert len(await fs._cat_file(f"{py_bucket}/big", 0, 10)) == 10  # the filesystem goes on

    asyncio.run(main())


def test_cat_ranges_coalesces_neighbours_within_max_gap(storj_network: StorjNetwork, py_bucket: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import fsspec

    from uplink_py.fsspec import StorjFileSystem

    fs = fsspec.filesystem("sj", access=storj_network.access, skip_instance_cache=True)
    data = random_bytes(300_000)
    fs.pipe_file(f"{py_bucket}/r", data)
    fs.pipe_file(f"{py_bucket}/s", data[::-1])
    reads: list[tuple[Any, Any, Any]] = []
    real = StorjFileSystem.cat_file

    def spy(self: Any, path: Any, start: Any = None, end: Any = None, **kw: Any) -> bytes:
        reads.append((path, start, end))
        return real(self, path, start, end, **kw)

    monkeypatch.setattr(StorjFileSystem, "cat_file", spy)
    ranges = [(f"{py_bucket}/r", 100, 200), (f"{py_bucket}/r", 250, 400), (f"{py_bucket}/r", 10, 50),
              (f"{py_bucket}/r", 100_000, 100_010), (f"{py_bucket}/s", 0, 5), (f"{py_bucket}/r", -10, None),
              (f"{py_bucket}/r", 299_990, 400_000)]
    paths, starts, ends = (list(x) for x in zip(*ranges))
    got = fs.cat_ranges(paths, starts, ends, max_gap=1000)
    want = [(data if p.endswith("/r") else data[::-1])[s:e] for p, s, e in ranges]
    assert got == want
    # r: [10,400) in one read, [100000,100010) and [299990,400000) alone (gaps > 1000), the
    # tail range alone; s alone: 5 downloads for 7 ranges
    assert len(reads) == 5 and (f"{py_bucket}/r", 10, 400) in reads
    reads.clear()
    # a reversed range is empty, also merged with a neighbour; a run never exceeds part_size
    assert fs.cat_ranges([paths[0]] * 2, [10, 12], [5, 20], max_gap=8) == [b"", data[12:20]]
    small = fsspec.filesystem("sj", access=storj_network.access, part_size=100, skip_instance_cache=True)
    assert small.cat_ranges([paths[0]] * 3, [0, 60, 120], [50, 110, 170], max_gap=20) == \
        [data[0:50], data[60:110], data[120:170]]
    reads.clear()
    assert fs.cat_ranges(paths, starts, ends) == want and len(reads) == 7  # without max_gap: one each
