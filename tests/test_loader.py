"""uplink_py.loader against the local network: order, content, the memory budget, buffer
reuse, early exit, errors, and the datasets in worker processes (spawn, forkserver).

PyTorch is not installed here (its Linux wheel is 539 MB plus GBs of CUDA packages), so
the DataLoader side is played by multiprocessing with a stand-in ``torch`` module that
offers what the datasets use: ``torch.utils.data.get_worker_info`` and the two base classes.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import pickle
import subprocess
import sys
import textwrap
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import StorjNetwork, assert_same_bytes, unique_bucket_name

pytestmark = pytest.mark.integration

KiB = 1024
MiB = 1024 * KiB


def _blob(i: int) -> bytes:
    """Deterministic content of object i (so worker processes can check it too)."""
    size = 20 * KiB + (i * 7919) % (100 * KiB)
    return hashlib.shake_256(f"object-{i}".encode()).digest(size)


KEYS = [f"data/{i:03d}.bin" for i in range(40)]
BLOBS = {key: _blob(i) for i, key in enumerate(KEYS)}


@pytest.fixture(scope="module")
def data_bucket(access: Any) -> Iterator[str]:
    name = unique_bucket_name("loader")
    with access.open_project() as project:
        project.create_bucket(name)
        project.upload_many(name, BLOBS)
        project.upload_bytes(name, "empty.bin", b"")
        project.upload_bytes(name, "large.bin", _blob(1000) * 20)  # ~1 MiB
    yield name
    with access.open_project() as project:
        project.delete_bucket_with_objects(name)


def test_importing_loads_no_native_module() -> None:
    code = "import sys, uplink_py.loader; print('uplink_py._core' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", check=True)
    assert res.stdout.strip() == "False"


def test_yields_in_order_with_content(storj_network: StorjNetwork, data_bucket: str) -> None:
    from uplink_py.loader import ObjectLoader

    order = KEYS[::-1]  # any order the caller asks for
    loader = ObjectLoader(storj_network.access, data_bucket, order, max_concurrency=6)
    got = []
    for key, array in loader:
        assert isinstance(array, np.ndarray) and array.dtype == np.uint8 and array.ndim == 1
        assert_same_bytes(array, BLOBS[key])
        got.append(key)
    assert got == order
    assert loader.stats.objects == len(order)
    assert loader.stats.bytes == sum(len(v) for v in BLOBS.values())
    assert loader.stats.peak_downloads > 1  # really concurrent


def test_prefix_and_a_second_pass(project: Any, data_bucket: str) -> None:
    """With prefix=, every object under it; an open project is used and not closed."""
    from uplink_py.loader import ObjectLoader

    loader = ObjectLoader(project, data_bucket, prefix="data/", copy=True)
    first = {key: bytes(array) for key, array in loader}
    assert first == BLOBS
    second = [key for key, _ in loader]
    assert sorted(second) == KEYS
    assert not project.closed


def test_memory_budget_and_buffer_reuse(access: Any, data_bucket: str) -> None:
    from uplink_py.loader import ObjectLoader

    budget = 512 * KiB
    loader = ObjectLoader(access, data_bucket, KEYS, max_concurrency=8, max_bytes_in_flight=budget)
    addresses = set()
    for key, array in loader:
        assert_same_bytes(array, BLOBS[key])
        addresses.add(array.__array_interface__["data"][0])
    stats = loader.stats
    assert 0 < stats.peak_buffer_bytes <= budget
    assert stats.buffers_reused > 0
    assert stats.buffers_allocated < len(KEYS)
    assert len(addresses) < len(KEYS)  # the same memory served several objects


def test_reuse_contract(access: Any, data_bucket: str) -> None:
    """A kept view is overwritten by later objects; copy=True arrays stay as they were."""
    from uplink_py.loader import ObjectLoader

    kept = [(k, a) for k, a in ObjectLoader(access, data_bucket, KEYS, max_bytes_in_flight=256 * KiB)]
    changed = [k for k, a in kept if bytes(a) != BLOBS[k]]
    assert changed, "pooled buffers were expected to be reused"

    copies = [(k, a) for k, a in ObjectLoader(access, data_bucket, KEYS, max_bytes_in_flight=256 * KiB, copy=True)]
    for key, array in copies:
        assert_same_bytes(array, BLOBS[key])
    assert len({a.__array_interface__["data"][0] for _, a in copies}) == len(KEYS)


def test_objects_larger_than_the_budget_and_empty_ones(access: Any, data_bucket: str) -> None:
    from uplink_py.loader import ObjectLoader

    keys = ["empty.bin", KEYS[0], "large.bin", KEYS[1]]
    loader = ObjectLoader(access, data_bucket, keys, max_bytes_in_flight=64 * KiB, copy=True)
    got = dict(iter(loader))
    assert got["empty.bin"].size == 0
    assert_same_bytes(got["large.bin"], _blob(1000) * 20)
    assert_same_bytes(got[KEYS[1]], BLOBS[KEYS[1]])
    assert loader.stats.peak_buffer_bytes >= len(_blob(1000) * 20)  # loaded alone, over budget


def test_an_error_arrives_at_its_turn(access: Any, data_bucket: str) -> None:
    from uplink_py.errors import ObjectNotFoundError
    from uplink_py.loader import ObjectLoader

    keys = KEYS[:3] + ["data/missing"] + KEYS[3:10]
    got = []
    with pytest.raises(ObjectNotFoundError):
        for key, _ in ObjectLoader(access, data_bucket, keys, max_concurrency=4):
            got.append(key)
    assert got == KEYS[:3]
    _assert_no_loader_threads()


def test_leaving_early_stops_the_downloads(access: Any, data_bucket: str) -> None:
    from uplink_py.loader import ObjectLoader

    loader = ObjectLoader(access, data_bucket, KEYS * 5, max_concurrency=8)
    iterator = iter(loader)
    first = [next(iterator)[0] for _ in range(3)]
    assert first == KEYS[:3]
    start = time.monotonic()
    iterator.close()  # what `break` does once the generator is dropped
    assert time.monotonic() - start < 10
    assert loader.stats.objects == 3
    _assert_no_loader_threads()


def _assert_no_loader_threads() -> None:
    names = [t.name for t in threading.enumerate() if t.name.startswith("uplink-py-loader")]
    assert names == []


def test_bad_arguments() -> None:
    from uplink_py.loader import ObjectDataset, ObjectIterableDataset, ObjectLoader

    with pytest.raises(ValueError):
        ObjectLoader("grant", "b")  # neither keys nor prefix
    with pytest.raises(ValueError):
        ObjectLoader("grant", "b", ["k"], prefix="p")
    with pytest.raises(ValueError):
        ObjectLoader("grant", "b", ["k"], max_bytes_in_flight=0)
    with pytest.raises(ValueError):
        ObjectIterableDataset("grant", "b", ["k"], shard=(2, 2))
    assert "grant" not in repr(ObjectDataset("grant", "b", ["k"]))


# ---------------------------------------------------------------- datasets in worker processes


def key_and_digest(key: str, array: np.ndarray) -> tuple[str, str]:
    """A picklable transform: what a worker hands back."""
    return key, hashlib.sha256(array).hexdigest()


def _fake_torch(worker_id: int, num_workers: int) -> None:
    """Installs a stand-in `torch` whose get_worker_info says we are DataLoader worker `worker_id`."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch.utils")
    data = types.ModuleType("torch.utils.data")

    class Dataset:
        pass

    class IterableDataset(Dataset):
        pass

    info = types.SimpleNamespace(id=worker_id, num_workers=num_workers)
    data.get_worker_info = lambda: info  # type: ignore[attr-defined]
    data.Dataset = Dataset  # type: ignore[attr-defined]
    data.IterableDataset = IterableDataset  # type: ignore[attr-defined]
    torch.utils = utils  # type: ignore[attr-defined]
    utils.data = data  # type: ignore[attr-defined]
    sys.modules.update({"torch": torch, "torch.utils": utils, "torch.utils.data": data})


