"""Parallel transfers (Project.upload_bytes & co., the engine in uplink_py/engine/) against the local network.

Parts are small (PART = 1 MiB + 3, an odd size so that no boundary falls on a power
of two) to keep the data small: the network's satellite accepts multipart parts below
5 MiB (checked by test_small_parts_accepted). Content is checked by hash, part and
range counts through spies on the project's methods, progress reports exactly.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import StorjNetwork, assert_same_bytes, random_bytes

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
PART = MiB + 3
SIZES = [0, 1, PART - 1, PART, PART + 1, 3 * PART + 12345]


def parts(size: int) -> int:
    return -(-size // PART)


class Spy:
    """Counts (and optionally breaks) calls of one project method, from any thread."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, project, name: str, fail_on=None) -> None:  # type: ignore[no-untyped-def]
        self.calls: list[tuple] = []
        self._lock = threading.Lock()
        original = getattr(project, name)

        def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
            with self._lock:
                self.calls.append(args)
            if fail_on is not None and fail_on(args):
                raise PartFailed(f"{name}{args[1:]} broken by the test")
            return original(*args, **kwargs)

        monkeypatch.setattr(project, name, spy)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.calls)


class PartFailed(Exception):
    pass


class Progress:
    """Records progress calls and fails the test's assertions if two ever overlap."""

    def __init__(self, raise_after: int | None = None) -> None:
        self.calls: list[tuple[int, int]] = []
        self.overlapped = False
        self._busy = threading.Lock()
        self._raise_after = raise_after

    def __call__(self, done: int, total: int) -> None:
        if not self._busy.acquire(blocking=False):
            self.overlapped = True
            return
        try:
            time.sleep(0.001)  # widen the window in which a concurrent call would be seen
            self.calls.append((done, total))
            if self._raise_after is not None and len(self.calls) >= self._raise_after:
                raise PartFailed(f"progress stops the transfer at {done}/{total}")
        finally:
            self._busy.release()

    def check_exact(self, total: int) -> None:
        assert not self.overlapped, "progress was called concurrently"
        assert self.calls, "progress was never called"
        assert self.calls[-1] == (total, total)
        assert all(t == total for _, t in self.calls)
        dones = [d for d, _ in self.calls]
        if total == 0:
            assert self.calls == [(0, 0)]
        else:
            assert all(a < b for a, b in zip(dones, dones[1:])), f"not increasing: {dones}"
            assert dones[0] > 0


def pending_uploads(project, bucket: str, key: str) -> list:  # type: ignore[no-untyped-def]
    return [u for u in project.list_uploads(bucket) if u.key == key]


def assert_absent(project, bucket: str, key: str) -> None:  # type: ignore[no-untyped-def]
    from uplink_py.errors import ObjectNotFoundError

    assert pending_uploads(project, bucket, key) == []
    with pytest.raises(ObjectNotFoundError):
        project.stat_object(bucket, key)


# ---------------------------------------------------------------- content at odd sizes


