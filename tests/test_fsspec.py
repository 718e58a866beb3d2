"""The fsspec filesystem (``sj://``): every method against the local network, with content
checks (sha256, exact ranges); pickling; pandas (parquet, csv) and pyarrow through it."""

from __future__ import annotations

import errno
import gc
import hashlib
import io
import os
import pickle
import random
import subprocess
import sys
import threading
import warnings
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import fsspec
import pytest

from conftest import StorjNetwork, assert_same_bytes, random_bytes, sha256, unique_bucket_name
from uplink_py.fsspec import StorjFile, StorjFileSystem
from uplink_py.module_classes import ListObjectsOptions

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


def ensure_registered() -> None:
    """Use the installed ``fsspec.specs`` entry point; register the class only where the
    package was installed without it (a tree under development)."""
    from fsspec.registry import known_implementations, registry

    for protocol in ("sj", "storj"):
        if protocol not in known_implementations and protocol not in registry:
            fsspec.register_implementation(protocol, StorjFileSystem)


ensure_registered()


@pytest.fixture
def fs(storj_network: StorjNetwork) -> StorjFileSystem:
    """A filesystem of its own for the test (no listings shared with other tests)."""
    return StorjFileSystem(access=storj_network.access, skip_instance_cache=True)


def put(fs: StorjFileSystem, path: str, data: bytes) -> None:
    fs.pipe_file(path, data)


# ---------------------------------------------------------------- registration and options


def test_entry_point_names_the_class() -> None:
    eps = {ep.name: ep.value for ep in entry_points(group="fsspec.specs")}
    assert eps.get("sj") == "uplink_py.fsspec:StorjFileSystem"
    assert eps.get("storj") == "uplink_py.fsspec:StorjFileSystem"


def test_fsspec_filesystem_and_url_to_fs(storj_network: StorjNetwork, bucket: str) -> None:
    sj = fsspec.filesystem("sj", access=storj_network.access)
    storj = fsspec.filesystem("storj", access=storj_network.access)
    assert type(sj) is StorjFileSystem and type(storj) is StorjFileSystem
    assert sj is storj  # same options, same thread: fsspec's instance cache
    fs, path = fsspec.core.url_to_fs(f"sj://{bucket}/a/b.txt", access=storj_network.access)
    assert isinstance(fs, StorjFileSystem) and path == f"{bucket}/a/b.txt"
    with fsspec.open(f"storj://{bucket}/x.bin", "wb", access=storj_network.access) as f:
        f.write(b"through fsspec.open")
    with fsspec.open(f"sj://{bucket}/x.bin", "rb", access=storj_network.access) as f:
        assert f.read() == b"through fsspec.open"
    assert fs.unstrip_protocol(f"{bucket}/x.bin") == f"sj://{bucket}/x.bin"


