"""What is stored is what was given, whole; what is read is one stored version, whole.

Every route that writes commits only on success (the previous object stays otherwise);
every source kind uploads its bytes or raises; a concurrent overwrite never yields a
mix; local targets appear whole or not at all. Paths that used to kill the interpreter
run in child processes whose exit status is checked.
"""

from __future__ import annotations

import gzip
import io
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import fsspec
import pytest

from conftest import StorjNetwork, assert_same_bytes, random_bytes, sha256
from uplink_py import errors
from uplink_py.fsspec import StorjFileSystem

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
PART = MiB + 3  # small odd parts: the satellite accepts parts below 5 MiB


class Boom(Exception):
    """Raised by a test inside a write to make it fail midway."""


@pytest.fixture
def fs(storj_network: StorjNetwork) -> StorjFileSystem:
    return StorjFileSystem(access=storj_network.access, skip_instance_cache=True)


def stored(project, bucket: str, key: str) -> bytes | None:  # type: ignore[no-untyped-def]
    try:
        return project.download_bytes(bucket, key)  # type: ignore[no-any-return]
    except errors.ObjectNotFoundError:
        return None


def old_object(project, bucket: str, key: str) -> bytes:  # type: ignore[no-untyped-def]
    data = random_bytes(3000)
    project.upload_bytes(bucket, key, data)
    return data


# ---------------------------------------------------------------- writes commit only on success

WRITE_ROUTES = {
    "fsspec.open wb": lambda url, fs: fsspec.open(url, "wb", access=fs._credentials.access),
    "fsspec.open w": lambda url, fs: fsspec.open(url, "w", access=fs._credentials.access),
    "fsspec.open wb gzip": lambda url, fs: fsspec.open(url, "wb", compression="gzip", access=fs._credentials.access),
    "fsspec.open wt gzip": lambda url, fs: fsspec.open(url, "wt", compression="gzip", access=fs._credentials.access),
    "fs.open wb": lambda url, fs: fs.open(url, "wb"),
    "fs.open w": lambda url, fs: fs.open(url, "w"),
    "fs.open wb gzip": lambda url, fs: fs.open(url, "wb", compression="gzip"),
    "fs.open wt gzip": lambda url, fs: fs.open(url, "wt", compression="gzip"),
}


TEXT_ROUTES = {r for r in WRITE_ROUTES if r.endswith((" w", " wt gzip"))}


def _payload(route: str) -> bytes:
    return b"text \xc3\xa9 " * 4000 if route in TEXT_ROUTES else random_bytes(20_000)


