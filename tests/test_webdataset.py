"""WebDataset shards on the local network with the registry's webdataset: written through
``wds.TarWriter`` onto ``sj://``, read back by ``wds.WebDataset`` both through our opener
(``uplink_py.wds.register``) and through webdataset's ``pipe:`` route over ``uplink-py cat``,
and in real DataLoader workers; samples compared by content."""

from __future__ import annotations

import hashlib
import os
import sys
from typing import Any

import pytest

from conftest import StorjNetwork

wds = pytest.importorskip("webdataset")

pytestmark = pytest.mark.integration

SHARDS, PER_SHARD = 3, 20


def sample(shard: int, i: int) -> dict[str, Any]:
    key = f"s{shard:02d}-{i:03d}"
    return {"__key__": key, "bin": hashlib.shake_256(key.encode()).digest(5000 + 97 * i), "cls": str(i % 10).encode()}


@pytest.fixture(scope="module")
def shards(storj_network: StorjNetwork, module_bucket: str) -> str:
    import uplink_py.wds

    uplink_py.wds.register(storj_network.access)
    for s in range(SHARDS):
        with wds.TarWriter(f"sj://{module_bucket}/shards/train-{s:04d}.tar") as sink:
            for i in range(PER_SHARD):
                sink.write(sample(s, i))
    return f"{module_bucket}/shards/train-{{0000..{SHARDS - 1:04d}}}.tar"


def expected() -> dict[str, bytes]:
    return {x["__key__"]: x["bin"] for s in range(SHARDS) for i in range(PER_SHARD) for x in [sample(s, i)]}


def test_read_through_the_registered_opener(shards: str) -> None:
    got = {x["__key__"]: x["bin"] for x in wds.WebDataset(f"sj://{shards}", shardshuffle=False)}
    assert got == expected()


def test_read_through_pipe_and_uplink_py_cat(storj_network: StorjNetwork, shards: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORJ_ACCESS", storj_network.access)
    bucket, pattern = shards.split("/", 1)
    url = f"pipe:{sys.executable} -m uplink_py cat sj://{bucket}/{pattern}"
    got = {x["__key__"]: x["bin"] for x in wds.WebDataset(url, shardshuffle=False)}
    assert got == expected()


def test_a_missing_shard_is_an_error_not_an_empty_one(shards: str) -> None:
    from uplink_py.errors import ObjectNotFoundError

    bucket = shards.split("/", 1)[0]
    with pytest.raises(ObjectNotFoundError):
        list(wds.WebDataset(f"sj://{bucket}/shards/absent.tar", shardshuffle=False))


def decode(x: dict[str, Any]) -> tuple[str, str]:
    return x["__key__"], hashlib.sha256(x["bin"]).hexdigest()


def register_in_worker(_: int) -> None:
    import uplink_py.wds

    uplink_py.wds.register()  # STORJ_ACCESS, inherited from the parent's environment


def test_webdataset_in_dataloader_workers(storj_network: StorjNetwork, shards: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setenv("STORJ_ACCESS", storj_network.access)
    dataset = wds.WebDataset(f"sj://{shards}", shardshuffle=False, nodesplitter=wds.split_by_node,
                             workersplitter=wds.split_by_worker).map(decode)
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=2, multiprocessing_context="spawn",
                                         worker_init_fn=register_in_worker)
    got = dict(loader)
    assert got == {k: hashlib.sha256(v).hexdigest() for k, v in expected().items()}
    assert os.environ["STORJ_ACCESS"] == storj_network.access


def test_a_shard_whose_writing_fails_is_not_stored(shards: str) -> None:
    """TarWriter closes its file (after writing the tar's end) even when its block raises:
    the truncated shard, which would look valid, must not be committed."""
    from uplink_py.errors import ObjectNotFoundError

    bucket = shards.split("/", 1)[0]

    class Boom(Exception):
        pass

    with pytest.raises(Boom), wds.TarWriter(f"sj://{bucket}/shards/broken.tar") as sink:
        sink.write(sample(9, 0))
        raise Boom
    with pytest.raises(ObjectNotFoundError):
        list(wds.WebDataset(f"sj://{bucket}/shards/broken.tar", shardshuffle=False))