def test_options_are_checked(storj_network: StorjNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORJ_ACCESS", raising=False)
    with pytest.raises(ValueError, match="no Storj credentials"):
        StorjFileSystem(skip_instance_cache=True)
    with pytest.raises(ValueError, match="not both"):
        StorjFileSystem(access=storj_network.access, satellite=storj_network.satellite, skip_instance_cache=True)
    with pytest.raises(ValueError, match="together"):
        StorjFileSystem(satellite=storj_network.satellite, api_key=storj_network.api_key, skip_instance_cache=True)
    with pytest.raises(TypeError, match="serialize"):
        StorjFileSystem(access=object(), skip_instance_cache=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_concurrency"):
        StorjFileSystem(access=storj_network.access, max_concurrency=0, skip_instance_cache=True)
    fs = StorjFileSystem(access=storj_network.access, skip_instance_cache=True)
    for text in (repr(fs), str(fs)):
        assert storj_network.access not in text and storj_network.api_key not in text


def test_from_access_object(storj_network: StorjNetwork, access, bucket: str) -> None:  # type: ignore[no-untyped-def]
    fs = StorjFileSystem.from_access(access, skip_instance_cache=True)
    fs.pipe_file(f"{bucket}/k", b"from an Access")
    assert fs.cat_file(f"{bucket}/k") == b"from an Access"
    assert fs.storage_options["access"] == access.serialize()


def test_satellite_api_key_passphrase(storj_network: StorjNetwork, fs: StorjFileSystem, bucket: str) -> None:
    data = random_bytes(10_000)
    put(fs, f"{bucket}/by-grant", data)
    by_passphrase = StorjFileSystem(
        satellite=storj_network.satellite, api_key=storj_network.api_key, passphrase=storj_network.passphrase,
        skip_instance_cache=True,
    )
    assert bucket in by_passphrase.ls("", detail=False)
    # The test network's grant derives from the same passphrase: same encryption, same bytes.
    assert_same_bytes(by_passphrase.cat_file(f"{bucket}/by-grant"), data)
    by_passphrase.pipe_file(f"{bucket}/by-passphrase", b"pp")
    assert fs.cat_file(f"{bucket}/by-passphrase") == b"pp"


def test_storj_access_environment_variable(
    storj_network: StorjNetwork, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORJ_ACCESS", storj_network.access)
    fs = StorjFileSystem(skip_instance_cache=True)
    fs.pipe_file(f"{bucket}/env", b"from the environment")
    # The pickle carries the grant, so a process without the variable can use it.
    monkeypatch.delenv("STORJ_ACCESS")
    clone = pickle.loads(pickle.dumps(fs))
    assert clone.cat_file(f"{bucket}/env") == b"from the environment"


# ---------------------------------------------------------------- whole objects


@pytest.mark.parametrize("size", [0, 1, 4097, 3 * MiB + 5])
def test_pipe_and_cat_round_trip(fs: StorjFileSystem, bucket: str, size: int) -> None:
    data = random_bytes(size)
    fs.pipe(f"sj://{bucket}/dir/obj-{size}", data)
    got = fs.cat(f"sj://{bucket}/dir/obj-{size}")
    assert sha256(got) == sha256(data) and len(got) == size
    assert fs.info(f"{bucket}/dir/obj-{size}")["size"] == size


def test_pipe_and_cat_in_parallel_parts(storj_network: StorjNetwork, bucket: str) -> None:
    fs = StorjFileSystem(access=storj_network.access, part_size=1 * MiB, max_concurrency=4, skip_instance_cache=True)
    data = random_bytes(5 * MiB + 123)
    fs.pipe_file(f"{bucket}/parts", data)
    assert_same_bytes(fs.cat_file(f"{bucket}/parts"), data)


def test_pipe_create_mode_and_metadata(fs: StorjFileSystem, bucket: str) -> None:
    fs.pipe_file(f"{bucket}/m", b"v1", metadata={"color": "blue"})
    assert fs.info(f"{bucket}/m")["metadata"] == {"color": "blue"}
    with pytest.raises(FileExistsError):
        fs.pipe_file(f"{bucket}/m", b"v2", mode="create")
    assert fs.cat_file(f"{bucket}/m") == b"v1"
    fs.pipe({f"{bucket}/p1": b"one", f"{bucket}/p2": b"two"})
    assert fs.cat([f"{bucket}/p1", f"{bucket}/p2"]) == {f"{bucket}/p1": b"one", f"{bucket}/p2": b"two"}


def test_cat_file_exact_ranges(fs: StorjFileSystem, bucket: str) -> None:
    data = random_bytes(1 * MiB + 333)
    path = f"{bucket}/ranges"
    put(fs, path, data)
    n = len(data)
    cases = [
        (None, None), (0, None), (0, 1), (5, 6), (100, 5000), (n - 10, None), (n - 10, n + 10),
        (-100, None), (-100, -50), (10, -10), (None, 77), (n, None), (n + 5, n + 10), (50, 50), (60, 40),
        (-(n + 50), 10),
    ]
    for start, end in cases:
        assert_same_bytes(fs.cat_file(path, start, end), data[slice(start, end)])


def test_cat_ranges_concurrent_and_errors(fs: StorjFileSystem, bucket: str) -> None:
    objects = {f"{bucket}/r{i}": random_bytes(200_000 + i) for i in range(4)}
    for path, data in objects.items():
        put(fs, path, data)
    rng = random.Random(6)
    paths, starts, ends = [], [], []
    for _ in range(40):
        path = rng.choice(sorted(objects))
        start = rng.randrange(0, 200_000)
        paths.append(path)
        starts.append(start)
        ends.append(start + rng.randrange(0, 5000))
    got = fs.cat_ranges(paths, starts, ends)
    assert got == [objects[p][s:e] for p, s, e in zip(paths, starts, ends)]
    # The worker threads run at once: concurrent ranged downloads from one project.
    mixed = fs.cat_ranges([paths[0], f"{bucket}/missing", paths[1]], 0, 10)
    assert mixed[0] == objects[paths[0]][:10] and mixed[2] == objects[paths[1]][:10]
    assert isinstance(mixed[1], FileNotFoundError)
    with pytest.raises(FileNotFoundError):
        fs.cat_ranges([paths[0], f"{bucket}/missing"], 0, 10, on_error="raise")
    with pytest.raises(ValueError):
        fs.cat_ranges([paths[0]], [0, 1], 10)


def test_cat_ranges_run_concurrently(fs: StorjFileSystem, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = random_bytes(100_000)
    put(fs, f"{bucket}/c", data)
    seen: set[int] = set()
    barrier = threading.Barrier(3, timeout=30)
    original = fs._read

    def traced(bucket_: str, key: str, start: int | None, end: int | None, version: str | None) -> bytes:
        seen.add(threading.get_ident())
        barrier.wait()  # three ranges in flight at once, or this times out
        return original(bucket_, key, start, end, version)

    monkeypatch.setattr(fs, "_read", traced)
    got = fs.cat_ranges([f"{bucket}/c"] * 3, [0, 10, 20], [5, 15, 25])
    assert len(seen) == 3
    assert got == [data[0:5], data[10:15], data[20:25]]


def test_cp_file_on_the_satellite(fs: StorjFileSystem, bucket: str) -> None:
    data = random_bytes(70_000)
    put(fs, f"{bucket}/src", data)
    fs.cp_file(f"{bucket}/src", f"{bucket}/sub/dst")
    assert_same_bytes(fs.cat_file(f"{bucket}/sub/dst"), data)
    fs.mv(f"{bucket}/sub/dst", f"{bucket}/moved")
    assert not fs.exists(f"{bucket}/sub/dst") and fs.cat_file(f"{bucket}/moved") == data


# ---------------------------------------------------------------- listing


@pytest.fixture
def tree(fs: StorjFileSystem, bucket: str) -> dict[str, bytes]:
    files = {
        f"{bucket}/top.txt": b"top",
        f"{bucket}/a/one.csv": b"1,2\n",
        f"{bucket}/a/two.txt": b"two",
        f"{bucket}/a/b/three.txt": b"three",
        f"{bucket}/a/b/c/four.bin": b"\x00" * 4,
        f"{bucket}/z/five.txt": b"five",
    }
    fs.pipe(files)
    return files


def test_ls_root_lists_buckets(fs: StorjFileSystem, bucket: str) -> None:
    names = fs.ls("", detail=False)
    assert bucket in names and names == sorted(names)
    entry = next(e for e in fs.ls("sj://", detail=True) if e["name"] == bucket)
    assert entry["type"] == "directory" and entry["created"] > 0


def test_ls_detail_and_names(fs: StorjFileSystem, bucket: str, tree: dict[str, bytes]) -> None:
    assert fs.ls(bucket, detail=False) == [f"{bucket}/a", f"{bucket}/top.txt", f"{bucket}/z"]
    entries = fs.ls(f"sj://{bucket}/a/", detail=True)
    assert [(e["name"], e["type"], e["size"]) for e in entries] == [
        (f"{bucket}/a/b", "directory", 0),
        (f"{bucket}/a/one.csv", "file", 4),
        (f"{bucket}/a/two.txt", "file", 3),
    ]
    assert all(e["mtime"] > 0 for e in entries if e["type"] == "file")
    # a file lists as itself
    assert fs.ls(f"{bucket}/top.txt", detail=False) == [f"{bucket}/top.txt"]
    with pytest.raises(FileNotFoundError):
        fs.ls(f"{bucket}/nothing")
    with pytest.raises(FileNotFoundError):
        fs.ls(unique_bucket_name("no-such-bucket"))


def test_listings_cache_invalidated_by_writes(fs: StorjFileSystem, bucket: str, tree: dict[str, bytes]) -> None:
    before = fs.ls(f"{bucket}/a", detail=False)
    assert f"{bucket}/a" in fs.dircache
    fs.pipe_file(f"{bucket}/a/new.txt", b"n")
    assert fs.ls(f"{bucket}/a", detail=False) == sorted([*before, f"{bucket}/a/new.txt"])
    with fs.open(f"{bucket}/a/newer.txt", "wb") as f:
        f.write(b"x")
    assert f"{bucket}/a/newer.txt" in fs.ls(f"{bucket}/a", detail=False)
    fs.rm(f"{bucket}/a/new.txt")
    assert f"{bucket}/a/new.txt" not in fs.ls(f"{bucket}/a", detail=False)
    # A write by someone else shows with refresh=True.
    other = StorjFileSystem(access=fs.storage_options["access"], skip_instance_cache=True)
    other.pipe_file(f"{bucket}/a/elsewhere", b"e")
    assert f"{bucket}/a/elsewhere" in fs.ls(f"{bucket}/a", detail=False, refresh=True)


def test_info_and_exists(fs: StorjFileSystem, bucket: str, tree: dict[str, bytes]) -> None:
    info = fs.info(f"sj://{bucket}/a/b/three.txt")
    assert info["name"] == f"{bucket}/a/b/three.txt" and info["type"] == "file" and info["size"] == 5
    assert info["created"] > 0 and info["expires"] is None and info["metadata"] == {}
    assert fs.info(f"{bucket}/a")["type"] == "directory"
    assert fs.info(f"{bucket}/a/b/")["type"] == "directory"
    bucket_info = fs.info(bucket)
    assert bucket_info["name"] == bucket and bucket_info["type"] == "directory" and bucket_info["created"] > 0
    assert fs.info("")["type"] == "directory"
    assert fs.isdir(f"{bucket}/a/b") and not fs.isfile(f"{bucket}/a/b")
    assert fs.isfile(f"{bucket}/top.txt") and not fs.isdir(f"{bucket}/top.txt")
    assert fs.size(f"{bucket}/a/b/c/four.bin") == 4
    assert fs.created(f"{bucket}/top.txt").timestamp() == fs.info(f"{bucket}/top.txt")["created"]
    assert fs.modified(f"{bucket}/top.txt") == fs.created(f"{bucket}/top.txt")
    for missing in (f"{bucket}/nope", f"{bucket}/a/b/thr", f"{bucket}/to", unique_bucket_name("nob"), "nob/x"):
        with pytest.raises(FileNotFoundError):
            fs.info(missing)
        assert not fs.exists(missing)
    assert fs.exists(f"{bucket}/a") and fs.exists(bucket) and fs.exists(f"{bucket}/top.txt")
    assert not fs.exists("Invalid_Bucket_Name!")


def test_prefix_marker_objects(fs: StorjFileSystem, bucket: str) -> None:
    # Some tools store an empty "dir/" object to make a folder visible.
    fs.project.upload_bytes(bucket, "empty-dir/", b"")
    fs.pipe_file(f"{bucket}/full-dir/x", b"x")
    fs.project.upload_bytes(bucket, "full-dir/", b"")
    assert fs.info(f"{bucket}/empty-dir")["type"] == "directory"
    assert fs.ls(f"{bucket}/empty-dir") == []
    assert fs.ls(f"{bucket}/full-dir", detail=False) == [f"{bucket}/full-dir/x"]
    assert fs.find(bucket) == [f"{bucket}/full-dir/x"]
    assert fs.find(bucket, withdirs=True) == [bucket, f"{bucket}/empty-dir", f"{bucket}/full-dir", f"{bucket}/full-dir/x"]
    with pytest.raises(OSError) as exc:
        fs.rmdir(f"{bucket}/full-dir")
    assert exc.value.errno == errno.ENOTEMPTY
    fs.rmdir(f"{bucket}/empty-dir")
    assert not fs.exists(f"{bucket}/empty-dir")
    fs.rm(f"{bucket}/full-dir", recursive=True)
    assert fs.ls(bucket) == [] and fs.project.list_objects(bucket) == []


def restricted_grant(fs: StorjFileSystem, bucket: str) -> str:
    """A grant that reaches only ``bucket`` (with every permission)."""
    from uplink_py import Permission, SharePrefix, Uplink

    parent = Uplink().parse_access(fs.storage_options["access"])
    return parent.share(Permission(True, True, True, True), [SharePrefix(bucket)]).serialize()


def test_find_with_nested_marker(fs: StorjFileSystem, bucket: str) -> None:
    fs.project.upload_bytes(bucket, "m1/m2/", b"")
    assert fs.find(bucket) == []
    assert fs.find(bucket, withdirs=True) == [bucket, f"{bucket}/m1", f"{bucket}/m1/m2"]
    assert fs.glob(f"{bucket}/**") == [bucket, f"{bucket}/m1", f"{bucket}/m1/m2"]  # fsspec: ** matches zero levels too
    assert fs.isdir(f"{bucket}/m1/m2") and fs.ls(f"{bucket}/m1", detail=False) == [f"{bucket}/m1/m2"]


def test_find(fs: StorjFileSystem, bucket: str, tree: dict[str, bytes]) -> None:
    assert fs.find(bucket) == sorted(tree)
    assert fs.find(f"sj://{bucket}/a") == sorted(p for p in tree if p.startswith(f"{bucket}/a/"))
    assert fs.find(f"{bucket}/a", maxdepth=1) == [f"{bucket}/a/one.csv", f"{bucket}/a/two.txt"]
    assert fs.find(f"{bucket}/a", withdirs=True) == [
        f"{bucket}/a", f"{bucket}/a/b", f"{bucket}/a/b/c", f"{bucket}/a/b/c/four.bin", f"{bucket}/a/b/three.txt",
        f"{bucket}/a/one.csv", f"{bucket}/a/two.txt",
    ]
    detail = fs.find(bucket, detail=True)
    assert {k: v["size"] for k, v in detail.items()} == {k: len(v) for k, v in tree.items()}
    assert fs.find(f"{bucket}/top.txt") == [f"{bucket}/top.txt"]
    assert fs.find(f"{bucket}/nothing") == []
    # The root: every bucket the grant reaches (here one, through a restricted grant,
    # since the shared test network holds other sessions' buckets).
    restricted = StorjFileSystem(access=restricted_grant(fs, bucket), skip_instance_cache=True)
    assert restricted.ls("", detail=False) == [bucket]
    assert restricted.find("") == sorted(tree)
    assert restricted.find("", withdirs=True) == sorted({*tree, bucket, f"{bucket}/a", f"{bucket}/a/b", f"{bucket}/a/b/c", f"{bucket}/z"})
    assert fs.du(f"{bucket}/a") == sum(len(v) for k, v in tree.items() if k.startswith(f"{bucket}/a/"))


def test_glob(fs: StorjFileSystem, bucket: str, tree: dict[str, bytes]) -> None:
    assert fs.glob(f"sj://{bucket}/*.txt") == [f"{bucket}/top.txt"]
    assert fs.glob(f"{bucket}/*") == [f"{bucket}/a", f"{bucket}/top.txt", f"{bucket}/z"]
    assert fs.glob(f"{bucket}/**/*.txt") == sorted(p for p in tree if p.endswith(".txt"))
    assert fs.glob(f"{bucket}/a/*/*.txt") == [f"{bucket}/a/b/three.txt"]
    assert fs.glob(f"{bucket}/?/five.*") == [f"{bucket}/z/five.txt"]
    assert fs.glob(f"{bucket}/a/[ot]*") == [f"{bucket}/a/one.csv", f"{bucket}/a/two.txt"]
    assert fs.glob(f"{bucket}/**/*.bin", detail=True)[f"{bucket}/a/b/c/four.bin"]["size"] == 4
    assert fs.glob(f"{bucket}/none*") == []


# ---------------------------------------------------------------- buckets, rm


def test_mkdir_makedirs_rmdir_buckets(fs: StorjFileSystem) -> None:
    name = unique_bucket_name("fs-mkdir")
    other = unique_bucket_name("fs-mkdir-parents")
    try:
        fs.mkdir(f"sj://{name}")
        assert name in fs.ls("", detail=False)  # the root listing was invalidated
        with pytest.raises(FileExistsError):
            fs.mkdir(name)
        fs.makedirs(name, exist_ok=True)
        with pytest.raises(FileExistsError):
            fs.makedirs(name, exist_ok=False)
        fs.makedirs(f"{name}/deep/er", exist_ok=False)  # prefixes are virtual: nothing to exist
        fs.pipe_file(f"{name}/k", b"k")
        with pytest.raises(OSError) as exc:
            fs.rmdir(name)
        assert exc.value.errno == errno.ENOTEMPTY
        fs.rm_file(f"{name}/k")
        fs.rmdir(name)
        assert not fs.exists(name) and name not in fs.ls("", detail=False)
        fs.mkdir(f"{other}/a/b")  # create_parents: makes the bucket
        assert fs.exists(other)
        fs.rmdir(other)
        with pytest.raises(FileNotFoundError):
            fs.mkdir(f"{other}/a", create_parents=False)
        assert not fs.exists(other)
    finally:
        for b in (name, other):
            if fs.exists(b):
                fs.rm(b, recursive=True)


def test_rm_files_prefixes_and_buckets(fs: StorjFileSystem, bucket: str, tree: dict[str, bytes]) -> None:
    fs.rm(f"sj://{bucket}/top.txt")
    assert not fs.exists(f"{bucket}/top.txt")
    with pytest.raises(FileNotFoundError):
        fs.rm(f"{bucket}/top.txt")
    with pytest.raises(IsADirectoryError):
        fs.rm(f"{bucket}/a")
    fs.rm(f"{bucket}/a/b", recursive=True)
    assert fs.find(bucket) == [f"{bucket}/a/one.csv", f"{bucket}/a/two.txt", f"{bucket}/z/five.txt"]
    fs.rm([f"{bucket}/a/one.csv", f"{bucket}/a/two.txt"])
    assert fs.find(bucket) == [f"{bucket}/z/five.txt"]
    fs.rm(f"{bucket}/z/*")
    assert fs.find(bucket) == []
    with pytest.raises(PermissionError):
        fs.rm("sj://", recursive=True)


def test_rm_recursive_bucket(fs: StorjFileSystem) -> None:
    name = unique_bucket_name("fs-rm-bucket")
    fs.mkdir(name)
    fs.pipe({f"{name}/k{i}/v": b"%d" % i for i in range(12)})
    fs.rm(name, recursive=True)
    assert not fs.exists(name)
    with pytest.raises(FileNotFoundError):
        fs.project.stat_bucket(name)


def test_rm_many_objects_concurrently(fs: StorjFileSystem, bucket: str) -> None:
    fs.pipe({f"{bucket}/many/{i:03}": b"x" for i in range(30)})
    assert len(fs.find(f"{bucket}/many")) == 30
    fs.rm(f"{bucket}/many", recursive=True)
    assert fs.find(bucket) == [] and fs.project.list_objects(bucket) == []


# ---------------------------------------------------------------- put, get


def test_put_and_get_file_sha256(storj_network: StorjNetwork, bucket: str, tmp_path: Path) -> None:
    fs = StorjFileSystem(access=storj_network.access, part_size=2 * MiB, max_concurrency=4, skip_instance_cache=True)
    data = random_bytes(7 * MiB + 11)  # 4 parallel parts up and down
    local = tmp_path / "up.bin"
    local.write_bytes(data)
    sizes: list[int] = []

    class Recorder(fsspec.callbacks.Callback):
        def call(self, *args: object, **kwargs: object) -> None:
            sizes.append(self.value)

    fs.put_file(str(local), f"sj://{bucket}/big.bin", callback=Recorder())
    assert sizes and sizes[-1] == len(data)
    assert fs.info(f"{bucket}/big.bin")["size"] == len(data)
    down = tmp_path / "sub" / "down.bin"
    sizes.clear()
    fs.get_file(f"{bucket}/big.bin", str(down), callback=Recorder())
    assert sha256(down.read_bytes()) == sha256(data) and sizes[-1] == len(data)
    assert not [p for p in down.parent.iterdir() if p.name != "down.bin"]  # no partial files left
    out = io.BytesIO()
    fs.get_file(f"{bucket}/big.bin", out)
    assert sha256(out.getvalue()) == sha256(data)
    with pytest.raises(FileNotFoundError):
        fs.get_file(f"{bucket}/missing", str(tmp_path / "missing"))
    assert not (tmp_path / "missing").exists()
    with pytest.raises(FileExistsError):
        fs.put_file(str(local), f"{bucket}/big.bin", mode="create")
    with pytest.raises(FileNotFoundError):
        fs.put_file(str(local), f"{unique_bucket_name('nob')}/x")


def test_put_and_get_recursive(fs: StorjFileSystem, bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    files = {"a.txt": b"a" * 10, "d/b.bin": random_bytes(3000), "d/e/c.bin": random_bytes(70_000), "empty": b""}
    for rel, data in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)
    fs.put(str(src), f"sj://{bucket}/up", recursive=True)
    assert fs.find(f"{bucket}/up") == sorted(f"{bucket}/up/{rel}" for rel in files)
    for rel, data in files.items():
        assert fs.cat_file(f"{bucket}/up/{rel}") == data
    dst = tmp_path / "dst"
    fs.get(f"sj://{bucket}/up", str(dst), recursive=True)
    for rel, data in files.items():
        assert sha256((dst / rel).read_bytes()) == sha256(data), rel


# ---------------------------------------------------------------- open for reading


@pytest.fixture
def blob(fs: StorjFileSystem, bucket: str) -> tuple[str, bytes]:
    data = random_bytes(3 * MiB + 1234)
    path = f"{bucket}/blob.bin"
    put(fs, path, data)
    return path, data


def test_open_read_seek(fs: StorjFileSystem, blob: tuple[str, bytes]) -> None:
    path, data = blob
    with fs.open(f"sj://{path}", "rb", block_size=256 * 1024) as f:
        assert isinstance(f, StorjFile) and f.seekable() and f.readable() and not f.writable()
        assert f.size == len(data) and f.info()["size"] == len(data)
        rng = random.Random(4)
        for _ in range(60):
            whence = rng.choice([0, 1, 2])
            if whence == 0:
                target = rng.randrange(0, len(data) + 10)
                f.seek(target)
            elif whence == 1:
                target = max(0, f.tell() + rng.randrange(-1000, 1000))
                f.seek(target - f.tell(), 1)
            else:
                target = len(data) - rng.randrange(0, 5000)
                f.seek(target - len(data), 2)
            assert f.tell() == target
            n = rng.randrange(0, 300_000)
            assert_same_bytes(f.read(n), data[target:target + n])
        f.seek(0)
        assert sha256(f.read()) == sha256(data)
        assert f.read(10) == b""
        buffer = bytearray(1000)
        f.seek(17)
        assert f.readinto(buffer) == 1000 and buffer == data[17:1017]
        with pytest.raises(ValueError):
            f.seek(-1)
    assert f.closed
    with pytest.raises(ValueError):
        f.read()


def test_open_read_uses_ranged_downloads_and_readahead(
    fs: StorjFileSystem, blob: tuple[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    from uplink_py.engine import reader

    path, data = blob
    calls: list[tuple[int, int]] = []
    original = reader.read_range

    def traced(project: Any, pinned: Any, start: int, end: int, scope: Any) -> Any:  # a spy: the real read runs
        calls.append((start, end))
        return original(project, pinned, start, end, scope)

    monkeypatch.setattr(reader, "read_range", traced)
    block = 512 * 1024
    with fs.open(path, "rb", block_size=block) as f:
        chunks = [f.read(1000) for _ in range(400)]  # 400 KB of small sequential reads
    assert b"".join(chunks) == data[:400_000]
    assert calls == [(0, block)]  # one ranged download, the rest served from it; no read ahead yet
    calls.clear()
    with fs.open(path, "rb", block_size=block) as f:
        f.seek(2 * MiB)
        assert f.read(100) == data[2 * MiB:2 * MiB + 100]
    assert calls == [(2 * MiB, 2 * MiB + reader.MIN_RANDOM_READ)]  # a seek: what is needed, not the rest
    calls.clear()
    with fs.open(path, "rb", block_size=block) as f:  # reading through: ranges ahead, consecutive
        assert_same_bytes(f.read(), data)
    assert calls[0] == (0, block) and all(a[1] == b[0] for a, b in zip(calls, calls[1:]))
    assert calls[-1][1] == len(data)


@pytest.mark.parametrize("cache_type", ["readahead", "bytes", "blockcache", "first", "all", "none"])
def test_open_read_cache_types(fs: StorjFileSystem, blob: tuple[str, bytes], cache_type: str) -> None:
    path, data = blob
    with fs.open(path, "rb", block_size=300_000, cache_type=cache_type) as f:
        for start, length in [(0, 10), (2_000_000, 700_000), (5, 5), (len(data) - 3, 10), (1_000_000, 1)]:
            f.seek(start)
            assert_same_bytes(f.read(length), data[start:start + length])


def test_open_read_text_and_lines(fs: StorjFileSystem, bucket: str) -> None:
    text = "".join(f"line {i} é\n" for i in range(1000))
    with fs.open(f"{bucket}/t.txt", "w", encoding="utf-8") as f:
        f.write(text)
    with fs.open(f"{bucket}/t.txt", "r", encoding="utf-8") as f:
        assert f.read() == text
    with fs.open(f"{bucket}/t.txt", "rb", block_size=1000) as f:
        lines = list(f)
    assert len(lines) == 1000 and lines[999] == "line 999 é\n".encode()
    assert fs.read_text(f"{bucket}/t.txt", encoding="utf-8") == text


def test_open_errors(fs: StorjFileSystem, bucket: str, tree: dict[str, bytes]) -> None:
    with pytest.raises(FileNotFoundError):
        fs.open(f"{bucket}/missing", "rb")
    with pytest.raises(IsADirectoryError):
        fs.open(f"{bucket}/a", "rb")
    with pytest.raises(IsADirectoryError):
        fs.open(bucket, "wb")
    with pytest.raises(NotImplementedError):
        fs.open(f"{bucket}/top.txt", "ab")
    with pytest.raises(FileNotFoundError):
        fs.cat_file(f"{bucket}/missing")
    with pytest.raises(FileNotFoundError):
        fs.cat_file(f"{bucket}/missing", 5, 5)
    with pytest.raises(FileExistsError):
        fs.open(f"{bucket}/top.txt", "xb")
    with fs.open(f"{bucket}/fresh", "xb") as f:
        f.write(b"exclusive")
    assert fs.cat_file(f"{bucket}/fresh") == b"exclusive"


def test_pickled_read_file_resumes(fs: StorjFileSystem, blob: tuple[str, bytes]) -> None:
    path, data = blob
    with fs.open(path, "rb") as f:
        f.seek(12345)
        clone = pickle.loads(pickle.dumps(f))
    with clone:
        assert clone.tell() == 12345 and clone.read(1000) == data[12345:13345]


# ---------------------------------------------------------------- open for writing


def visible(fs: StorjFileSystem, bucket: str, key: str) -> bool:
    """Whether the object is on the network (a fresh listing, no cache)."""
    return any(o.key == key for o in fs.project.list_objects(bucket, ListObjectsOptions(recursive=True)))


def test_open_write_streams_blocks_and_commits_on_close(fs: StorjFileSystem, bucket: str) -> None:
    data = random_bytes(5 * MiB + 77)
    rng = random.Random(5)
    with fs.open(f"sj://{bucket}/w/streamed.bin", "wb", block_size=1 * MiB, metadata={"k": "v"}) as f:
        assert f.writable() and not f.readable() and not f.seekable()
        pos = 0
        while pos < len(data):
            n = rng.randrange(1, 700_000)
            assert f.write(data[pos:pos + n]) == len(data[pos:pos + n])
            pos += n
            if pos > 2 * MiB:
                # Blocks already went up the one upload stream; the object is not visible.
                assert f._upload is not None and f.offset >= 1 * MiB
                assert not visible(fs, bucket, "w/streamed.bin")
        assert f.tell() == len(data)
    assert visible(fs, bucket, "w/streamed.bin")
    info = fs.info(f"{bucket}/w/streamed.bin")
    assert info["size"] == len(data) and info["metadata"] == {"k": "v"}
    assert sha256(fs.cat_file(f"{bucket}/w/streamed.bin")) == sha256(data)


def test_open_write_empty_and_small(fs: StorjFileSystem, bucket: str) -> None:
    with fs.open(f"{bucket}/empty", "wb"):
        pass
    assert fs.info(f"{bucket}/empty")["size"] == 0 and fs.cat_file(f"{bucket}/empty") == b""
    fs.touch(f"{bucket}/touched")
    assert fs.cat_file(f"{bucket}/touched") == b""
    f = fs.open(f"{bucket}/small", "wb")
    f.write(b"abc")
    assert not visible(fs, bucket, "small")
    f.close()
    assert fs.cat_file(f"{bucket}/small") == b"abc"


def test_open_write_aborts_on_error(fs: StorjFileSystem, bucket: str) -> None:
    data = random_bytes(3 * MiB)
    with pytest.raises(RuntimeError, match="boom"):
        with fs.open(f"{bucket}/failed", "wb", block_size=1 * MiB) as f:
            f.write(data)  # three blocks already streamed
            assert f._upload is not None
            raise RuntimeError("boom")
    assert f.closed
    assert not visible(fs, bucket, "failed")
    assert fs.project.list_uploads(bucket) == []
    # An existing object is left as it was.
    fs.pipe_file(f"{bucket}/kept", b"old")
    with pytest.raises(KeyError):
        with fs.open(f"{bucket}/kept", "wb") as f:
            f.write(b"new")
            raise KeyError("x")
    assert fs.cat_file(f"{bucket}/kept") == b"old"


def test_open_write_discard_and_unclosed(fs: StorjFileSystem, bucket: str) -> None:
    f = fs.open(f"{bucket}/discarded", "wb", block_size=1 * MiB)
    f.write(random_bytes(2 * MiB))
    f.discard()
    assert f.closed
    f.close()  # no commit after discard
    assert not visible(fs, bucket, "discarded")

    def leave_unclosed() -> None:
        g = fs.open(f"{bucket}/dropped", "wb", block_size=1 * MiB)
        g.write(random_bytes(2 * MiB))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        leave_unclosed()
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) and "aborted" in str(w.message) for w in caught)
    assert not visible(fs, bucket, "dropped")


def test_transaction_commits_together(fs: StorjFileSystem, bucket: str) -> None:
    with fs.transaction:
        with fs.open(f"{bucket}/tx/a", "wb") as f:
            f.write(b"a")
        with fs.open(f"{bucket}/tx/b", "wb") as f:
            f.write(b"b")
        assert not visible(fs, bucket, "tx/a") and not visible(fs, bucket, "tx/b")
    assert fs.cat_file(f"{bucket}/tx/a") == b"a" and fs.cat_file(f"{bucket}/tx/b") == b"b"
    with pytest.raises(ZeroDivisionError):
        with fs.transaction:
            with fs.open(f"{bucket}/tx/c", "wb") as f:
                f.write(b"c")
            1 / 0
    assert not visible(fs, bucket, "tx/c")


# ---------------------------------------------------------------- processes and threads


def test_pickle_round_trip_same_process(storj_network: StorjNetwork, bucket: str) -> None:
    fs = StorjFileSystem(access=storj_network.access)
    blob = pickle.dumps(fs)
    assert b"Project" not in blob  # options only, never a project handle
    clone = pickle.loads(blob)
    assert clone is fs  # fsspec's instance cache: same options, same process and thread
    fs.pipe_file(f"{bucket}/pickled", b"p")
    assert clone.cat_file(f"{bucket}/pickled") == b"p"
    fresh = pickle.loads(pickle.dumps(StorjFileSystem(access=storj_network.access, skip_instance_cache=True)))
    assert fresh.cat_file(f"{bucket}/pickled") == b"p"


CHILD = r"""
import hashlib, os, pickle, sys
import uplink_py.engine.projects as m
fs = pickle.load(sys.stdin.buffer)
path = sys.argv[1]
data = fs.cat_file(path)
fs.pipe_file(path + ".child", data[::-1])
print(hashlib.sha256(data).hexdigest(), os.getpid(), len(m._projects))
"""


def test_import_and_construction_do_not_load_the_native_module() -> None:
    # A parent that only builds filesystems (a Dask client, a DataLoader) can still fork.
    code = (
        "import sys, fsspec; from uplink_py.fsspec import StorjFileSystem; "
        "fs = StorjFileSystem(access='not-parsed-yet'); fs2 = fsspec.filesystem('sj', access='x') "
        "if 'sj' in fsspec.available_protocols() else fs; import pickle; pickle.loads(pickle.dumps(fs)); "
        "print('uplink_py._core' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


def test_pickle_in_a_new_process_opens_its_own_project(storj_network: StorjNetwork, fs: StorjFileSystem, bucket: str) -> None:
    data = random_bytes(100_000)
    put(fs, f"{bucket}/to-child", data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORJ_")}  # the pickle is all it gets
    res = subprocess.run(
        [sys.executable, "-c", CHILD, f"{bucket}/to-child"], input=pickle.dumps(fs), capture_output=True,
        env=env, timeout=120,
    )
    assert res.returncode == 0, res.stderr.decode()
    digest, pid, projects = res.stdout.decode().split()
    assert digest == sha256(data) and int(pid) != os.getpid() and projects == "1"
    assert fs.cat_file(f"{bucket}/to-child.child") == data[::-1]


def test_forked_child_does_not_reuse_the_parents_project(fs: StorjFileSystem, bucket: str) -> None:
    import uplink_py.engine.projects as module
    from uplink_py.errors import ForkedProcessError

    put(fs, f"{bucket}/f", b"f")
    parent_project = fs.project
    assert module._projects[fs._credentials] is parent_project
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            dropped = fs._credentials not in module._projects
            try:
                fs.cat_file(f"{bucket}/f")
                outcome = "no error"
            except ForkedProcessError:
                outcome = "ForkedProcessError"
            except BaseException as exc:
                outcome = type(exc).__name__
            os.write(write, f"{dropped} {outcome}".encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        report = pipe.read().decode()
    os.waitpid(pid, 0)
    # The child forgot the parent's project and tried to open its own, which the Go
    # runtime cannot do after fork(): a clear error, never a hang or the parent's handles.
    assert report == "True ForkedProcessError"
    assert fs.cat_file(f"{bucket}/f") == b"f" and fs.project is parent_project


def test_threads_share_one_project(storj_network: StorjNetwork, bucket: str) -> None:
    objects = {f"{bucket}/t{i}": random_bytes(50_000 + i) for i in range(8)}
    StorjFileSystem(access=storj_network.access).pipe(objects)
    results: dict[str, tuple[str, int]] = {}

    def worker(path: str) -> None:
        fs = fsspec.filesystem("sj", access=storj_network.access)  # one instance per thread
        results[path] = (sha256(fs.cat_file(path)), id(fs.project))

    threads = [threading.Thread(target=worker, args=(p,)) for p in objects]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert {p: r[0] for p, r in results.items()} == {p: sha256(d) for p, d in objects.items()}
    assert len({r[1] for r in results.values()}) == 1


def test_close_reopens_on_next_use(storj_network: StorjNetwork, bucket: str) -> None:
    fs = StorjFileSystem(access=storj_network.access, skip_instance_cache=True)
    fs.pipe_file(f"{bucket}/c", b"c")
    first = fs.project
    fs.close()
    assert first.closed
    assert fs.cat_file(f"{bucket}/c") == b"c" and fs.project is not first


# ---------------------------------------------------------------- pandas and pyarrow


def frame(rows: int = 5000, seed: int = 0):  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.arange(rows, dtype="int64"),
        "value": rng.standard_normal(rows),
        "group": rng.choice(["a", "b", "c"], rows),
    })


def test_pandas_parquet(storj_network: StorjNetwork, bucket: str) -> None:
    import pandas as pd

    df = frame()
    options = {"access": storj_network.access}
    df.to_parquet(f"sj://{bucket}/tables/t.parquet", storage_options=options, row_group_size=1000)
    back = pd.read_parquet(f"sj://{bucket}/tables/t.parquet", storage_options=options)
    pd.testing.assert_frame_equal(back, df)
    cols = pd.read_parquet(f"sj://{bucket}/tables/t.parquet", storage_options=options, columns=["value"])
    assert list(cols.columns) == ["value"] and cols["value"].sum() == pytest.approx(df["value"].sum())


def test_pandas_csv(storj_network: StorjNetwork, bucket: str) -> None:
    import pandas as pd

    df = frame(2000, seed=1)
    options = {"access": storj_network.access}
    df.to_csv(f"sj://{bucket}/c.csv", storage_options=options, index=False)
    back = pd.read_csv(f"sj://{bucket}/c.csv", storage_options=options)
    pd.testing.assert_frame_equal(back, df, check_exact=False, check_dtype=False)
    df.to_csv(f"storj://{bucket}/c.csv.gz", storage_options=options, index=False, compression="gzip")
    raw = StorjFileSystem(access=storj_network.access).cat_file(f"{bucket}/c.csv.gz")
    assert raw[:2] == b"\x1f\x8b"  # really gzip on the network
    pd.testing.assert_frame_equal(
        pd.read_csv(f"sj://{bucket}/c.csv.gz", storage_options=options), back, check_exact=True
    )


def test_pyarrow_through_the_filesystem(fs: StorjFileSystem, bucket: str) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame(3000, seed=2), preserve_index=False)
    pq.write_table(table, f"{bucket}/pa/one.parquet", filesystem=fs, row_group_size=500)
    got = pq.read_table(f"{bucket}/pa/one.parquet", filesystem=fs)
    assert got.equals(table)
    with fs.open(f"{bucket}/pa/one.parquet", "rb") as f:
        meta = pq.ParquetFile(f).metadata
    assert meta.num_rows == 3000 and meta.num_row_groups == 6
    for i, part in enumerate(range(0, 3000, 1000)):
        pq.write_table(table.slice(part, 1000), f"{bucket}/pa/ds/part-{i}.parquet", filesystem=fs)
    dataset = ds.dataset(f"{bucket}/pa/ds", filesystem=fs, format="parquet")
    assert sorted(dataset.files) == [f"{bucket}/pa/ds/part-{i}.parquet" for i in range(3)]
    filtered = dataset.to_table(filter=ds.field("group") == "a", columns=["id", "group"])
    want = table.filter(pc.equal(table["group"], "a")).select(["id", "group"])
    assert filtered.sort_by("id").equals(want.sort_by("id"))


def test_hash_of_open_file_matches(fs: StorjFileSystem, blob: tuple[str, bytes]) -> None:
    path, data = blob
    h = hashlib.sha256()
    with fs.open(path, "rb") as f:
        while chunk := f.read(123_457):
            h.update(chunk)
    assert h.hexdigest() == sha256(data)
