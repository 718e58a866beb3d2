"""uplink_py.loader against the local network: order, content, the memory budget, buffer
reuse, early exit, errors, and the datasets in real PyTorch DataLoader workers (spawn,
forkserver; fork after use is refused). PyTorch is the registry's wheel (requirements-test.txt),
run without a GPU.
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


def key_digest_worker(key: str, array: np.ndarray) -> tuple[str, str, int]:
    """A transform that also says which DataLoader worker read the object."""
    import torch

    info = torch.utils.data.get_worker_info()
    return key, hashlib.sha256(array).hexdigest(), -1 if info is None else info.id


def native_not_loaded(worker_id: int) -> None:
    """worker_init_fn: runs after the worker unpickled the dataset, which must open nothing."""
    assert "uplink_py._core" not in sys.modules, "unpickling the dataset loaded the native module"


def get_items(pickled: bytes, indices: list[int]) -> list[tuple[str, str]]:
    dataset = pickle.loads(pickled)
    return [dataset[i] for i in indices]


def _digests(keys: list[str]) -> list[tuple[str, str]]:
    return [(k, hashlib.sha256(BLOBS[k]).hexdigest()) for k in keys]


def _by_worker(items: list[Any]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for key, digest, worker in items:
        assert (key, digest) in set(_digests(KEYS))
        out.setdefault(int(worker), []).append(key)
    return out


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_iterable_dataset_shards_across_dataloader_workers(storj_network: StorjNetwork, data_bucket: str,
                                                           method: str) -> None:
    """Three real DataLoader workers each read their own slice; together every key exactly
    once; each opened its own project from the pickled grant."""
    import torch
    from uplink_py.loader import TorchObjectIterableDataset

    dataset = TorchObjectIterableDataset(storj_network.access, data_bucket, KEYS, key_digest_worker, max_concurrency=4)
    assert isinstance(dataset, torch.utils.data.IterableDataset)
    loader_ = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=3, multiprocessing_context=method,
                                          worker_init_fn=native_not_loaded)
    by_worker = _by_worker(list(loader_))
    assert by_worker == {w: KEYS[w::3] for w in range(3)}


def test_torch_classes_and_distributed_shards(storj_network: StorjNetwork, data_bucket: str) -> None:
    """TorchObjectIterableDataset is built on first use, pickles by name and is rebuilt in
    the worker; shard=(rank, world) and the worker split combine."""
    import torch
    from uplink_py import loader

    dataset = loader.TorchObjectIterableDataset(storj_network.access, data_bucket, KEYS, key_digest_worker,
                                                shard=(1, 2))
    assert isinstance(loader.TorchObjectDataset("g", "b", ["k"]), torch.utils.data.Dataset)
    assert b"TorchObjectIterableDataset" in pickle.dumps(dataset)
    loader_ = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=2, multiprocessing_context="spawn")
    # rank 1 of 2, then worker w of 2: keys[1*2 + w :: 4]
    assert _by_worker(list(loader_)) == {0: KEYS[2::4], 1: KEYS[3::4]}
    assert [k for k, _, _ in map(tuple, dataset)] == KEYS[1::2]  # outside a DataLoader: the rank's whole slice


def test_torch_classes_without_torch() -> None:
    # torch made unimportable in a child (None in sys.modules makes `import torch` fail).
    code = ("import sys\nsys.modules['torch'] = None\nimport uplink_py.loader as l\ntry:\n"
            "    l.TorchObjectDataset\nexcept ImportError as e:\n    print(e)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert "needs PyTorch" in res.stdout


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_map_dataset_in_dataloader_workers(access: Any, data_bucket: str, method: str) -> None:
    import torch
    from uplink_py.loader import TorchObjectDataset

    dataset = TorchObjectDataset(access, data_bucket, KEYS, key_and_digest)
    assert len(dataset) == len(KEYS)
    assert dataset[5] == _digests([KEYS[5]])[0]  # the parent may use it too: spawn/forkserver don't mind
    pickled = pickle.dumps(dataset)
    assert b"_core" not in pickled and b"Project" not in pickled  # credentials travel, never a project
    loader_ = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=2, multiprocessing_context=method)
    assert [tuple(item) for item in loader_] == _digests(KEYS)  # in order, whatever worker read each


def test_fork_after_use_is_refused(access: Any, data_bucket: str) -> None:
    """This process has loaded the Go runtime: a forked DataLoader worker gets ForkedProcessError."""
    import torch
    from uplink_py.errors import ForkedProcessError
    from uplink_py.loader import TorchObjectDataset

    dataset = TorchObjectDataset(access, data_bucket, KEYS)
    assert dataset[0][0] == KEYS[0]  # used here first
    loader_ = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=1, multiprocessing_context="fork")
    with pytest.raises(ForkedProcessError, match="spawn"):
        next(iter(loader_))
    with multiprocessing.get_context("fork").Pool(1) as pool:  # plain multiprocessing too
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


# ---------------------------------------------------------------- dataset features


def header_and_tail(key: str, reader: Any) -> tuple[str, bytes, bytes, int]:
    """A reader transform (picklable): 16 bytes at the start, 16 at the end, and the size."""
    head = reader.read(16)
    reader.seek(-16, 2)
    return key, head, reader.read(16), reader.size


def test_datasets_from_a_prefix(access: Any, data_bucket: str) -> None:
    from uplink_py.loader import ObjectDataset, ObjectIterableDataset

    mapped = ObjectDataset.from_prefix(access, data_bucket, "data/", transform=key_and_digest)
    assert mapped.keys == KEYS and [mapped[i] for i in (0, 39)] == _digests([KEYS[0], KEYS[39]])
    iterable = ObjectIterableDataset.from_prefix(access, data_bucket, "data/", key_and_digest, max_concurrency=4)
    assert list(iterable) == _digests(KEYS)
    assert ObjectDataset.from_prefix(access, data_bucket, "nothing-here/").keys == []


def test_iterable_dataset_shuffles_per_epoch_across_real_workers(storj_network: StorjNetwork,
                                                                 data_bucket: str) -> None:
    """shuffle=True: the same seed and epoch give the same order in every worker (each key
    once per epoch across 2 spawned DataLoader workers), another epoch another order."""
    import torch
    from uplink_py.loader import TorchObjectIterableDataset

    dataset = TorchObjectIterableDataset(storj_network.access, data_bucket, KEYS, key_digest_worker, shuffle=True,
                                         seed=7)
    orders = []
    for epoch in (0, 1):
        dataset.set_epoch(epoch)
        want = dataset.epoch_keys()
        loader_ = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=2, multiprocessing_context="spawn")
        assert _by_worker(list(loader_)) == {w: want[w::2] for w in range(2)}
        orders.append(want)
    assert sorted(orders[0]) == sorted(KEYS) and orders[0] != orders[1] and orders[0] != KEYS
    again = TorchObjectIterableDataset(storj_network.access, data_bucket, KEYS, shuffle=True, seed=7)
    again.set_epoch(1)
    assert again.epoch_keys() == orders[1]  # seeded: reproducible


def test_a_failed_object_raises_or_is_skipped(access: Any, data_bucket: str) -> None:
    from uplink_py.errors import ObjectNotFoundError
    from uplink_py.loader import ObjectIterableDataset, ObjectLoader, SkippedObjectWarning

    keys = [KEYS[0], "data/missing.bin", KEYS[1]]
    with pytest.raises(ObjectNotFoundError):
        list(ObjectIterableDataset(access, data_bucket, keys))
    with pytest.warns(SkippedObjectWarning, match="missing"):
        got = [k for k, _ in ObjectIterableDataset(access, data_bucket, keys, on_error="skip")]
    assert got == [KEYS[0], KEYS[1]]
    loader_ = ObjectLoader(access, data_bucket, keys, on_error="skip", copy=True)
    with pytest.warns(SkippedObjectWarning):
        assert [k for k, _ in loader_] == [KEYS[0], KEYS[1]]
    assert loader_.stats.skipped == 1 and loader_.stats.objects == 2
    with pytest.warns(SkippedObjectWarning):  # the reader mode skips too
        got = [k for k, *_ in ObjectIterableDataset(access, data_bucket, keys, header_and_tail, item="reader",
                                                    on_error="skip")]
    assert got == [KEYS[0], KEYS[1]]
    with pytest.raises(ValueError):
        ObjectLoader(access, data_bucket, keys, on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ObjectIterableDataset(access, data_bucket, keys, item="bytes")  # type: ignore[arg-type]


def test_retries_outlast_a_transient_failure(access: Any, data_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first attempt of every object fails with a network error (the real download
    runs on the second): retries=1 gets every object whole, retries=0 raises."""
    from uplink_py import loader
    from uplink_py.errors import InternalError
    from uplink_py.project import Project

    failed: set[str] = set()
    real = Project.download_object

    def flaky(self: Any, bucket: str, key: str, *args: Any, **kwargs: Any) -> Any:
        if key not in failed:
            failed.add(key)
            raise InternalError("connection reset by peer (injected)")
        return real(self, bucket, key, *args, **kwargs)

    monkeypatch.setattr(Project, "download_object", flaky)
    monkeypatch.setattr(loader, "RETRY_PAUSE", 0.01)
    keys = KEYS[:6]
    got = [(k, hashlib.sha256(a).hexdigest()) for k, a in loader.ObjectLoader(access, data_bucket, keys, retries=1,
                                                                            copy=True)]
    assert got == _digests(keys)
    assert [loader.ObjectDataset(access, data_bucket, [KEYS[7]], key_and_digest, retries=1)[0]] == _digests([KEYS[7]])
    failed.clear()
    with pytest.raises(InternalError, match="injected"):
        list(loader.ObjectLoader(access, data_bucket, keys, retries=0))


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_reader_items_in_dataloader_workers(storj_network: StorjNetwork, data_bucket: str, method: str) -> None:
    """item="reader": the transform gets a seekable reader and reads only what it needs."""
    import torch
    from uplink_py.loader import TorchObjectDataset, TorchObjectIterableDataset

    want = [(k, BLOBS[k][:16], BLOBS[k][-16:], len(BLOBS[k])) for k in KEYS[:8]]
    mapped = TorchObjectDataset(storj_network.access, data_bucket, KEYS[:8], header_and_tail, item="reader")
    loader_ = torch.utils.data.DataLoader(mapped, batch_size=None, num_workers=2, multiprocessing_context=method)
    assert [tuple(x) for x in loader_] == want
    iterable = TorchObjectIterableDataset(storj_network.access, data_bucket, KEYS[:8], header_and_tail,
                                          item="reader")
    loader_ = torch.utils.data.DataLoader(iterable, batch_size=None, num_workers=2, multiprocessing_context=method)
    assert sorted(tuple(x) for x in loader_) == sorted(want)
