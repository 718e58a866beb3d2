"""Objects: round trips by sha256 (empty to past the 64 MiB segment), exact ranged bytes,
listing options, custom metadata, copy/move/update results, expiry."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import SEGMENT, assert_same_bytes, random_bytes, sha256, unique_bucket_name
from uplink_py.access import Access
from uplink_py.errors import ObjectNotFoundError, StorjException
from uplink_py.module_classes import CustomMetadata, DownloadOptions, ListObjectsOptions, UploadOptions
from uplink_py.project import Project

pytestmark = pytest.mark.integration

BIG = SEGMENT + 4099  # crosses the segment boundary


def upload_in_chunks(project: Project, bucket: str, key: str, data: bytes, chunk: int = 1024 * 1024 + 1) -> None:
    with project.upload_object(bucket, key) as upload:
        view = memoryview(data)
        for start in range(0, len(data), chunk):
            assert upload.write(view[start:start + chunk]) == len(view[start:start + chunk])


def ranged(project: Project, bucket: str, key: str, offset: int, length: int) -> bytes:
    return project.download_bytes(bucket, key, DownloadOptions(offset=offset, length=length))


@pytest.fixture(scope="module")
def big_object(access: Access, module_bucket: str) -> Iterator[tuple[str, bytes]]:
    """One object of 64 MiB + 4099 bytes, uploaded once for the module."""
    data = random_bytes(BIG)
    with access.open_project() as project:
        with project.upload_object(module_bucket, "big") as upload:
            assert upload.write(data) == BIG  # one call, the whole buffer
    yield "big", data


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("size", [0, 1, 4096 + 3, 5 * 1024 * 1024 + 17], ids=["empty", "1B", "4KiB+3", "5MiB+17"])
def test_round_trip(project: Project, py_bucket: str, size: int) -> None:
    data = random_bytes(size)
    upload_in_chunks(project, py_bucket, "obj", data)
    stat = project.stat_object(py_bucket, "obj")
    assert stat.system.content_length == size
    got = project.download_bytes(py_bucket, "obj")
    assert len(got) == size and sha256(got) == sha256(data)
    with project.download_object(py_bucket, "obj") as download:
        assert download.file_size() == size
        chunks = []
        while True:
            chunk, count = download.read(1_000_000)
            if not count:
                break
            chunks.append(chunk)
        assert download.read(1) == (b"", 0)
    assert sha256(b"".join(chunks)) == sha256(data)


def test_round_trip_across_the_segment_boundary(project: Project, module_bucket: str,
                                                big_object: tuple[str, bytes]) -> None:
    key, data = big_object
    assert project.stat_object(module_bucket, key).system.content_length == BIG
    buf = bytearray(BIG)
    with project.download_object(module_bucket, key) as download:
        assert download.readinto(buf) == BIG
        assert download.readinto(bytearray(10)) == 0
    assert sha256(buf) == sha256(data)


# ---------------------------------------------------------------- ranges


def test_ranges_across_the_segment_boundary(project: Project, module_bucket: str,
                                            big_object: tuple[str, bytes]) -> None:
    key, data = big_object
    ranges = [
        (SEGMENT - 10, 20),         # straddles the boundary
        (SEGMENT - 1, 2),
        (SEGMENT, 4099),            # exactly the second segment
        (SEGMENT - 300_000, 600_001),
        (0, 1),
        (BIG - 1, 1),               # the last byte
        (SEGMENT - 5, -1),          # to the end
    ]
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    for _ in range(5):
        offset = rng.randrange(BIG)
        ranges.append((offset, rng.randrange(1, min(3_000_000, BIG - offset) + 1)))
    for offset, length in ranges:
        want = data[offset:] if length < 0 else data[offset:offset + length]
        got = ranged(project, module_bucket, key, offset, length)
        try:
            assert_same_bytes(got, want)
        except AssertionError as exc:
            raise AssertionError(f"range offset={offset} length={length} (random seed {seed}): {exc}") from None


def test_negative_offset_reads_the_suffix(project: Project, module_bucket: str, big_object: tuple[str, bytes]) -> None:
    key, data = big_object
    assert_same_bytes(ranged(project, module_bucket, key, -4100, -1), data[-4100:])  # crosses the boundary back
    assert_same_bytes(ranged(project, module_bucket, key, -1, -1), data[-1:])


def test_ranges_of_a_small_object(project: Project, py_bucket: str) -> None:
    data = random_bytes(100_000)
    project.upload_bytes(py_bucket, "small", data)
    rng = random.Random()
    for _ in range(4):
        offset = rng.randrange(len(data))
        length = rng.randrange(0, len(data) - offset + 1)
        assert ranged(project, py_bucket, "small", offset, length) == data[offset:offset + length], (offset, length)
    assert ranged(project, py_bucket, "small", -10, -1) == data[-10:]
    assert ranged(project, py_bucket, "small", 0, -1) == data


def test_empty_ranges(project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "data", b"0123456789")
    assert ranged(project, py_bucket, "data", 3, 0) == b""
    assert ranged(project, py_bucket, "data", 10, 0) == b""
    with project.download_object(py_bucket, "data", DownloadOptions(offset=5, length=0)) as download:
        assert download.read(100) == (b"", 0)
    project.upload_bytes(py_bucket, "empty", b"")
    assert project.download_bytes(py_bucket, "empty") == b""
    with project.download_object(py_bucket, "empty") as download:
        assert download.file_size() == 0
        assert download.read(100) == (b"", 0)


# ---------------------------------------------------------------- listing


@pytest.fixture
def listing_bucket(project: Project, py_bucket: str) -> str:
    for key, size in [("a", 1), ("b/1", 2), ("b/2", 3), ("b/c/3", 4), ("d", 5)]:
        project.upload_bytes(py_bucket, key, b"x" * size, custom_metadata={"key": key})
    return py_bucket


def keys(project: Project, bucket: str, options: ListObjectsOptions | None = None) -> list[tuple[str, bool]]:
    return [(o.key, o.is_prefix) for o in project.list_objects(bucket, options)]


def test_list_top_level_and_recursive(project: Project, listing_bucket: str) -> None:
    assert sorted(keys(project, listing_bucket)) == [("a", False), ("b/", True), ("d", False)]
    assert sorted(keys(project, listing_bucket, ListObjectsOptions(recursive=True))) == [
        ("a", False), ("b/1", False), ("b/2", False), ("b/c/3", False), ("d", False)]


def test_list_with_prefix(project: Project, listing_bucket: str) -> None:
    assert sorted(keys(project, listing_bucket, ListObjectsOptions(prefix="b/"))) == [
        ("b/1", False), ("b/2", False), ("b/c/", True)]
    assert sorted(keys(project, listing_bucket, ListObjectsOptions(prefix="b/", recursive=True))) == [
        ("b/1", False), ("b/2", False), ("b/c/3", False)]
    assert keys(project, listing_bucket, ListObjectsOptions(prefix="b/c/")) == [("b/c/3", False)]
    assert keys(project, listing_bucket, ListObjectsOptions(prefix="nothing/")) == []


def test_list_with_cursor(project: Project, listing_bucket: str) -> None:
    # Keys come in the order of their encrypted names; a cursor resumes after one key of that order.
    order = [k for k, _ in keys(project, listing_bucket, ListObjectsOptions(recursive=True))]
    assert sorted(order) == ["a", "b/1", "b/2", "b/c/3", "d"]
    for i, key in enumerate(order):
        after = keys(project, listing_bucket, ListObjectsOptions(recursive=True, cursor=key))
        assert [k for k, _ in after] == order[i + 1:], f"cursor {key!r}"
    # Under a prefix, the cursor is relative to the prefix.
    under = [k for k, _ in keys(project, listing_bucket, ListObjectsOptions(prefix="b/", recursive=True))]
    assert sorted(under) == ["b/1", "b/2", "b/c/3"]
    after = keys(project, listing_bucket, ListObjectsOptions(prefix="b/", recursive=True, cursor=under[0][2:]))
    assert [k for k, _ in after] == under[1:]


def test_list_system_and_custom(project: Project, listing_bucket: str) -> None:
    before = int(time.time()) - 3600
    full = project.list_objects(listing_bucket, ListObjectsOptions(recursive=True, system=True, custom=True))
    assert {o.key: o.system.content_length for o in full} == {"a": 1, "b/1": 2, "b/2": 3, "b/c/3": 4, "d": 5}
    assert all(o.system.created > before for o in full)
    assert all(o.custom.to_dict() == {"key": o.key} for o in full)

    bare = project.list_objects(listing_bucket, ListObjectsOptions(recursive=True))
    assert len(bare) == 5
    assert all(o.system.content_length == 0 and o.system.created == 0 for o in bare)
    assert all(len(o.custom) == 0 for o in bare)

    custom_only = project.list_objects(listing_bucket, ListObjectsOptions(recursive=True, custom=True))
    assert all(o.custom.to_dict() == {"key": o.key} and o.system.content_length == 0 for o in custom_only)


# ---------------------------------------------------------------- metadata

METADATA = {
    "content-type": "application/octet-stream",
    "ünïcode-ключ": "välue ✓ 日本語 🚀",
    "spaces and = signs": "a=b; c d",
    "control\tchars": "line\nbreak\r\x01",
    "empty": "",
}


def test_metadata_round_trip(project: Project, py_bucket: str) -> None:
    with project.upload_object(py_bucket, "meta") as upload:
        upload.set_custom_metadata(METADATA)
        upload.write(b"payload")
    assert upload.info().custom.to_dict() == METADATA
    assert project.stat_object(py_bucket, "meta").custom.to_dict() == METADATA
    listed = project.list_objects(py_bucket, ListObjectsOptions(custom=True))
    assert [o.custom.to_dict() for o in listed] == [METADATA]
    with project.download_object(py_bucket, "meta") as download:
        assert download.info().custom.to_dict() == METADATA
        assert download.readall() == b"payload"


def test_metadata_entries_carry_byte_lengths(project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "lengths", b"", custom_metadata=CustomMetadata.from_dict(METADATA))
    custom = project.stat_object(py_bucket, "lengths").custom
    assert custom.count == len(METADATA) == len(custom)
    for entry in custom:
        assert entry.key_length == len(entry.key.encode())
        assert entry.value_length == len(entry.value.encode())


def test_metadata_from_bytes(project: Project, py_bucket: str) -> None:
    raw = {b"utf8": "ü✓".encode(), b"k": b"v"}
    project.upload_bytes(py_bucket, "raw", b"x", custom_metadata=raw)
    assert project.stat_object(py_bucket, "raw").custom.to_dict() == {"utf8": "ü✓", "k": "v"}


NUL_METADATA = {"nul-value": "before\x00after", "nul\x00key": "v", "\x00": "\x00\x00", "ü": "✓"}


def test_metadata_with_nul_bytes_round_trips(project: Project, py_bucket: str) -> None:
    """uplink-c passes metadata with lengths: a NUL must not cut a key or value short.
    (An upload refuses NUL bytes, see below; updates and multipart commits take them.)"""
    project.upload_bytes(py_bucket, "updated", b"payload")
    project.update_object_metadata(py_bucket, "updated", NUL_METADATA)
    info = project.begin_upload(py_bucket, "multipart")
    with project.upload_part(py_bucket, "multipart", info.upload_id, 1) as part:
        part.write(b"payload")
    project.commit_upload(py_bucket, "multipart", info.upload_id, NUL_METADATA)
    for key in ("updated", "multipart"):
        custom = project.stat_object(py_bucket, key).custom
        assert custom.to_dict() == NUL_METADATA, key
        assert sorted((e.key_length, e.value_length) for e in custom) == sorted(
            (len(k.encode()), len(v.encode())) for k, v in NUL_METADATA.items())
        with project.download_object(py_bucket, key) as download:
            assert download.info().custom.to_dict() == NUL_METADATA
    listed = project.list_objects(py_bucket, ListObjectsOptions(custom=True))
    assert [o.custom.to_dict() for o in listed] == [NUL_METADATA, NUL_METADATA]


# An upload verifies its metadata (storj.io/uplink's CustomMetadata.Verify): no NUL bytes,
# valid UTF-8. Invalid UTF-8 cannot reach the satellite by any route.
REFUSED_METADATA = {
    "nul-in-value": {"nul": "before\x00after"},
    "nul-in-key": {"nul\x00key": "v"},
    "invalid-utf8": {b"raw": b"\xff\xfe"},
}


@pytest.mark.parametrize("metadata", REFUSED_METADATA.values(), ids=REFUSED_METADATA.keys())
def test_upload_refuses_metadata_storj_does_not_take(project: Project, py_bucket: str,
                                                     metadata: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises((StorjException, ValueError), match="(?i)0 byte|nul|utf-8"):
        with project.upload_object(py_bucket, "refused") as upload:
            upload.set_custom_metadata(metadata)
            upload.write(b"x")
    with pytest.raises(ObjectNotFoundError):
        project.stat_object(py_bucket, "refused")


def test_update_refuses_invalid_utf8(project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "kept", b"x", custom_metadata={"ok": "1"})
    with pytest.raises((StorjException, ValueError)):
        project.update_object_metadata(py_bucket, "kept", {b"raw": b"\xff\xfe"})
    assert project.stat_object(py_bucket, "kept").custom.to_dict() == {"ok": "1"}


def test_update_object_metadata(project: Project, py_bucket: str) -> None:
    data = random_bytes(5000)
    project.upload_bytes(py_bucket, "upd", data, custom_metadata={"old": "1", "keep": "x"})
    assert project.update_object_metadata(py_bucket, "upd", {"new": "2", "ü": "✓"}) is None
    assert project.stat_object(py_bucket, "upd").custom.to_dict() == {"new": "2", "ü": "✓"}
    assert project.download_bytes(py_bucket, "upd") == data
    project.update_object_metadata(py_bucket, "upd", None)
    assert project.stat_object(py_bucket, "upd").custom.to_dict() == {}
    with pytest.raises(ObjectNotFoundError):
        project.update_object_metadata(py_bucket, "missing", {"a": "b"})


# ---------------------------------------------------------------- copy and move


def test_copy_object(access: Access, project: Project, py_bucket: str) -> None:
    data = random_bytes(123_457)
    project.upload_bytes(py_bucket, "src/obj", data, custom_metadata={"m": "v"})
    copied = project.copy_object(py_bucket, "src/obj", py_bucket, "dst/copy")
    assert copied.key == "dst/copy"
    assert copied.system.content_length == len(data)
    assert project.download_bytes(py_bucket, "dst/copy") == data
    assert project.stat_object(py_bucket, "dst/copy").custom.to_dict() == {"m": "v"}
    assert project.download_bytes(py_bucket, "src/obj") == data  # the source stays

    other = unique_bucket_name("copy-target")
    project.create_bucket(other)
    try:
        copied = project.copy_object(py_bucket, "src/obj", other, "elsewhere")
        assert copied.key == "elsewhere"
        assert project.download_bytes(other, "elsewhere") == data
    finally:
        project.delete_bucket_with_objects(other)
    with pytest.raises(ObjectNotFoundError):
        project.copy_object(py_bucket, "missing", py_bucket, "x")


def test_move_object(project: Project, py_bucket: str) -> None:
    data = random_bytes(77_777)
    project.upload_bytes(py_bucket, "from", data, custom_metadata={"m": "v"})
    assert project.move_object(py_bucket, "from", py_bucket, "to/here") is None
    with pytest.raises(ObjectNotFoundError):
        project.stat_object(py_bucket, "from")
    stat = project.stat_object(py_bucket, "to/here")
    assert stat.system.content_length == len(data) and stat.custom.to_dict() == {"m": "v"}
    assert project.download_bytes(py_bucket, "to/here") == data
    with pytest.raises(ObjectNotFoundError):
        project.move_object(py_bucket, "from", py_bucket, "again")


# ---------------------------------------------------------------- expiry


def test_upload_with_expiry(project: Project, py_bucket: str) -> None:
    expires = int(time.time()) + 3600
    project.upload_bytes(py_bucket, "expiring", b"soon gone", UploadOptions(expires=expires))
    # (storj.io/uplink's Upload.Info() after a commit leaves Expires unset, so ask the satellite)
    stat = project.stat_object(py_bucket, "expiring")
    assert stat.system.expires == expires
    assert stat.system.expires_at == dt.datetime.fromtimestamp(expires, dt.timezone.utc)
    when = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(hours=2)
    project.upload_bytes(py_bucket, "expiring2", b"x", UploadOptions(expires=when))
    assert project.stat_object(py_bucket, "expiring2").system.expires_at == when
    assert project.stat_object(py_bucket, "expiring2").system.expires == int(when.timestamp())
    project.upload_bytes(py_bucket, "forever", b"x")
    never = project.stat_object(py_bucket, "forever")
    assert never.system.expires == 0 and never.system.expires_at is None


# ---------------------------------------------------------------- the GIL


def test_the_gil_is_released_during_transfers(project: Project, module_bucket: str,
                                              big_object: tuple[str, bytes]) -> None:
    """A Python thread keeps running while another one downloads 64 MiB: a binding that held
    the GIL through the network calls would starve it."""
    key, data = big_object
    ticks = 0
    stop = threading.Event()

    def heartbeat() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.002)

    buf = bytearray(len(data))
    thread = threading.Thread(target=heartbeat)
    thread.start()
    try:
        started = time.monotonic()
        with project.download_object(module_bucket, key) as download:
            assert download.readinto(buf) == len(data)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join()
    assert sha256(buf) == sha256(data)
    expected = elapsed / 0.002
    assert ticks >= 0.2 * expected, f"{ticks} heartbeats in {elapsed:.2f}s (about {expected:.0f} if never blocked)"


def test_threads_share_one_project(project: Project, py_bucket: str) -> None:
    blobs = {f"t/{i}": random_bytes(1_000_000 + i) for i in range(6)}
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda item: project.upload_bytes(py_bucket, item[0], item[1]), blobs.items()))
        got = dict(zip(blobs, pool.map(lambda key: project.download_bytes(py_bucket, key), blobs)))
    assert {k: sha256(v) for k, v in got.items()} == {k: sha256(v) for k, v in blobs.items()}
