"""Object versions, Object Lock, create-if-absent writes and batch delete, against the
local network (versioning and Object Lock on: see tests/testnet, API keys of the Object
Lock version)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import random_bytes, sha256, unique_bucket_name

MiB = 1024 * 1024


def _empty_and_delete(project: Any, bucket: str) -> None:
    """Deletes every version (bypassing governance; compliance retentions here last
    seconds, so wait for them), then the bucket."""
    from uplink_py import ListObjectsOptions, errors

    deadline = time.monotonic() + 30
    while True:
        for v in project.list_versions(bucket, ListObjectsOptions(recursive=True)):
            try:
                project.set_object_legal_hold(bucket, v.key, False, version=v.version)
            except errors.StorjException:
                pass  # a delete marker, or a bucket without Object Lock
        versions = [(v.key, v.version) for v in project.list_versions(bucket, ListObjectsOptions(recursive=True))]
        left = [r for r in project.delete_objects(bucket, versions, bypass_governance=True) if not r.ok] \
            if versions else []
        if not left:
            project.delete_bucket(bucket)
            return
        assert time.monotonic() < deadline, f"versions still locked: {left[:3]}"
        time.sleep(0.5)


@pytest.fixture
def versioned(project: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    name = unique_bucket_name(request.node.name)
    project.create_bucket(name)
    project.set_bucket_versioning(name, True)
    yield name
    _empty_and_delete(project, name)


@pytest.fixture
def locked(project: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    name = unique_bucket_name(request.node.name)
    project.create_bucket_with_object_lock(name)
    yield name
    _empty_and_delete(project, name)


def retention(mode: Any, seconds: float) -> Any:
    from uplink_py import Retention

    return Retention(mode, int(time.time() + seconds) + 1)


# ---------------------------------------------------------------- versions


def test_bucket_versioning_states(project: Any, py_bucket: str) -> None:
    from uplink_py import BucketVersioning

    assert project.get_bucket_versioning(py_bucket) is BucketVersioning.UNVERSIONED
    project.set_bucket_versioning(py_bucket, True)
    assert project.get_bucket_versioning(py_bucket) is BucketVersioning.ENABLED
    project.set_bucket_versioning(py_bucket, False)
    assert project.get_bucket_versioning(py_bucket) is BucketVersioning.SUSPENDED


def test_overwrites_keep_history_and_every_version_reads_back_byte_exact(
    project: Any, versioned: str, tmp_path: Path
) -> None:
    """Three writes of one key (one stream, parallel parts, a file object): three versions,
    newest first, each read back byte-exact by every read path; a delete adds a marker
    that hides the key, and deleting the marker brings the last version back."""
    from uplink_py import ListObjectsOptions, errors

    datas = [random_bytes(1000), random_bytes(11 * MiB + 7), random_bytes(3 * MiB)]
    infos = [project.upload_bytes(versioned, "k", datas[0])]
    infos.append(project.upload_bytes(versioned, "k", datas[1], part_size=5 * MiB, max_concurrency=3))
    with project.open_writer(versioned, "k", part_size=5 * MiB) as writer:
        writer.write(datas[2])
    infos.append(writer.info)
    ids = [i.version for i in infos]
    assert all(ids) and len(set(ids)) == 3 and all(i.is_versioned for i in infos)

    listed = project.list_versions(versioned, ListObjectsOptions(system=True))
    assert [v.version for v in listed] == ids[::-1]
    assert [v.is_latest for v in listed] == [True, False, False]
    assert [v.size for v in listed] == [len(d) for d in datas[::-1]]
    for version, data in zip(ids, datas):
        assert project.stat_version(versioned, "k", version).size == len(data)
        assert sha256(project.download_bytes(versioned, "k", version=version, part_size=5 * MiB)) == sha256(data)
        with project.open_reader(versioned, "k", version=version, block_size=1 * MiB) as reader:
            assert sha256(reader.read()) == sha256(data)
        target = bytearray(len(data))
        assert project.download_into(versioned, "k", target, version=version) == len(data)
        assert sha256(target) == sha256(data)
        project.download_file(versioned, "k", tmp_path / "f", version=version)
        assert sha256((tmp_path / "f").read_bytes()) == sha256(data)
    assert sha256(project.download_bytes(versioned, "k")) == sha256(datas[2])

    marker = project.delete_version(versioned, "k")
    assert marker is not None and marker.is_delete_marker and marker.version not in ids
    with pytest.raises(errors.ObjectNotFoundError):
        project.stat_object(versioned, "k")
    with pytest.raises(errors.MethodNotAllowedError):  # a marker has no bytes
        project.download_object(versioned, "k", version=marker.version)
    after = project.list_versions(versioned)
    assert [v.version for v in after] == [marker.version, *ids[::-1]] and after[0].is_delete_marker
    assert sha256(project.download_bytes(versioned, "k", version=ids[0])) == sha256(datas[0])

    project.delete_version(versioned, "k", marker.version)
    assert project.stat_object(versioned, "k").version == ids[2]
    gone = project.delete_version(versioned, "k", ids[1])  # one old version, for good
    assert gone is not None and gone.version == ids[1]
    assert [v.version for v in project.list_versions(versioned)] == [ids[2], ids[0]]
    with pytest.raises(errors.ObjectNotFoundError):
        project.download_bytes(versioned, "k", version=ids[1])


def test_listing_versions_is_lazy_and_pages_through_many(project: Any, versioned: str) -> None:
    """1,200 versions (more than two of the iterator's pages of 500) of 400 keys, each
    listed once, newest first within a key; a prefix and a non-recursive listing too."""
    from uplink_py import ListObjectsOptions

    for round_ in range(3):
        project.upload_many(versioned, {f"d/{i:03d}": b"%d-%d" % (i, round_) for i in range(400)},
                            max_concurrency=32)
    iterator = project.iter_versions(versioned, ListObjectsOptions(prefix="d/", recursive=True))
    first = next(iterator)
    assert first.key.startswith("d/") and first.is_latest
    listed = [first, *iterator]
    seen = [(v.key, v.version) for v in listed]
    assert len(seen) == 1200 and len(set(seen)) == 1200
    assert {v.key for v in listed} == {f"d/{i:03d}" for i in range(400)}
    for i in range(0, 1200, 3):  # keys come in the order of their encrypted names, versions newest first
        three = listed[i : i + 3]
        assert len({v.key for v in three}) == 1 and [v.is_latest for v in three] == [True, False, False]
        assert three[0].version > three[1].version > three[2].version
    prefixes = project.list_versions(versioned)
    assert [(v.key, v.is_prefix) for v in prefixes] == [("d/", True)]


def test_copy_of_an_old_version_and_create_if_absent_copy(project: Any, versioned: str) -> None:
    from uplink_py import errors

    old = project.upload_bytes(versioned, "src", b"old")
    project.upload_bytes(versioned, "src", b"new")
    copied = project.copy_object(versioned, "src", versioned, "dst", version=old.version)
    assert copied.version and project.download_bytes(versioned, "dst") == b"old"
    with pytest.raises(errors.ObjectExistsError):
        project.copy_object(versioned, "src", versioned, "dst", if_none_match=True)
    assert project.download_bytes(versioned, "dst") == b"old"
    assert project.copy_object(versioned, "src", versioned, "fresh", if_none_match=True).key == "fresh"


# ---------------------------------------------------------------- create-if-absent


@pytest.mark.parametrize("path", ["stream", "parts", "writer"])
def test_racing_create_if_absent(project: Any, py_bucket: str, path: str) -> None:
    """Writers start together on one free key with if_none_match: each either commits or
    gets ObjectExistsError (a FileExistsError), nothing else; the key holds one winner's
    bytes whole; the losers leave no pending upload behind; a later writer loses.

    "Exactly one wins" is the satellite's to keep, and the local one does not always: its
    metabase checks "no object yet" in a read-committed PostgreSQL transaction, so two
    commits at the same moment can both pass (2 of 30 rounds of 6 writers here; under
    serializable isolation 0 of 70, but other satellite statements then fail unretried).
    Storj's production databases (Spanner) are serializable. Rounds with two winners
    are counted in the output."""
    from uplink_py import ListUploadsOptions, errors

    writers = 6 if path == "stream" else 3
    size = 1000 if path == "stream" else 6 * MiB
    datas = [random_bytes(size) for _ in range(writers)]
    barrier = threading.Barrier(writers)
    outcomes: list[Any] = [None] * writers

    def write(i: int) -> None:
        barrier.wait()
        try:
            if path == "writer":
                with project.open_writer(py_bucket, "race", part_size=5 * MiB, if_none_match=True) as w:
                    w.write(datas[i])
                outcomes[i] = w.info
            else:
                outcomes[i] = project.upload_bytes(py_bucket, "race", datas[i], part_size=5 * MiB,
                                                   max_concurrency=2 if path == "parts" else 1, if_none_match=True)
        except BaseException as exc:  # noqa: BLE001 (asserted below)
            outcomes[i] = exc

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    winners = [i for i, o in enumerate(outcomes) if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, BaseException)]
    print(f"create-if-absent race ({path}): {len(winners)} of {writers} writers committed")
    assert winners, outcomes
    assert all(isinstance(o, errors.ObjectExistsError) and isinstance(o, FileExistsError) for o in losers), losers
    stored = sha256(project.download_bytes(py_bucket, "race"))
    assert stored in {sha256(datas[i]) for i in winners}
    assert project.list_uploads(py_bucket, ListUploadsOptions(recursive=True)) == []
    with pytest.raises(errors.ObjectExistsError):  # and later writers lose too
        project.upload_bytes(py_bucket, "race", b"late", if_none_match=True)


def test_create_if_absent_of_empty_and_unsized_sources(project: Any, py_bucket: str) -> None:
    """An empty object and a pipe (no size known) commit once; the second write of each
    loses and leaves no pending upload."""
    import io
    import os

    from uplink_py import ListUploadsOptions, errors

    def pipe(data: bytes) -> io.BufferedReader:
        r, w = os.pipe()
        threading.Thread(target=lambda: (os.write(w, data), os.close(w)), daemon=True).start()
        return os.fdopen(r, "rb")

    data = random_bytes(7 * MiB)
    for key, make in (("empty", lambda: b""), ("piped", lambda: pipe(data))):
        source = make()
        if isinstance(source, bytes):
            project.upload_bytes(py_bucket, key, source, if_none_match=True)
        else:
            with source:
                project.upload_file(py_bucket, key, source, part_size=5 * MiB, if_none_match=True)
        with pytest.raises(errors.ObjectExistsError):
            again = make()
            if isinstance(again, bytes):
                project.upload_bytes(py_bucket, key, b"second", if_none_match=True)
            else:
                with again:
                    project.upload_file(py_bucket, key, again, part_size=5 * MiB, if_none_match=True)
    assert project.download_bytes(py_bucket, "empty") == b""
    assert sha256(project.download_bytes(py_bucket, "piped")) == sha256(data)
    assert project.list_uploads(py_bucket, ListUploadsOptions(recursive=True)) == []


# ---------------------------------------------------------------- Object Lock


def test_compliance_retention_blocks_delete_until_it_ends(project: Any, locked: str) -> None:
    from uplink_py import RetentionMode, errors

    assert project.get_bucket_object_lock(locked).enabled
    data = random_bytes(5000)
    kept = project.upload_bytes(locked, "c", data, retention=retention(RetentionMode.COMPLIANCE, 3))
    assert project.get_object_retention(locked, "c").mode is RetentionMode.COMPLIANCE
    stat = project.stat_version(locked, "c")
    assert stat.version == kept.version and stat.retention is not None
    until = stat.retention.retain_until
    for bypass in (False, True):  # compliance: not even with the bypass
        with pytest.raises(errors.ObjectLockedError):
            project.delete_version(locked, "c", kept.version, bypass_governance=bypass)
    with pytest.raises(errors.ObjectLockedError):  # nor shortened
        project.set_object_retention(locked, "c", retention(RetentionMode.COMPLIANCE, 1), version=kept.version)
    # an overwrite is a new version: the locked one stays, byte-exact
    project.upload_bytes(locked, "c", b"newer")
    assert project.download_bytes(locked, "c") == b"newer"
    assert sha256(project.download_bytes(locked, "c", version=kept.version)) == sha256(data)
    time.sleep(max(0.0, until - time.time()) + 1.0)
    assert project.delete_version(locked, "c", kept.version).version == kept.version


def test_governance_bypass_works_only_with_the_permission(access: Any, project: Any, locked: str) -> None:
    from uplink_py import Permission, RetentionMode, SharePrefix, errors

    v = project.upload_bytes(locked, "g", b"governed", retention=retention(RetentionMode.GOVERNANCE, 3600))
    with pytest.raises(errors.ObjectLockedError):
        project.delete_version(locked, "g", v.version)  # no bypass asked
    base = dict(allow_download=True, allow_upload=True, allow_list=True, allow_delete=True)
    without = access.share(Permission(**base), [SharePrefix(locked)])
    with without.open_project() as other, pytest.raises((errors.ObjectLockedError, errors.PermissionDeniedError)):
        other.delete_version(locked, "g", v.version, bypass_governance=True)
    assert project.stat_version(locked, "g", v.version).version == v.version
    allowed = access.share(Permission(**base, allow_bypass_governance_retention=True), [SharePrefix(locked)])
    with allowed.open_project() as other:
        assert other.delete_version(locked, "g", v.version, bypass_governance=True).version == v.version
    with pytest.raises(errors.ObjectNotFoundError):
        project.stat_version(locked, "g", v.version)


def test_legal_hold_blocks_delete_until_released(project: Any, locked: str) -> None:
    from uplink_py import DeleteStatus, errors

    v = project.upload_bytes(locked, "h", b"held", legal_hold=True)
    assert project.get_object_legal_hold(locked, "h") is True
    assert project.stat_version(locked, "h").legal_hold is True
    with pytest.raises(errors.ObjectLockedError):
        project.delete_version(locked, "h", v.version, bypass_governance=True)
    [result] = project.delete_objects(locked, [("h", v.version)])
    assert result.status is DeleteStatus.LOCKED and not result.ok
    project.set_object_legal_hold(locked, "h", False, version=v.version)
    assert project.get_object_legal_hold(locked, "h", version=v.version) is False
    assert project.delete_version(locked, "h", v.version).version == v.version


def test_bucket_default_retention_locks_new_versions(project: Any, locked: str) -> None:
    from uplink_py import ObjectLockConfiguration, RetentionMode, errors

    project.set_bucket_object_lock(locked, ObjectLockConfiguration(True, RetentionMode.GOVERNANCE, default_days=1))
    config = project.get_bucket_object_lock(locked)
    assert (config.default_mode, config.default_days) == (RetentionMode.GOVERNANCE, 1)
    v = project.upload_bytes(locked, "d", b"defaulted")
    got = project.get_object_retention(locked, "d")
    assert got.mode is RetentionMode.GOVERNANCE and 86000 < got.retain_until - time.time() <= 86401
    with pytest.raises(errors.ObjectLockedError):
        project.delete_version(locked, "d", v.version)
    with pytest.raises(errors.ObjectLockInvalidError):  # a default retention and an expiry exclude each other
        from uplink_py import UploadOptions

        project.upload_bytes(locked, "e", b"x", UploadOptions(expires=int(time.time()) + 3600))
    with pytest.raises(ValueError):
        ObjectLockConfiguration(True, RetentionMode.GOVERNANCE)  # neither days nor years


def test_object_lock_on_a_bucket_without_it(project: Any, py_bucket: str) -> None:
    from uplink_py import Retention, RetentionMode, errors

    assert project.get_bucket_object_lock(py_bucket).enabled is False
    project.upload_bytes(py_bucket, "p", b"plain")
    with pytest.raises(errors.ObjectLockInvalidError):
        project.get_object_retention(py_bucket, "p")
    with pytest.raises(errors.ObjectLockInvalidError):
        project.set_object_retention(py_bucket, "p", retention(RetentionMode.GOVERNANCE, 60))
    with pytest.raises(errors.ObjectLockInvalidError):
        project.upload_bytes(py_bucket, "q", b"q", legal_hold=True)
    with pytest.raises(errors.ObjectNotFoundError):
        project.stat_object(py_bucket, "q")  # nothing committed
    with pytest.raises(ValueError):
        Retention(RetentionMode.GOVERNANCE, 0)
    with pytest.raises(ValueError):
        Retention(7, 100)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        project.upload_bytes(py_bucket, "r", b"r", retention="soon")


# ---------------------------------------------------------------- batch delete


def test_batch_delete_of_ten_thousand_keys_reports_each(access: Any, project: Any, py_bucket: str) -> None:
    """10,000 keys in one call (ten requests): each deleted, missing keys reported as
    such, in the order asked; progress counts keys; an access without the delete
    permission gets UNAUTHORIZED per key and deletes nothing."""
    from uplink_py import DeleteStatus, ListObjectsOptions, Permission, SharePrefix, engine

    keys = [f"n/{i:05d}" for i in range(10_000)]
    project.upload_many(py_bucket, {k: k.encode() for k in keys[:9_990]}, max_concurrency=64)
    shared = access.share(Permission(allow_download=True, allow_list=True), [SharePrefix(py_bucket)])
    with shared.open_project() as reader:
        denied = reader.delete_objects(py_bucket, keys[:5])
    assert [r.status for r in denied] == [DeleteStatus.UNAUTHORIZED] * 5
    assert project.download_bytes(py_bucket, keys[0]) == keys[0].encode()

    seen: list[tuple[int, int]] = []
    results = engine.delete_objects(project, py_bucket, keys, progress=lambda done, total: seen.append((done, total)))
    assert [r.key for r in results] == keys
    assert [r.status for r in results] == [DeleteStatus.OK] * 9_990 + [DeleteStatus.NOT_FOUND] * 10
    assert all(r.ok for r in results)
    assert seen[-1] == (10_000, 10_000) and len(seen) >= 10
    assert project.list_objects(py_bucket, ListObjectsOptions(recursive=True)) == []
    assert project.delete_objects(py_bucket, []) == []


# ---------------------------------------------------------------- fsspec


@pytest.fixture
def storage_options(storj_network: Any) -> dict[str, Any]:
    return {"access": storj_network.access, "skip_instance_cache": True}


def test_fsspec_xb_is_atomic_between_racing_writers(storage_options: dict[str, Any], py_bucket: str) -> None:
    """Both writers open ``xb`` while the key is free (the early check passes for both);
    the commit decides: one close commits, the other raises FileExistsError and stores
    nothing (see test_racing_create_if_absent for the satellite's part)."""
    import fsspec

    barrier = threading.Barrier(2, timeout=60)
    datas = [random_bytes(6 * MiB), random_bytes(100)]
    outcomes: list[Any] = [None, None]

    def write(i: int) -> None:
        try:
            with fsspec.open(f"sj://{py_bucket}/x", "xb", **storage_options) as f:
                barrier.wait()  # both are open: neither has committed
                f.write(datas[i])
            outcomes[i] = "committed"
        except BaseException as exc:  # noqa: BLE001 (asserted below)
            outcomes[i] = exc

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    winners = [i for i, o in enumerate(outcomes) if o == "committed"]
    assert winners and all(isinstance(o, FileExistsError) for o in outcomes if o != "committed"), outcomes
    fs = fsspec.filesystem("sj", **storage_options)
    assert sha256(fs.cat_file(f"{py_bucket}/x")) in {sha256(datas[i]) for i in winners}
    with pytest.raises(FileExistsError):
        fs.pipe_file(f"{py_bucket}/x", b"again", mode="create")
    fs.pipe_file(f"{py_bucket}/y", b"fresh", mode="create")
    assert fs.cat_file(f"{py_bucket}/y") == b"fresh"


def test_fsspec_rm_deletes_in_batches(storage_options: dict[str, Any], project: Any, py_bucket: str,
                                      locked: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A recursive rm of 2,500 objects and a folder marker takes three DeleteObjects
    requests; a key the access may not delete fails the rm with PermissionError."""
    import fsspec

    fs = fsspec.filesystem("sj", **storage_options)
    project_of_fs = fs.project
    project_of_fs.upload_many(py_bucket, {f"t/{i:04d}": b"%d" % i for i in range(2_500)}, max_concurrency=64)
    project_of_fs.upload_bytes(py_bucket, "t/empty-dir/", b"")  # a "folder" marker
    project_of_fs.upload_bytes(py_bucket, "keep", b"keep")
    calls: list[int] = []
    batch = project_of_fs.delete_objects

    def counted(bucket: str, items: Any, **kwargs: Any) -> Any:
        items = list(items)
        calls.append(len(items))
        return batch(bucket, items, **kwargs)

    monkeypatch.setattr(project_of_fs, "delete_objects", counted)
    fs.rm(f"{py_bucket}/t", recursive=True)
    assert calls == [1000, 1000, 501]
    assert fs.find(py_bucket) == [f"{py_bucket}/keep"]

    # with versioning (an Object Lock bucket) rm inserts delete markers: the held version stays
    held = project.upload_bytes(locked, "d/held", b"held", legal_hold=True)
    fs.rm(f"{locked}/d", recursive=True)
    assert fs.find(locked) == []
    assert project.download_bytes(locked, "d/held", version=held.version) == b"held"
    # a key the access may not delete fails the rm, after the others
    from uplink_py import Permission, SharePrefix, Uplink

    grant = Uplink().parse_access(storage_options["access"]).share(
        Permission(allow_download=True, allow_list=True), [SharePrefix(py_bucket)])
    reader = fsspec.filesystem("sj", access=grant.serialize(), skip_instance_cache=True)
    with pytest.raises(PermissionError):
        reader.rm(f"{py_bucket}/keep")
    assert fs.cat_file(f"{py_bucket}/keep") == b"keep"
    with pytest.raises(FileNotFoundError):
        fs.rm(f"{py_bucket}/missing")


def test_fsspec_version_aware_reads(storage_options: dict[str, Any], project: Any, versioned: str,
                                    tmp_path: Path) -> None:
    import fsspec

    old = project.upload_bytes(versioned, "f", b"old bytes")
    new = project.upload_bytes(versioned, "f", b"new")
    fs = fsspec.filesystem("sj", version_aware=True, **storage_options)
    path = f"{versioned}/f"
    assert fs.cat_file(path) == b"new"
    assert fs.cat_file(path, version_id=old.version) == b"old bytes"
    assert fs.cat_file(f"{path}?versionId={old.version}", start=4) == b"bytes"
    with fs.open(path, "rb", version_id=old.version) as f:
        f.seek(4)
        assert f.read() == b"bytes"
    with fsspec.open(f"sj://{path}?versionId={old.version}", "rb", version_aware=True, **storage_options) as f:
        assert f.read() == b"old bytes"
    assert fs.info(path, version_id=old.version)["version_id"] == old.version
    assert fs.info(path, version_id=old.version)["size"] == len(b"old bytes")
    fs.get_file(path, str(tmp_path / "old"), version_id=old.version)
    assert (tmp_path / "old").read_bytes() == b"old bytes"
    versions = fs.object_version_info(path)
    assert [v["version_id"] for v in versions] == [new.version, old.version]
    assert [v["is_latest"] for v in versions] == [True, False]
    fs.cp_file(path, f"{versioned}/restored", version_id=old.version)
    assert fs.cat_file(f"{versioned}/restored") == b"old bytes"
    plain = fsspec.filesystem("sj", **storage_options)
    with pytest.raises(ValueError, match="version-aware"):
        plain.cat_file(path, version_id=old.version)
    with pytest.raises(ValueError):
        fs.open(path, "wb", version_id=old.version)
    gone = project.upload_bytes(versioned, "f", b"gone")
    project.delete_version(versioned, "f", gone.version)
    with pytest.raises(FileNotFoundError):
        fs.info(path, version_id=gone.version)


# ---------------------------------------------------------------- asyncio


def test_aio_versions_and_create_if_absent(storj_network: Any, versioned: str) -> None:
    import asyncio

    from uplink_py import aio, errors

    async def main() -> None:
        async with await aio.open_project(storj_network.access) as project:
            first = await project.upload_bytes(versioned, "a", b"one", if_none_match=True)
            with pytest.raises(errors.ObjectExistsError):
                await project.upload_bytes(versioned, "a", b"two", if_none_match=True)
            await project.upload_bytes(versioned, "a", b"three")
            versions = [v async for v in project.list_versions(versioned)]
            assert [v.version for v in versions][1] == first.version
            assert await project.download_bytes(versioned, "a", version=first.version) == b"one"
            assert (await project.stat_version(versioned, "a", first.version)).size == 3
            results = await project.delete_objects(versioned, [(v.key, v.version) for v in versions])
            assert all(r.ok for r in results)
            assert await project.delete_version(versioned, "a") is not None  # a delete marker

    asyncio.run(main())


def test_batch_delete_arguments_and_duplicates(project: Any, versioned: str) -> None:
    """A str is refused (list() would make its characters keys); a key asked twice gets
    its one outcome twice; a request that fails after others raises with their outcomes
    in ``results``; flags take bools only."""
    from uplink_py import DeleteStatus, engine, errors

    project.upload_bytes(versioned, "a", b"a")
    for wrong in ("a", b"a", {"a": None}):
        with pytest.raises(TypeError):
            engine.delete_objects(project, versioned, wrong)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        project.delete_objects(versioned, "a")
    twice = project.delete_objects(versioned, ["a", "a"])
    assert [r.status for r in twice] == [DeleteStatus.OK, DeleteStatus.OK] and twice[0] == twice[1]
    with pytest.raises(errors.StorjException) as failed:
        project.delete_objects(versioned, [f"b/{i}" for i in range(1000)] + ["x" * 5000])
    assert len(failed.value.results) == 1000 and all(r.ok for r in failed.value.results)  # type: ignore[attr-defined]
    for call in (lambda: project.set_bucket_versioning(versioned, None),
                 lambda: project.set_object_legal_hold(versioned, "a", 1),
                 lambda: project.delete_version(versioned, "a", bypass_governance="yes")):
        with pytest.raises(TypeError):
            call()
    assert project.get_bucket_versioning(versioned).name == "ENABLED"


def test_fsspec_rm_in_a_versioned_bucket_marks_only_objects(storage_options: dict[str, Any], project: Any,
                                                            versioned: str) -> None:
    import fsspec

    fs = fsspec.filesystem("sj", **storage_options)
    project.upload_bytes(versioned, "d/f", b"f")
    for path in (f"{versioned}/missing", f"{versioned}/d"):
        with pytest.raises((FileNotFoundError, IsADirectoryError)):
            fs.rm(path)
    fs.rm(f"{versioned}/d", recursive=True)
    assert [(v.key, v.is_delete_marker) for v in project.list_versions(versioned, _recursive())] == \
        [("d/f", True), ("d/f", False)]


def _recursive() -> Any:
    from uplink_py import ListObjectsOptions

    return ListObjectsOptions(recursive=True)
