"""Checkpoints with real PyTorch: ``torch.save``/``torch.load`` through ``fsspec.open`` and
``torch.distributed.checkpoint`` through its fsspec writer and reader, onto the local
network; tensors compared exactly, and a save that fails midway leaves the old one."""

from __future__ import annotations

import io
from typing import Any

import fsspec
import pytest

from conftest import StorjNetwork

torch = pytest.importorskip("torch")
dcp = pytest.importorskip("torch.distributed.checkpoint")

pytestmark = pytest.mark.integration


def model_state(seed: int) -> dict[str, Any]:
    g = torch.Generator().manual_seed(seed)
    return {"encoder.weight": torch.randn(1024, 1536, generator=g), "encoder.bias": torch.randn(1536, generator=g),
            "head.weight": torch.randn(1536, 10, generator=g).to(torch.bfloat16), "step": torch.tensor(seed)}


def assert_states_equal(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k].dtype == v.dtype and torch.equal(got[k], v), k


def test_torch_save_and_load_through_fsspec_open(storj_network: StorjNetwork, py_bucket: str) -> None:
    url, options = f"sj://{py_bucket}/ckpt/epoch1.pt", {"access": storj_network.access}
    state = model_state(1)  # 6.3 MiB: more than one 5 MiB part
    with fsspec.open(url, "wb", part_size=5 << 20, **options) as f:
        torch.save(state, f)
    with fsspec.open(url, "rb", **options) as f:
        assert_states_equal(torch.load(f, weights_only=True), state)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), fsspec.open(url, "wb", part_size=5 << 20, **options) as f:
        torch.save(model_state(2), f)
        raise Boom  # the second save fails: the first checkpoint stays
    with fsspec.open(url, "rb", **options) as f:
        assert_states_equal(torch.load(io.BufferedReader(f), weights_only=True), state)


def test_distributed_checkpoint_through_fsspec(storj_network: StorjNetwork, py_bucket: str) -> None:
    """dcp.save/dcp.load (one process, no process group) with torch's FsspecWriter and
    FsspecReader on sj://: the .metadata file, the per-rank data files, renames and the
    reader's ranged reads all go through our filesystem."""
    from torch.distributed.checkpoint import FsspecReader, FsspecWriter

    path, options = f"sj://{py_bucket}/dcp/step-100", {"access": storj_network.access}
    state = model_state(3)
    dcp.save(state, storage_writer=FsspecWriter(path, **options))
    fs = fsspec.filesystem("sj", **options)
    names = {n.rsplit("/", 1)[-1] for n in fs.ls(path, detail=False)}
    assert ".metadata" in names and any(n.endswith(".distcp") for n in names), names
    target = {k: torch.zeros_like(v) for k, v in state.items()}
    dcp.load(target, storage_reader=FsspecReader(path, **options))
    assert_states_equal(target, state)