def iterate_as_worker(pickled: bytes, worker_id: int, num_workers: int, torch_class: bool) -> list[tuple[str, str]]:
    """What a DataLoader worker does: unpickle the dataset and iterate its share."""
    _fake_torch(worker_id, num_workers)
    dataset = pickle.loads(pickled)
    if torch_class:
        from uplink_py import loader

        assert isinstance(dataset, loader.ObjectIterableDataset)
        assert isinstance(dataset, sys.modules["torch.utils.data"].IterableDataset)  # type: ignore[attr-defined]
    assert "uplink_py._core" not in sys.modules  # unpickling opens nothing: the first item does
    return list(dataset)


def get_items(pickled: bytes, indices: list[int]) -> list[tuple[str, str]]:
    dataset = pickle.loads(pickled)
    return [dataset[i] for i in indices]


def _digests(keys: list[str]) -> list[tuple[str, str]]:
    return [(k, hashlib.sha256(BLOBS[k]).hexdigest()) for k in keys]


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_iterable_dataset_shards_across_workers(storj_network: StorjNetwork, data_bucket: str, method: str) -> None:
    """Three workers (as DataLoader would start them) each read their own slice; together
    every key exactly once; each opened its own project from the pickled grant."""
    from uplink_py.loader import ObjectIterableDataset

    dataset = ObjectIterableDataset(storj_network.access, data_bucket, KEYS, key_and_digest, max_concurrency=4)
    pickled = pickle.dumps(dataset)
    context = multiprocessing.get_context(method)
    with context.Pool(3) as pool:
        shares = pool.starmap(iterate_as_worker, [(pickled, w, 3, False) for w in range(3)])
    assert [len(s) for s in shares] == [14, 13, 13]
    assert sorted(item for share in shares for item in share) == sorted(_digests(KEYS))
    assert shares[1] == _digests(KEYS[1::3])