@pytest.mark.parametrize("size", SIZES, ids=[f"{s}B" for s in SIZES])
def test_round_trip_at_part_boundaries(project, module_bucket: str, size: int, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    key = f"odd/{size}"
    data = random_bytes(size)
    up_parts = Spy(monkeypatch, project, "upload_part")
    info = project.upload_bytes(module_bucket, key, data, max_concurrency=4, part_size=PART)
    assert info.key == key
    assert info.system.content_length == size
    # one part per PART bytes when there is more than one, else one plain stream
    assert up_parts.count == (parts(size) if parts(size) > 1 else 0)
    assert sorted(c[3] for c in up_parts.calls) == list(range(1, up_parts.count + 1))

    # read back as one stream (not through the code under test), then in parallel ranges
    assert_same_bytes(project.download_bytes(module_bucket, key, max_concurrency=1), data)
    opened = Spy(monkeypatch, project, "download_object")
    target = np.full(size + 7, 0xAB, dtype=np.uint8)  # 7 spare bytes must stay untouched
    assert project.download_into(module_bucket, key, target, max_concurrency=3, part_size=PART) == size
    assert opened.count == max(1, parts(size))  # the first range also tells the size
    assert hashlib.sha256(target[:size]).hexdigest() == hashlib.sha256(data).hexdigest()
    assert (target[size:] == 0xAB).all()
    assert_same_bytes(project.download_bytes(module_bucket, key, max_concurrency=3, part_size=PART), data)


def test_small_parts_accepted(project, module_bucket: str) -> None:  # type: ignore[no-untyped-def]
    """The premise of PART: the satellite commits uploads whose parts are below 5 MiB."""
    data = random_bytes(2 * PART + 1)
    project.upload_bytes(module_bucket, "small-parts", data, max_concurrency=3, part_size=PART)
    assert project.stat_object(module_bucket, "small-parts").system.content_length == len(data)


def test_parallel_upload_read_by_go_cli(  # type: ignore[no-untyped-def]
    project, module_bucket: str, storj_network: StorjNetwork, tmp_path: Path
) -> None:
    data = random_bytes(4 * PART + 99)
    project.upload_bytes(module_bucket, "for-go", data, max_concurrency=4, part_size=PART)
    out = tmp_path / "go.bin"
    storj_network.uplink("cp", "--progress=false", f"sj://{module_bucket}/for-go", str(out))
    assert_same_bytes(out.read_bytes(), data)


def test_numpy_2d_and_custom_metadata(project, module_bucket: str) -> None:  # type: ignore[no-untyped-def]
    array = np.arange(3 * PART // 8 + 5, dtype=np.float64).reshape(-1, 1)  # C-contiguous 2-D, not bytes
    project.upload_bytes(
        module_bucket, "array", array, custom_metadata={"kind": "float64"}, max_concurrency=2, part_size=PART
    )
    back = np.empty_like(array)
    assert project.download_into(module_bucket, "array", back, max_concurrency=2, part_size=PART) == array.nbytes
    np.testing.assert_array_equal(back, array)
    assert project.stat_object(module_bucket, "array").custom.to_dict() == {"kind": "float64"}


# ---------------------------------------------------------------- download_into offsets, files


def test_download_into_offset(project, module_bucket: str) -> None:  # type: ignore[no-untyped-def]
    size = 3 * PART + 5
    data = random_bytes(size)
    project.upload_bytes(module_bucket, "offsets", data, max_concurrency=1)
    for offset, length in [(PART - 2, PART + 4), (1, 2 * PART), (size - 3, 10), (0, size)]:
        buffer = bytearray(length)
        got = project.download_into(module_bucket, "offsets", buffer, offset, max_concurrency=4, part_size=PART // 2)
        want = data[offset : offset + length]
        assert got == len(want)
        assert_same_bytes(buffer[:got], want)
        assert buffer[got:] == bytes(length - got)  # past the object's end: untouched
    assert project.download_into(module_bucket, "offsets", bytearray(4), size) == 0
    assert project.download_into(module_bucket, "offsets", bytearray(4), size + 10) == 0
    with pytest.raises(ValueError):
        project.download_into(module_bucket, "offsets", bytearray(4), -1)


def test_file_round_trip(project, module_bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = random_bytes(2 * PART + 17)
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    progress = Progress()
    info = project.upload_file(module_bucket, "file", source, max_concurrency=3, part_size=PART, progress=progress)
    assert info.system.content_length == len(data)
    progress.check_exact(len(data))

    target = tmp_path / "sub" / "target.bin"
    target.parent.mkdir()
    progress = Progress()
    info = project.download_file(module_bucket, "file", target, max_concurrency=3, part_size=PART, progress=progress)
    assert info.key == "file"
    progress.check_exact(len(data))
    assert_same_bytes(target.read_bytes(), data)
    assert sorted(p.name for p in target.parent.iterdir()) == ["target.bin"]  # no temporary left

    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    project.upload_file(module_bucket, "empty", empty, part_size=PART)
    project.download_file(module_bucket, "empty", target, part_size=PART)
    assert target.read_bytes() == b""


def test_download_file_is_atomic(project, module_bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from uplink_py.errors import ObjectNotFoundError

    data = random_bytes(4 * PART)
    project.upload_bytes(module_bucket, "atomic", data, max_concurrency=1)
    target = tmp_path / "target.bin"
    target.write_bytes(b"old contents")

    # fails after the first part arrived: the target keeps its old bytes, nothing else is left
    with pytest.raises(PartFailed):
        project.download_file(
            module_bucket, "atomic", target, max_concurrency=2, part_size=PART, progress=Progress(raise_after=1)
        )
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["target.bin"]

    with pytest.raises(ObjectNotFoundError):
        project.download_file(module_bucket, "no-such-key", tmp_path / "missing.bin")
    assert [p.name for p in tmp_path.iterdir()] == ["target.bin"]

    project.download_file(module_bucket, "atomic", target, max_concurrency=2, part_size=PART)
    assert_same_bytes(target.read_bytes(), data)


# ---------------------------------------------------------------- many objects


def test_upload_many_download_many_order_and_content(project, module_bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    sources: dict[str, object] = {}
    want: dict[str, bytes] = {}
    for i in range(30):
        key = f"many/{i:02d}"
        blob = rng.integers(0, 256, (i * 7919) % 50000, dtype=np.uint8)  # sizes differ, one is 0
        want[key] = blob.tobytes()
        if i % 3 == 0:
            sources[key] = blob  # numpy
        elif i % 3 == 1:
            path = tmp_path / f"{i}.bin"  # a local path
            path.write_bytes(want[key])
            sources[key] = str(path) if i % 2 else path
        else:
            sources[key] = want[key]  # bytes
    progress = Progress()
    infos = project.upload_many(module_bucket, sources, max_concurrency=6, progress=progress)
    assert [o.key for o in infos] == list(sources)
    assert [o.system.content_length for o in infos] == [len(want[k]) for k in sources]
    progress.check_exact(len(sources))

    keys = list(reversed(list(want)))
    progress = Progress()
    got = project.download_many(module_bucket, keys, max_concurrency=5, progress=progress)
    assert len(got) == len(keys)
    for key, blob in zip(keys, got):
        assert_same_bytes(blob, want[key])
    progress.check_exact(len(keys))

    # (key, source) pairs work too, and nothing at all
    assert [o.key for o in project.upload_many(module_bucket, [("many/pair", b"x")])] == ["many/pair"]
    assert project.upload_many(module_bucket, []) == []
    empty = Progress()
    assert project.download_many(module_bucket, [], progress=empty) == []
    assert empty.calls == [(0, 0)]


def test_download_many_missing_key_raises(project, module_bucket: str) -> None:  # type: ignore[no-untyped-def]
    from uplink_py.errors import ObjectNotFoundError

    project.upload_many(module_bucket, {f"present/{i}": b"abc" for i in range(4)})
    with pytest.raises(ObjectNotFoundError):
        project.download_many(module_bucket, ["present/0", "present/1", "absent", "present/2"], max_concurrency=2)


# ---------------------------------------------------------------- progress


@pytest.mark.parametrize("concurrency", [1, 4])
def test_progress_totals_exact(project, module_bucket: str, concurrency: int) -> None:  # type: ignore[no-untyped-def]
    size = 3 * PART + 1
    data = random_bytes(size)
    key = f"progress-{concurrency}"
    progress = Progress()
    project.upload_bytes(module_bucket, key, data, max_concurrency=concurrency, part_size=PART, progress=progress)
    progress.check_exact(size)
    if concurrency > 1:
        assert len(progress.calls) >= parts(size)  # one report per part at least

    for download in ("into", "bytes"):
        progress = Progress()
        if download == "into":
            project.download_into(
                module_bucket, key, bytearray(size), max_concurrency=concurrency, part_size=PART, progress=progress
            )
        else:
            project.download_bytes(module_bucket, key, max_concurrency=concurrency, part_size=PART, progress=progress)
        progress.check_exact(size)


def test_progress_of_empty_object(project, module_bucket: str) -> None:  # type: ignore[no-untyped-def]
    progress = Progress()
    project.upload_bytes(module_bucket, "empty-progress", b"", progress=progress)
    progress.check_exact(0)
    progress = Progress()
    assert project.download_into(module_bucket, "empty-progress", bytearray(0), progress=progress) == 0
    progress.check_exact(0)


# ---------------------------------------------------------------- one part fails: the rest stop


def test_failing_part_aborts_the_upload(project, module_bucket: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    key = "broken-part"
    total_parts = 12
    data = random_bytes(total_parts * PART)
    spy = Spy(monkeypatch, project, "upload_part", fail_on=lambda args: args[3] == 2)
    with pytest.raises(PartFailed, match="broken by the test"):
        project.upload_bytes(module_bucket, key, data, max_concurrency=2, part_size=PART)
    started = spy.count
    assert started < total_parts, "parts kept starting after one failed"
    time.sleep(0.3)
    assert spy.count == started, "a part started after upload_bytes returned"
    assert_absent(project, module_bucket, key)  # aborted: no pending upload, no object


def test_progress_error_cancels_upload_and_download(project, module_bucket: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    key = "progress-raises"
    total_parts = 10
    data = random_bytes(total_parts * PART)
    spy = Spy(monkeypatch, project, "upload_part")
    with pytest.raises(PartFailed, match="progress stops"):
        project.upload_bytes(
            module_bucket, key, data, max_concurrency=3, part_size=PART, progress=Progress(raise_after=1)
        )
    assert spy.count < total_parts
    assert_absent(project, module_bucket, key)

    # same on the way down: the download stops before every range was opened
    project.upload_bytes(module_bucket, key, data, max_concurrency=1)
    opened = Spy(monkeypatch, project, "download_object")
    with pytest.raises(PartFailed):
        project.download_into(
            module_bucket, key, bytearray(len(data)), max_concurrency=2, part_size=PART,
            progress=Progress(raise_after=1),
        )
    assert opened.count < total_parts


def test_single_stream_failure_commits_nothing(project, module_bucket: str) -> None:  # type: ignore[no-untyped-def]
    key = "single-broken"
    with pytest.raises(PartFailed):
        project.upload_bytes(
            module_bucket, key, random_bytes(3 * PART), max_concurrency=1, part_size=PART,
            progress=Progress(raise_after=1),
        )
    assert_absent(project, module_bucket, key)


def test_cancel_stops_parts_in_flight(project, module_bucket: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A part that fails while others are writing: those are cancelled, not waited for to the end."""
    key = "cancel-in-flight"
    data = random_bytes(6 * PART)
    cancelled: list[str] = []
    original = project.upload_part

    def upload_part(*args):  # type: ignore[no-untyped-def]
        if args[3] == 1:  # part 1 fails once part 2 has begun
            time.sleep(0.2)
            raise PartFailed("part 1 fails")
        part = original(*args)
        real_cancel = part.cancel

        class Watched:
            def __getattr__(self, name):  # type: ignore[no-untyped-def]
                return getattr(part, name)

            def __enter__(self):  # type: ignore[no-untyped-def]
                part.__enter__()
                return self

            def __exit__(self, *exc):  # type: ignore[no-untyped-def]
                return part.__exit__(*exc)

            def cancel(self) -> None:
                cancelled.append(f"part {args[3]}")
                real_cancel()

            def write(self, view):  # type: ignore[no-untyped-def]
                time.sleep(1.0)  # still writing when part 1 fails
                return part.write(view)

        return Watched()

    monkeypatch.setattr(project, "upload_part", upload_part)
    start = time.perf_counter()
    with pytest.raises(PartFailed):
        project.upload_bytes(module_bucket, key, data, max_concurrency=2, part_size=PART)
    assert "part 2" in cancelled  # in flight when part 1 failed (a part that began meanwhile may be too)
    assert time.perf_counter() - start < 5
    assert_absent(project, module_bucket, key)


# ---------------------------------------------------------------- argument validation


def _calls(project, bucket: str, path: str):  # type: ignore[no-untyped-def]
    return {
        "upload_bytes": lambda **kw: project.upload_bytes(bucket, "v/up", b"abc", **kw),
        "upload_file": lambda **kw: project.upload_file(bucket, "v/file", path, **kw),
        "download_bytes": lambda **kw: project.download_bytes(bucket, "v/existing", **kw),
        "download_into": lambda **kw: project.download_into(bucket, "v/existing", bytearray(3), **kw),
        "download_file": lambda **kw: project.download_file(bucket, "v/existing", path + ".out", **kw),
        "upload_many": lambda **kw: project.upload_many(bucket, {"v/many": b"abc"}, **kw),
        "download_many": lambda **kw: project.download_many(bucket, ["v/existing"], **kw),
    }


BAD = [
    ({"max_concurrency": 0}, ValueError),
    ({"max_concurrency": -2}, ValueError),
    ({"max_concurrency": 2.0}, TypeError),
    ({"max_concurrency": "4"}, TypeError),
    ({"max_concurrency": True}, TypeError),
    ({"part_size": 0}, ValueError),
    ({"part_size": -1}, ValueError),
    ({"part_size": 1.5}, TypeError),
    ({"part_size": None}, TypeError),
]


def test_bad_concurrency_and_part_size(project, module_bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from uplink_py.errors import ObjectNotFoundError

    project.upload_bytes(module_bucket, "v/existing", b"abc")
    source = tmp_path / "src.bin"
    source.write_bytes(b"abc")
    for method, call in _calls(project, module_bucket, str(source)).items():
        for kwargs, error in BAD:
            if "part_size" in kwargs and method.endswith("_many"):
                continue  # no part_size there: objects move whole
            with pytest.raises(error):
                call(**kwargs)
    for key in ("v/up", "v/file", "v/many"):  # nothing was uploaded by a refused call
        with pytest.raises(ObjectNotFoundError):
            project.stat_object(module_bucket, key)
    assert not (tmp_path / "src.bin.out").exists()
    assert pending_uploads(project, module_bucket, "v/up") == []


def test_bad_buffers(project, module_bucket: str) -> None:  # type: ignore[no-untyped-def]
    project.upload_bytes(module_bucket, "v/buffers", b"abcdef")
    with pytest.raises(BufferError):
        project.download_into(module_bucket, "v/buffers", b"\0" * 6)  # read-only
    with pytest.raises(BufferError):
        project.download_into(module_bucket, "v/buffers", np.zeros((4, 4), dtype=np.uint8)[:, 1])  # strided
    with pytest.raises(BufferError):
        project.upload_bytes(module_bucket, "v/strided", np.zeros((4, 4), dtype=np.uint8)[:, 1])
    with pytest.raises(TypeError):
        project.upload_bytes(module_bucket, "v/int", 12345)