def _write(f, route: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    f.write(data.decode() if route in TEXT_ROUTES else data)


@pytest.mark.parametrize("route", sorted(WRITE_ROUTES))
def test_write_route_commits_on_success(route: str, fs: StorjFileSystem, project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    data = _payload(route)
    with WRITE_ROUTES[route](f"sj://{py_bucket}/ok", fs) as f:
        _write(f, route, data)
    got = stored(project, py_bucket, "ok")
    assert got is not None
    assert_same_bytes(gzip.decompress(got) if "gzip" in route else got, data)


@pytest.mark.parametrize("route", sorted(WRITE_ROUTES))
def test_write_route_failing_keeps_the_old_object(route: str, fs: StorjFileSystem, project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    old = old_object(project, py_bucket, "kept")
    data = _payload(route)
    with pytest.raises(Boom):
        with WRITE_ROUTES[route](f"sj://{py_bucket}/kept", fs) as f:
            _write(f, route, data[: len(data) // 2])
            raise Boom()
    assert_same_bytes(stored(project, py_bucket, "kept") or b"", old)
    with pytest.raises(Boom):
        with WRITE_ROUTES[route](f"sj://{py_bucket}/never", fs) as f:
            _write(f, route, data)
            raise Boom()
    assert stored(project, py_bucket, "never") is None


WRITER_WRAPPERS = {  # file objects of the engine, wrapped as users wrap files
    "open_writer": lambda w: w,
    "BufferedWriter(open_writer)": io.BufferedWriter,
    "TextIOWrapper(open_writer)": lambda w: io.TextIOWrapper(io.BufferedWriter(w), encoding="utf-8"),
}


@pytest.mark.parametrize("route", sorted(WRITE_ROUTES) + sorted(WRITER_WRAPPERS))
def test_a_with_block_reraising_a_handled_error_keeps_the_old_object(
    route: str, fs: StorjFileSystem, project, py_bucket: str  # type: ignore[no-untyped-def]
) -> None:
    """Opened inside ``except``, left by re-raising that same error: the file is partial and
    must abort, though the exception is the one that was being handled when it opened."""
    old = old_object(project, py_bucket, "rr")
    text = route in TEXT_ROUTES or route.startswith("TextIOWrapper")

    def opened():  # type: ignore[no-untyped-def]
        if route in WRITER_WRAPPERS:
            return WRITER_WRAPPERS[route](project.open_writer(py_bucket, "rr"))
        return WRITE_ROUTES[route](f"sj://{py_bucket}/rr", fs)

    with pytest.raises(KeyError):
        try:
            raise KeyError("first")
        except KeyError:
            with opened() as f:
                f.write("partial" if text else b"partial")
                raise
    assert_same_bytes(stored(project, py_bucket, "rr") or b"", old)
    try:  # the same route inside a handler, left normally: commits
        raise KeyError("second")
    except KeyError:
        with opened() as f:
            f.write("whole" if text else b"whole")
    got = stored(project, py_bucket, "rr")
    assert got is not None and (gzip.decompress(got) if "gzip" in route else got) == b"whole"


def test_a_file_written_by_an_exit_handler_of_a_failing_block_commits(  # type: ignore[no-untyped-def]
    fs: StorjFileSystem, project, py_bucket: str
) -> None:
    """A context manager's ``__exit__`` writing a crash report while an exception leaves
    its block: the report's own with block ends normally, so it commits."""

    class CrashReport:
        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> None:
            with fsspec.open(f"sj://{py_bucket}/crash", "w", access=fs._credentials.access) as f:
                f.write(f"failed: {exc[1]!r}")

    with pytest.raises(Boom):
        with CrashReport():
            raise Boom("disk on fire")
    assert stored(project, py_bucket, "crash") == b"failed: Boom('disk on fire')"


@pytest.mark.parametrize("route", sorted(WRITE_ROUTES))
def test_a_failed_part_is_the_error_the_caller_gets(route: str, storj_network: StorjNetwork, project,  # type: ignore[no-untyped-def]
                                                    py_bucket: str) -> None:
    """A part refused midway (a read-only grant): the caller gets that error, not one a
    wrapper raises while closing the failed file (AssertionError, BufferError, ValueError),
    and later writes raise it again; nothing is stored."""
    from uplink_py import Permission, SharePrefix, Uplink

    readonly = Uplink().parse_access(storj_network.access).share(
        Permission(allow_download=True, allow_list=True), [SharePrefix(py_bucket, "")]).serialize()
    ro = StorjFileSystem(access=readonly, skip_instance_cache=True, part_size=5 * MiB)
    data = _payload(route) * 700  # over two 5 MiB parts (text: 8 MiB of characters)
    with pytest.raises(errors.PermissionDeniedError):
        with WRITE_ROUTES[route](f"sj://{py_bucket}/denied", ro) as f:
            _write(f, route, data)
    assert stored(project, py_bucket, "denied") is None
    f = ro.open(f"{py_bucket}/denied", "wb")
    with pytest.raises(errors.PermissionDeniedError):
        f.write(random_bytes(12 * MiB))
    with pytest.raises(errors.PermissionDeniedError):
        f.write(b"more")
    f.close()
    assert stored(project, py_bucket, "denied") is None


def test_a_part_failing_in_the_compressors_last_flush_is_raised(storj_network: StorjNetwork, project,  # type: ignore[no-untyped-def]
                                                                 py_bucket: str) -> None:
    """gzip's flush at close pushes the buffer over a block: that part fails (a read-only
    grant) inside the compressor's close; the caller must get the error, not a quiet
    close with nothing stored."""
    from uplink_py import Permission, SharePrefix, Uplink

    readonly = Uplink().parse_access(storj_network.access).share(
        Permission(allow_download=True, allow_list=True), [SharePrefix(py_bucket, "")]).serialize()
    ro = StorjFileSystem(access=readonly, skip_instance_cache=True, part_size=5 * MiB)
    with pytest.raises(errors.PermissionDeniedError):
        with ro.open(f"{py_bucket}/gz", "wb", compression="gzip", block_size=5 * MiB) as f:
            f.write(random_bytes(5 * MiB - 1))  # incompressible: the last bytes come out at close
    assert stored(project, py_bucket, "gz") is None


def test_mv_onto_itself_however_spelled_keeps_the_object(fs: StorjFileSystem, project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    data = old_object(project, py_bucket, "self")
    for a, b in [(f"sj://{py_bucket}/self", f"{py_bucket}/self"), (f"{py_bucket}/self", f"sj://{py_bucket}/self/"),
                 (f"storj://{py_bucket}/self", f"sj://{py_bucket}/self")]:
        fs.mv(a, b)
        fs.mv([a], [b])
        assert_same_bytes(stored(project, py_bucket, "self") or b"", data)


def test_mv_that_would_delete_what_it_copied_is_refused(fs: StorjFileSystem, project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    """fsspec's mv copies all, then deletes all sources: a swap lost both objects."""
    a, b = old_object(project, py_bucket, "swap/a"), old_object(project, py_bucket, "swap/b")
    for sources, targets in [([f"{py_bucket}/swap/a", f"{py_bucket}/swap/b"], [f"{py_bucket}/swap/b", f"{py_bucket}/swap/a"]),
                             ([f"{py_bucket}/swap/a", f"{py_bucket}/swap/b"], [f"{py_bucket}/swap/b", f"{py_bucket}/swap/c"]),
                             ([f"{py_bucket}/swap/a", f"{py_bucket}/swap/b"], [f"{py_bucket}/swap/c"])]:
        with pytest.raises(ValueError):
            fs.mv(sources, targets)
    with pytest.raises(ValueError, match="into itself"):
        fs.mv(f"{py_bucket}/swap", f"sj://{py_bucket}/swap/inner", recursive=True)
    assert stored(project, py_bucket, "swap/a") == a and stored(project, py_bucket, "swap/b") == b
    assert stored(project, py_bucket, "swap/c") is None and stored(project, py_bucket, "swap/inner/a") is None


def test_mv_of_a_prefix_moves_every_object(fs: StorjFileSystem, project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    a, b = random_bytes(100), random_bytes(200)
    project.upload_bytes(py_bucket, "mvsrc/a", a)
    project.upload_bytes(py_bucket, "mvsrc/sub/b", b)
    fs.mv(f"{py_bucket}/mvsrc", f"{py_bucket}/mvdst", recursive=True)
    assert stored(project, py_bucket, "mvdst/a") == a and stored(project, py_bucket, "mvdst/sub/b") == b
    assert stored(project, py_bucket, "mvsrc/a") is None and stored(project, py_bucket, "mvsrc/sub/b") is None


def test_an_unpickled_read_file_reads_the_version_it_had(fs: StorjFileSystem, project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    """Dask pickles open files to its workers: the copy must not read on in a newer version."""
    import pickle

    old = random_bytes(2 * MiB)
    project.upload_bytes(py_bucket, "pk", old)
    with fs.open(f"{py_bucket}/pk", "rb", block_size=256 * 1024) as f:
        assert f.read(MiB) == old[:MiB]
        copy = pickle.loads(pickle.dumps(f))
    with copy:
        assert copy.tell() == MiB
        assert copy.read(1000) == old[MiB:MiB + 1000]  # same version, same place
        project.upload_bytes(py_bucket, "pk", random_bytes(2 * MiB))
        copy.seek(MiB + 512 * 1024)
        with pytest.raises(errors.ObjectChangedError):
            copy.read(1000)


def test_explicit_close_in_finally_after_an_error_aborts(fs: StorjFileSystem, project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    old = old_object(project, py_bucket, "k")
    f = fs.open(f"{py_bucket}/k", "wb")
    with pytest.raises(Boom), pytest.warns(errors.AbortedWriteWarning, match="Boom was being handled"):
        try:
            f.write(b"partial")
            raise Boom()
        finally:
            f.close()
    assert_same_bytes(stored(project, py_bucket, "k") or b"", old)


@pytest.mark.parametrize("route", ["fs.open", "open_writer"])
def test_a_write_dropped_by_closing_it_in_an_except_block_is_not_silent(  # type: ignore[no-untyped-def]
    route: str, fs: StorjFileSystem, project, py_bucket: str
) -> None:
    """Closed while an except block handles an error, a file aborts (it cannot tell that
    block from a finally block the error passes through): the caller, whose exception was
    swallowed, gets AbortedWriteWarning. A with block left by an exception warns nothing:
    the exception itself tells."""
    import warnings

    old = old_object(project, py_bucket, "dropped-in-except")
    f = fs.open(f"{py_bucket}/dropped-in-except", "wb") if route == "fs.open" \
        else project.open_writer(py_bucket, "dropped-in-except")
    f.write(b"new")
    with pytest.warns(errors.AbortedWriteWarning, match="ValueError was being handled: aborted, nothing was stored"):
        try:
            raise ValueError("handled")
        except ValueError:
            f.close()
    assert_same_bytes(stored(project, py_bucket, "dropped-in-except") or b"", old)
    with warnings.catch_warnings():
        warnings.simplefilter("error", errors.AbortedWriteWarning)
        with pytest.raises(Boom):
            with fsspec.open(f"sj://{py_bucket}/dropped-in-except", "wb", access=fs._credentials.access) as g:
                g.write(b"partial")
                raise Boom()
    assert_same_bytes(stored(project, py_bucket, "dropped-in-except") or b"", old)


def test_a_file_written_inside_an_except_handler_commits(fs: StorjFileSystem, project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    try:
        raise KeyError("handled")
    except KeyError:  # e.g. writing an error report: the handled error is not this file's
        with fs.open(f"{py_bucket}/report", "wb") as f:
            f.write(b"report")
    assert stored(project, py_bucket, "report") == b"report"


def test_transaction_failing_commits_nothing(fs: StorjFileSystem, project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    old = old_object(project, py_bucket, "t1")
    with pytest.raises(Boom):
        with fs.transaction:
            with fs.open(f"{py_bucket}/t1", "wb") as f:
                f.write(b"new")
            with fs.open(f"{py_bucket}/t2", "wb") as f:
                f.write(b"new too")
            raise Boom()
    assert_same_bytes(stored(project, py_bucket, "t1") or b"", old)
    assert stored(project, py_bucket, "t2") is None


def test_unclosed_file_is_aborted(fs: StorjFileSystem, project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    old = old_object(project, py_bucket, "dropped")
    f = fs.open(f"{py_bucket}/dropped", "wb", block_size=5 * MiB)
    f.write(random_bytes(6 * MiB))  # past one block: the upload has started
    with pytest.warns(ResourceWarning, match="aborted"):
        del f
        import gc

        gc.collect()
    assert_same_bytes(stored(project, py_bucket, "dropped") or b"", old)


def test_pipe_and_put_of_a_bad_source_keep_the_old_object(
    fs: StorjFileSystem, project, py_bucket: str, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    old = old_object(project, py_bucket, "p")
    with pytest.raises(TypeError):
        fs.pipe_file(f"{py_bucket}/p", 12345)
    with pytest.raises(FileNotFoundError):
        fs.put_file(str(tmp_path / "missing"), f"{py_bucket}/p")
    assert_same_bytes(stored(project, py_bucket, "p") or b"", old)


def test_upload_context_manager_failing_keeps_the_old_object(project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    old = old_object(project, py_bucket, "cm")
    with pytest.raises(Boom):
        with project.upload_object(py_bucket, "cm") as upload:
            upload.write(b"half")
            raise Boom()
    assert_same_bytes(stored(project, py_bucket, "cm") or b"", old)


def test_upload_block_cancelled_by_another_thread_raises(project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(errors.CancelledError, match="nothing was stored"):
        with project.upload_object(py_bucket, "cancelled") as upload:
            upload.write(b"data")
            worker = threading.Thread(target=upload.cancel)
            worker.start()
            worker.join()
    assert stored(project, py_bucket, "cancelled") is None


@pytest.mark.parametrize("route", ["upload_bytes", "upload_bytes parts", "open_writer", "open_writer one stream",
                                   "upload_file pipe"])
def test_metadata_the_satellite_refuses_leaves_the_old_object_and_nothing_pending(  # type: ignore[no-untyped-def]
    route: str, project, py_bucket: str
) -> None:
    """Custom metadata over the satellite's limit (2 KiB encrypted) is refused at the commit:
    the error reaches the caller, the old object stays, and no pending upload is left (a
    single upload cannot be aborted after its commit failed: large metadata goes multipart)."""
    key = f"md/{route}"
    old = old_object(project, py_bucket, key)
    big = {"note": "x" * 3000}
    data = random_bytes(6 * MiB if "parts" in route else 1000)
    with pytest.raises(errors.StorjException, match="metadata is too large"):
        if route.startswith("upload_bytes"):
            project.upload_bytes(py_bucket, key, data, custom_metadata=big, part_size=5 * MiB)
        elif route == "upload_file pipe":
            read_end, write_end = os.pipe()
            os.write(write_end, data)
            os.close(write_end)
            with os.fdopen(read_end, "rb") as pipe:
                project.upload_file(py_bucket, key, pipe, custom_metadata=big)
        else:
            with project.open_writer(py_bucket, key, custom_metadata=big,
                                     max_concurrency=1 if "one stream" in route else 4) as w:
                w.write(data)
    assert_same_bytes(stored(project, py_bucket, key) or b"", old)
    assert _pending(project, py_bucket, "md/") == []


def _pending(project, bucket: str, prefix: str) -> list[str]:  # type: ignore[no-untyped-def]
    from uplink_py import ListUploadsOptions

    return [u.key for u in project.iter_uploads(bucket, ListUploadsOptions(prefix=prefix, recursive=True))]


@pytest.mark.parametrize("route", ["parts", "writer"])
def test_closing_the_project_during_a_parallel_upload_leaves_nothing_pending(  # type: ignore[no-untyped-def]
    route: str, access, project, py_bucket: str
) -> None:
    """Another thread (or an ``async with`` left early) closes the project while parts are in
    flight: the upload ends CancelledError (a part cut off), or InvalidHandleError when the
    close came between parts and the next part found the project closed; either way the old
    object stays, and the multipart upload is aborted by the close itself (the engine's own
    abort comes after it and cannot)."""
    old = old_object(project, py_bucket, f"closed/{route}")
    data = random_bytes(48 * MiB)
    doomed = access.open_project()
    started = threading.Event()
    closer = threading.Thread(target=lambda: (started.wait(30), time.sleep(0.2), doomed.close()))
    closer.start()
    with pytest.raises((errors.CancelledError, errors.InvalidHandleError)) as ended:
        if route == "parts":
            doomed.upload_bytes(py_bucket, f"closed/{route}", data, part_size=5 * MiB,
                                progress=lambda done, total: started.set())
        else:
            with doomed.open_writer(py_bucket, f"closed/{route}", part_size=5 * MiB) as w:
                for at in range(0, len(data), MiB):
                    w.write(data[at:at + MiB])
                    started.set()
    closer.join()
    if isinstance(ended.value, errors.InvalidHandleError):
        assert "closed" in str(ended.value)
    assert_same_bytes(stored(project, py_bucket, f"closed/{route}") or b"", old)
    assert _pending(project, py_bucket, "closed/") == []


def test_a_multipart_upload_outlives_its_project_unless_begun_to_abort_on_close(  # type: ignore[no-untyped-def]
    access, project, py_bucket: str
) -> None:
    """A multipart upload is resumable from another process: closing the project keeps it,
    except when it was begun with abort_on_close."""
    with access.open_project() as first:
        kept = first.begin_upload(py_bucket, "mp/kept").upload_id
        first.begin_upload(py_bucket, "mp/dropped", abort_on_close=True)
        done = first.begin_upload(py_bucket, "mp/done", abort_on_close=True).upload_id
        with first.upload_part(py_bucket, "mp/done", done, 1) as part:
            part.write(b"resumed elsewhere? no: committed here")
        first.commit_upload(py_bucket, "mp/done", done)
    assert _pending(project, py_bucket, "mp/") == ["mp/kept"]
    with project.upload_part(py_bucket, "mp/kept", kept, 1) as part:  # resumed by another project
        part.write(b"resumed")
    project.commit_upload(py_bucket, "mp/kept", kept)
    assert stored(project, py_bucket, "mp/kept") == b"resumed"
    assert stored(project, py_bucket, "mp/done") == b"resumed elsewhere? no: committed here"


# ---------------------------------------------------------------- any readable source


def test_upload_from_a_pipe(project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    data = random_bytes(3 * MiB + 5)
    with subprocess.Popen([sys.executable, "-c", "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE) as child:
        feeder = threading.Thread(target=lambda: (child.stdin.write(data), child.stdin.close()))  # type: ignore[union-attr]
        feeder.start()
        info = project.upload_file(py_bucket, "pipe", child.stdout)
        feeder.join()
    assert child.returncode == 0
    assert info.system.content_length == len(data)
    assert_same_bytes(stored(project, py_bucket, "pipe") or b"", data)


def test_upload_from_a_fifo_path(project, py_bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = random_bytes(2 * MiB + 1)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as writer:
            for start in range(0, len(data), 65536):
                writer.write(data[start : start + 65536])

    feeder = threading.Thread(target=feed)
    feeder.start()
    project.upload_file(py_bucket, "fifo", fifo, part_size=PART)  # no size: one stream, never parts
    feeder.join()
    assert_same_bytes(stored(project, py_bucket, "fifo") or b"", data)


def test_upload_from_proc_and_devices(project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    project.upload_file(py_bucket, "proc", "/proc/self/status")  # a regular file whose size says 0
    got = stored(project, py_bucket, "proc") or b""
    assert got.startswith(b"Name:") and b"\nPid:" in got
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert project.upload_file(py_bucket, "null", "/dev/null").system.content_length == 0


def test_upload_from_a_socket_and_file_objects(project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    data = random_bytes(MiB + 77)
    left, right = socket.socketpair()
    sender = threading.Thread(target=lambda: (left.sendall(data), left.close()))
    sender.start()
    with right, right.makefile("rb") as stream:
        project.upload_file(py_bucket, "socket", stream)
    sender.join()
    assert_same_bytes(stored(project, py_bucket, "socket") or b"", data)
    source = io.BytesIO(b"skipped" + data)
    source.seek(7)  # a file object uploads from its position
    project.upload_file(py_bucket, "bytesio", source)
    assert_same_bytes(stored(project, py_bucket, "bytesio") or b"", data)


CHANGING_SOURCE = r"""
import os, sys
from uplink_py import Uplink, errors
how, parts = sys.argv[1], sys.argv[2] == "parts"
path, bucket = sys.argv[3], sys.argv[4]
size = os.path.getsize(path)
def change(done, total):
    if done and not getattr(change, "done", False):
        change.done = True
        if how == "shrink":
            os.truncate(path, size // 3)
        elif how == "grow":
            with open(path, "ab") as f: f.write(b"more")
        else:  # rewritten in place, same size
            with open(path, "r+b") as f: f.write(b"X" * 100)
            os.utime(path, ns=(0, 10**9))
with Uplink().parse_access(os.environ["STORJ_TEST_ACCESS"]).open_project() as project:
    try:
        project.upload_file(bucket, "changing", path, part_size=1048579 if parts else 64 << 20,
                            max_concurrency=2, progress=change)
        print("committed")
    except errors.SourceChangedError as exc:
        assert isinstance(exc, OSError)
        print("SourceChangedError", exc)
"""


@pytest.mark.parametrize("parts", ["stream", "parts"])
@pytest.mark.parametrize("how", ["shrink", "grow", "rewrite"])
def test_a_file_changing_during_upload_is_an_error_not_a_crash(
    storj_network: StorjNetwork, project, py_bucket: str, tmp_path: Path, how: str, parts: str  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "source.bin"
    path.write_bytes(random_bytes(24 * MiB + 11))
    res = subprocess.run(
        [sys.executable, "-c", CHANGING_SOURCE, how, parts, str(path), py_bucket],
        capture_output=True, text=True, timeout=300, env={**os.environ, "STORJ_TEST_ACCESS": storj_network.access},
    )
    assert res.returncode == 0, f"exit {res.returncode}: {res.stderr}"  # never a signal death
    assert res.stdout.startswith("SourceChangedError"), res.stdout
    assert stored(project, py_bucket, "changing") is None  # nothing committed
    assert list(project.iter_uploads(py_bucket)) == []  # no multipart upload left behind


# ---------------------------------------------------------------- one version per download


def _overwrite_once(project, bucket: str, key: str, data: bytes):  # type: ignore[no-untyped-def]
    """A progress callback that replaces the object after the first bytes arrived."""
    state = {"done": False}

    def progress(done: int, total: int) -> None:
        if done and not state["done"]:
            state["done"] = True
            project.upload_bytes(bucket, key, data)

    return progress


@pytest.mark.parametrize("call", ["download_bytes", "download_into", "download_file"])
def test_overwrite_during_a_parallel_download_is_never_a_mix(
    call: str, access, project, py_bucket: str, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    first, second = random_bytes(6 * PART), random_bytes(6 * PART)
    project.upload_bytes(py_bucket, "v", first)
    with access.open_project() as writer:
        progress = _overwrite_once(writer, py_bucket, "v", second)
        target = tmp_path / "target.bin"
        try:
            if call == "download_bytes":
                got = project.download_bytes(py_bucket, "v", max_concurrency=3, part_size=PART, progress=progress)
            elif call == "download_into":
                buffer = bytearray(len(first))
                assert project.download_into(py_bucket, "v", buffer, max_concurrency=3, part_size=PART,
                                             progress=progress) == len(first)
                got = bytes(buffer)
            else:
                project.download_file(py_bucket, "v", target, max_concurrency=3, part_size=PART, progress=progress)
                got = target.read_bytes()
        except errors.ObjectChangedError:
            got = None
            assert not target.exists()
        # Ranges opened after the overwrite find a new identity: an error, never a mix.
        assert got is None, "bytes returned although the object was replaced midway"
    assert list(tmp_path.iterdir()) in ([], [target])  # no temporary file left


def test_fsspec_reads_stay_on_the_version_opened(fs: StorjFileSystem, project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    first = random_bytes(3 * MiB)
    project.upload_bytes(py_bucket, "f", first)
    with fs.open(f"{py_bucket}/f", "rb", block_size=MiB, cache_type="none") as f:
        assert f.read(1000) == first[:1000]
        project.upload_bytes(py_bucket, "f", random_bytes(3 * MiB))
        with pytest.raises(errors.ObjectChangedError):
            f.read(MiB)


def test_a_ranged_read_is_exact(fs: StorjFileSystem, project, py_bucket: str) -> None:  # type: ignore[no-untyped-def]
    data = random_bytes(2 * MiB + 9)
    project.upload_bytes(py_bucket, "r", data)
    for start, end in [(0, 1), (5, 2 * MiB), (-100, None), (None, -7), (2 * MiB, 2 * MiB + 100), (10, 5)]:
        assert fs.cat_file(f"{py_bucket}/r", start, end) == data[start:end], (start, end)


# ---------------------------------------------------------------- local targets


def test_download_file_mode_follows_the_umask(project, py_bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project.upload_bytes(py_bucket, "m", b"mode")
    old = os.umask(0o027)
    try:
        project.download_file(py_bucket, "m", tmp_path / "m")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "m").st_mode) == 0o640
    assert (tmp_path / "m").read_bytes() == b"mode"


def test_download_file_fsyncs_file_then_directory(project, py_bucket: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    project.upload_bytes(py_bucket, "s", b"sync")
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:  # a spy: the real fsync runs
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    project.download_file(py_bucket, "s", tmp_path / "s")
    assert synced == ["file", "dir"]


def test_failed_download_keeps_the_old_file_and_leaves_nothing(project, py_bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "t"
    target.write_bytes(b"old contents")
    with pytest.raises(errors.ObjectNotFoundError):
        project.download_file(py_bucket, "missing", target)
    assert target.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]


def test_a_target_naming_a_directory_is_refused_before_the_download(  # type: ignore[no-untyped-def]
    fs: StorjFileSystem, project, py_bucket: str, tmp_path: Path
) -> None:
    """A trailing separator names a directory (as for open()); so does an existing one."""
    project.upload_bytes(py_bucket, "dirtarget", b"bytes")
    (tmp_path / "exists").mkdir()
    for target in (f"{tmp_path}/newdir/", str(tmp_path / "exists")):
        with pytest.raises(IsADirectoryError):
            project.download_file(py_bucket, "dirtarget", target)
        with pytest.raises(IsADirectoryError):
            fs.get_file(f"{py_bucket}/dirtarget", target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists"] and not any((tmp_path / "exists").iterdir())


def test_a_download_into_a_fifo_a_pipe_or_a_link_writes_through_it(  # type: ignore[no-untyped-def]
    fs: StorjFileSystem, project, py_bucket: str, tmp_path: Path
) -> None:
    """A FIFO, an open pipe named by /proc/self/fd (what /dev/stdout is) and a device get
    the bytes and stay what they were; a symbolic link stays a link and its file gets them.
    (Replacing the node: `cp sj://... /dev/null` as root broke /dev/null for the machine.)"""
    data = random_bytes(3 * PART)
    project.upload_bytes(py_bucket, "through", data)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    project.download_file(py_bucket, "through", fifo, part_size=PART)  # parallel asked: one stream
    reader.join(30)
    assert stat.S_ISFIFO(fifo.stat().st_mode) and got == [data]

    read_end, write_end = os.pipe()
    try:
        drained: list[bytes] = []
        drain = threading.Thread(target=lambda: drained.append(os.fdopen(read_end, "rb", closefd=False).read()))
        drain.start()
        fs.get_file(f"{py_bucket}/through", f"/proc/self/fd/{write_end}")
        os.close(write_end)
        write_end = -1
        drain.join(30)
        assert drained == [data]
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)

    real = tmp_path / "real.bin"
    real.write_bytes(b"old")
    link = tmp_path / "link.bin"
    link.symlink_to(real.name)
    project.download_file(py_bucket, "through", link)
    assert link.is_symlink() and os.readlink(link) == real.name and real.read_bytes() == data
    device = tmp_path / "null"  # a twin of /dev/null where root may make one: a regression stays here
    if os.geteuid() == 0:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    else:
        device.symlink_to(os.devnull)
    project.download_file(py_bucket, "through", device)  # a device: written into, never replaced
    assert stat.S_ISCHR(device.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "link.bin", "null", "real.bin"]


def test_a_download_to_an_open_descriptor_writes_where_it_points(project, py_bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """/dev/stdout after a shell's `>> log` (here /proc/self/fd/N of a file opened to
    append): the bytes are appended to log, which is not replaced by the object."""
    data = random_bytes(2 * PART)
    project.upload_bytes(py_bucket, "fd", data)
    log = tmp_path / "log"
    log.write_bytes(b"earlier lines\n")
    inode = log.stat().st_ino
    with open(log, "ab") as appending:
        fd = appending.fileno()
        for spelling in (f"/proc/self/fd/{fd}", f"/dev//fd/{fd}", f"/proc/{os.getpid()}/fd/{fd}",
                         f"/proc/thread-self/fd/{fd}"):
            project.download_file(py_bucket, "fd", spelling, part_size=PART)
    assert log.stat().st_ino == inode and log.read_bytes() == b"earlier lines\n" + data * 4


def test_upload_file_takes_a_bytes_path_as_open_does(access, project, py_bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "named.bin"
    path.write_bytes(b"the file's bytes")
    project.upload_file(py_bucket, "named", os.fsencode(path))
    assert stored(project, py_bucket, "named") == b"the file's bytes"
    import asyncio

    from uplink_py import aio

    async def through_aio() -> None:
        async with aio.AsyncProject(access.open_project()) as async_project:
            await async_project.upload_file(py_bucket, "named-aio", os.fsencode(path))

    asyncio.run(through_aio())
    assert stored(project, py_bucket, "named-aio") == b"the file's bytes"


def test_download_into_a_vanished_directory_is_an_oserror(project, py_bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project.upload_bytes(py_bucket, "gone", random_bytes(3 * PART))
    directory = tmp_path / "d"
    directory.mkdir()

    def remove_dir(done: int, total: int) -> None:
        if directory.exists():
            for p in directory.iterdir():
                p.unlink()
            directory.rmdir()

    with pytest.raises(FileNotFoundError):
        project.download_file(py_bucket, "gone", directory / "x", part_size=PART, progress=remove_dir)
    assert not directory.exists()


LOCAL_TARGET = r"""
import errno, os, resource, sys
from uplink_py import Uplink
bucket, target, how = sys.argv[1], sys.argv[2], sys.argv[3]
with Uplink().parse_access(os.environ["STORJ_TEST_ACCESS"]).open_project() as project:
    if how == "quota":
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))  # writes past 1 MiB: EFBIG
    else:  # the directory is root's: drop root (after loading the module, which lives under /root)
        os.setgid(65534); os.setuid(65534)
    try:
        project.download_file(bucket, "big", target, part_size=1048579)
        print("no error")
    except OSError as exc:
        print("OSError", errno.errorcode.get(exc.errno, exc.errno))
"""


@pytest.mark.parametrize("how, code", [("quota", "EFBIG"), ("readonly", "EACCES")])
def test_download_file_to_a_full_or_readonly_place_is_a_clean_oserror(
    storj_network: StorjNetwork, project, py_bucket: str, tmp_path: Path, how: str, code: str  # type: ignore[no-untyped-def]
) -> None:
    project.upload_bytes(py_bucket, "big", random_bytes(4 * MiB))
    directory = tmp_path / "place"
    directory.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(directory, 0o755)  # owned by root: not writable for the unprivileged child
    res = subprocess.run(
        [sys.executable, "-c", LOCAL_TARGET, py_bucket, str(directory / "out"), how], capture_output=True,
        text=True, timeout=300, env={**os.environ, "STORJ_TEST_ACCESS": storj_network.access},
    )
    assert res.returncode == 0, f"exit {res.returncode}: {res.stderr}"  # never a signal death
    assert res.stdout.split() == ["OSError", code]
    assert list(directory.iterdir()) == []  # neither the target nor a temporary file


# ---------------------------------------------------------------- no silent short results


@pytest.mark.parametrize("key", ["a\0b", "\0"])
def test_a_key_with_nul_is_refused(project, py_bucket: str, fs: StorjFileSystem, key: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="null"):
        project.upload_object(py_bucket, key)
    with pytest.raises(ValueError, match="null"):
        project.upload_bytes(py_bucket, key, b"x")
    with pytest.raises(ValueError, match="null"):
        project.stat_object(py_bucket, key)
    with pytest.raises(ValueError):
        fs.pipe_file(f"{py_bucket}/{key}", b"x")
    assert list(project.iter_objects(py_bucket)) == []


# ---------------------------------------------------------------- crash consistency (kill -9)

KILLED = r"""
import os, sys
from uplink_py import Uplink
bucket, what, target = sys.argv[1], sys.argv[2], sys.argv[3]
def tell(done, total):
    if done >= 2 * 1048579:
        print("started", flush=True)
        sys.stdin.read()  # wait here for the kill
with Uplink().parse_access(os.environ["STORJ_TEST_ACCESS"]).open_project() as project:
    if what == "download":
        project.download_file(bucket, "obj", target, part_size=1048579, progress=tell)
    else:
        project.upload_file(bucket, "obj", target, part_size=1048579, progress=tell)
print("finished", flush=True)
"""


@pytest.mark.parametrize("what", ["download", "upload"])
def test_kill_9_mid_transfer_leaves_old_state(
    storj_network: StorjNetwork, project, py_bucket: str, tmp_path: Path, what: str  # type: ignore[no-untyped-def]
) -> None:
    old, new = random_bytes(8 * PART), random_bytes(8 * PART)
    project.upload_bytes(py_bucket, "obj", old)
    target = tmp_path / "file.bin"
    target.write_bytes(b"old local file" if what == "download" else new)
    with subprocess.Popen(
        [sys.executable, "-c", KILLED, py_bucket, what, str(target)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        env={**os.environ, "STORJ_TEST_ACCESS": storj_network.access}, text=True,
    ) as child:
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "started"
            child.send_signal(signal.SIGKILL)
            assert child.wait(timeout=60) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
    if what == "download":
        assert target.read_bytes() == b"old local file"
    else:
        time.sleep(0.5)
        assert_same_bytes(stored(project, py_bucket, "obj") or b"", old)
        assert sha256(old) != sha256(new)


def test_source_helpers_reject_what_they_cannot_read(project, py_bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IsADirectoryError):
        project.upload_file(py_bucket, "dir", tmp_path)
    with pytest.raises(TypeError, match="binary"):
        project.upload_file(py_bucket, "text", io.StringIO("text"))
    with pytest.raises(TypeError):
        project.upload_file(py_bucket, "int", 3.5)
    assert list(project.iter_objects(py_bucket)) == []