def test_torch_classes_and_distributed_shards(storj_network: StorjNetwork, data_bucket: str) -> None:
    """TorchObjectIterableDataset is built on first use, pickles by name and is rebuilt in
    the worker; shard=(rank, world) and the worker split combine."""
    code = textwrap.dedent(f"""
        import pickle, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_loader import _fake_torch, key_and_digest
        _fake_torch(0, 1)
        from uplink_py import loader
        ds = loader.TorchObjectIterableDataset({storj_network.access!r}, {data_bucket!r},
                                               {KEYS!r}, key_and_digest, shard=(1, 2))
        assert isinstance(ds, sys.modules["torch.utils.data"].IterableDataset)
        assert isinstance(loader.TorchObjectDataset("g", "b", ["k"]), sys.modules["torch.utils.data"].Dataset)
        sys.stdout.buffer.write(pickle.dumps(ds))
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, cwd="/")
    pickled = res.stdout
    assert b"TorchObjectIterableDataset" in pickled
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        shares = pool.starmap(iterate_as_worker, [(pickled, w, 2, True) for w in range(2)])
    # rank 1 of 2, then worker w of 2: keys[1*2 + w :: 4]
    assert shares == [_digests(KEYS[2::4]), _digests(KEYS[3::4])]


def test_torch_classes_without_torch() -> None:
    code = "import uplink_py.loader as l\ntry:\n    l.TorchObjectDataset\nexcept ImportError as e:\n    print(e)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert "needs PyTorch" in res.stdout


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_map_dataset_in_workers(access: Any, data_bucket: str, method: str) -> None:
    from uplink_py.loader import ObjectDataset

    dataset = ObjectDataset(access, data_bucket, KEYS, key_and_digest)
    assert len(dataset) == len(KEYS)
    assert dataset[5] == _digests([KEYS[5]])[0]  # the parent may use it too: spawn/forkserver don't mind
    pickled = pickle.dumps(dataset)
    assert b"_core" not in pickled and b"Project" not in pickled  # credentials travel, never a project
    with multiprocessing.get_context(method).Pool(2) as pool:
        items = pool.starmap(get_items, [(pickled, list(range(0, 40, 2))), (pickled, list(range(1, 40, 2)))])
    got = dict(items[0] + items[1])
    assert got == dict(_digests(KEYS))


def test_fork_after_use_is_refused(access: Any, data_bucket: str) -> None:
    """This process has loaded the Go runtime: a forked worker gets ForkedProcessError."""
    from uplink_py.errors import ForkedProcessError
    from uplink_py.loader import ObjectDataset

    dataset = ObjectDataset(access, data_bucket, KEYS)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        with pytest.raises(ForkedProcessError, match="spawn"):
            pool.apply(get_items, (pickle.dumps(dataset), [0]))


def test_fork_before_use_works(storj_network: StorjNetwork, data_bucket: str) -> None:
    """A parent that only built datasets from a grant string may fork its workers."""
    code = textwrap.dedent(f"""
        import multiprocessing, sys
        from uplink_py.loader import ObjectDataset, ObjectIterableDataset
        ds = ObjectDataset({storj_network.access!r}, {data_bucket!r}, {KEYS[:4]!r})
        it = ObjectIterableDataset({storj_network.access!r}, {data_bucket!r}, {KEYS[:4]!r})
        assert "uplink_py._core" not in sys.modules
        def item(i):
            return bytes(ds[i][1])
        def every():
            return [bytes(a) for _, a in it]
        with multiprocessing.get_context("fork").Pool(2) as pool:
            got = pool.map(item, range(4))
            also = pool.apply(every)
        assert "uplink_py._core" not in sys.modules
        sys.stdout.write(repr([len(x) for x in got] + [len(x) for x in also]))
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", timeout=300)
    assert res.returncode == 0, res.stderr[-3000:].replace(storj_network.access, "<access>")
    sizes = [len(BLOBS[k]) for k in KEYS[:4]]
    assert res.stdout == repr(sizes + sizes)
