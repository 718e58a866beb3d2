"""fork(): the Go runtime inside the native module does not survive it.

- A process that imported uplink_py but never used it (so the native module, and Go, are
  not loaded) can fork, and the child uses uplink_py normally (multiprocessing "fork"
  workers, data loader workers).
- A child forked after the parent used uplink_py gets ForkedProcessError, within a second,
  from every call: module functions, and methods of the handles it inherited (access,
  project, upload, download, part upload, iterators); dropping those handles and exiting
  never hangs, even when the parent had a transfer in flight while forking.

Every child runs under a timeout (multiprocessing join, subprocess timeout): a hang fails
the test instead of blocking the run. (The two os.fork tests came from test_package.py.)
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest

import uplink_py
from uplink_py import Access, Permission
from uplink_py.errors import ForkedProcessError

from conftest import StorjNetwork, random_bytes

FORK = multiprocessing.get_context("fork")
CALL_LIMIT = 1.0  # seconds a refused call may take in a forked child


def run_python(code: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=env)


# ---------------------------------------------------------------- os.fork (from test_package.py)


def test_a_forked_child_gets_a_clear_error() -> None:
    """The Go runtime does not survive fork(): after the parent loaded it, a call in the child
    raises ForkedProcessError instead of hanging."""
    res = run_python("""
        import os, sys
        import uplink_py
        from uplink_py import Uplink
        from uplink_py.errors import ForkedProcessError
        uplink_py.uplink_version()  # the parent loads the native module
        pid = os.fork()
        if pid == 0:
            try:
                Uplink().parse_access("anything")
            except ForkedProcessError as exc:
                print("child:", type(exc).__name__, flush=True)
                os._exit(0)
            except BaseException as exc:
                print("child: wrong error", type(exc).__name__, exc, flush=True)
                os._exit(1)
            print("child: no error", flush=True)
            os._exit(2)
        _, status = os.waitpid(pid, 0)
        print("parent: child exit", os.waitstatus_to_exitcode(status))
        print("parent still works:", bool(uplink_py.uplink_version()))
    """)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "child: ForkedProcessError" in res.stdout, res.stdout + res.stderr
    assert "parent: child exit 0" in res.stdout and "parent still works: True" in res.stdout


def test_a_child_forked_before_loading_works() -> None:
    """Importing without loading keeps fork() safe: the child can load and use the module."""
    res = run_python("""
        import os
        import uplink_py
        pid = os.fork()
        if pid == 0:
            os._exit(0 if uplink_py.uplink_version() else 1)
        _, status = os.waitpid(pid, 0)
        print("child exit", os.waitstatus_to_exitcode(status))
    """)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "child exit 0" in res.stdout


# ---------------------------------------------------------------- multiprocessing, import only


@pytest.mark.integration
def test_multiprocessing_fork_workers_of_a_parent_that_only_imported(storj_network: StorjNetwork,
                                                                     py_bucket: str) -> None:
    """A parent that imported (never used) uplink_py: fork workers transfer objects, a Pool of
    them in parallel; the parent uses it afterwards too."""
    env = {**os.environ, "T_ACCESS": storj_network.access, "T_BUCKET": py_bucket}
    res = run_python("""
        import multiprocessing, os, sys
        import uplink_py
        from uplink_py import Uplink

        def work(i):
            access = Uplink().parse_access(os.environ["T_ACCESS"])
            with access.open_project() as project:
                data = os.urandom(1000 + i)
                project.upload_bytes(os.environ["T_BUCKET"], f"w{i}", data)
                ok = project.download_bytes(os.environ["T_BUCKET"], f"w{i}") == data
                return i, ok, os.getpid()

        if __name__ == "__main__":
            assert "uplink_py._core" not in sys.modules
            ctx = multiprocessing.get_context("fork")
            one = ctx.Process(target=work, args=(99,))
            one.start(); one.join(60)
            print("process exit", one.exitcode)
            with ctx.Pool(4) as pool:
                results = pool.map_async(work, range(8)).get(timeout=120)
            print("pool", sorted(r[:2] for r in results), len({r[2] for r in results}) > 1)
            assert "uplink_py._core" not in sys.modules  # the workers loaded it, not the parent
            access = Uplink().parse_access(os.environ["T_ACCESS"])
            with access.open_project() as project:
                keys = sorted(o.key for o in project.list_objects(os.environ["T_BUCKET"]))
            print("parent sees", keys)
    """, env=env, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "process exit 0" in res.stdout
    assert "pool [(0, True), (1, True), (2, True), (3, True), (4, True), (5, True), (6, True), (7, True)] True" \
        in res.stdout, res.stdout
    assert "parent sees ['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7', 'w99']" in res.stdout, res.stdout


# ---------------------------------------------------------------- multiprocessing, after use


def _calls(access: Access, handles: dict[str, Any], bucket: str) -> dict[str, Any]:
    project, upload, download, part, iterator = (handles[k] for k in ("project", "upload", "download", "part",
                                                                      "iterator"))
    return {
        "uplink_version": uplink_py.uplink_version,
        "parse_access": lambda: uplink_py.Uplink().parse_access("garbage"),
        "request_access": lambda: uplink_py.Uplink().request_access_with_passphrase("sat", "key", "pass"),
        "derive_encryption_key": lambda: uplink_py.derive_encryption_key("p", b"salt"),
        "join_share_url": lambda: uplink_py.join_share_url("https://x", "id", "b", "k"),
        "Access.serialize": access.serialize,
        "Access.satellite_address": access.satellite_address,
        "Access.share": lambda: access.share(Permission(allow_download=True)),
        "Access.open_project": access.open_project,
        "Project.stat_bucket": lambda: project.stat_bucket(bucket),
        "Project.list_objects": lambda: project.list_objects(bucket),
        "Project.upload_object": lambda: project.upload_object(bucket, "child"),
        "Project.download_bytes": lambda: project.download_bytes(bucket, "k"),
        "Project.upload_bytes": lambda: project.upload_bytes(bucket, "child", b"x"),
        "Upload.write": lambda: upload.write(b"x"),
        "Upload.commit": upload.commit,
        "Upload.abort": upload.abort,
        "Upload.info": upload.info,
        "Download.read": lambda: download.read(1),
        "Download.readinto": lambda: download.readinto(bytearray(1)),
        "Download.close": download.close,
        "PartUpload.write": lambda: part.write(b"x"),
        "PartUpload.commit": part.commit,
        "iterator.next": lambda: next(iterator),
        "Project.close": project.close,
        "Upload.cancel": upload.cancel,
    }


def _child_after_use(conn: Any, access: Access, handles: dict[str, Any], bucket: str) -> None:
    results = {}
    for name, call in _calls(access, handles, bucket).items():
        start = time.monotonic()
        try:
            call()
            outcome = "no error"
        except ForkedProcessError:
            outcome = "ForkedProcessError"
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            outcome = f"{type(exc).__name__}: {exc}"
        results[name] = (outcome, time.monotonic() - start)
    reprs = [repr(h) for h in (access, *handles.values())]  # repr never calls Go
    handles.clear()
    del access
    gc.collect()  # destructors of inherited handles must not call into Go
    conn.send((results, reprs))
    conn.close()


@pytest.mark.integration
@pytest.mark.parametrize("busy", [False, True], ids=["idle", "transfer in flight"])
def test_child_forked_after_use_gets_forked_process_error(access: Access, py_bucket: str, busy: bool) -> None:
    project = access.open_project()
    project.upload_bytes(py_bucket, "k", b"data")
    upload_id = project.begin_upload(py_bucket, "m").upload_id
    handles = {
        "project": project,
        "upload": project.upload_object(py_bucket, "open"),
        "download": project.download_object(py_bucket, "k"),
        "part": project.upload_part(py_bucket, "m", upload_id, 1),
        "iterator": project.iter_objects(py_bucket),
    }
    stop = threading.Event()

    def keep_busy() -> None:  # a Go call in flight on another thread while forking
        chunk = random_bytes(256 * 1024)
        with project.upload_object(py_bucket, "busy") as up:
            while not stop.is_set():
                up.write(chunk)
            up.abort()

    busy_thread = threading.Thread(target=keep_busy)
    if busy:
        busy_thread.start()
        time.sleep(0.3)
    try:
        receive, send = FORK.Pipe(duplex=False)
        child = FORK.Process(target=_child_after_use, args=(send, access, handles, py_bucket))
        start = time.monotonic()
        child.start()
        send.close()
        assert receive.poll(60), "the forked child sent nothing within 60 s (hung?)"
        results, reprs = receive.recv()
        child.join(30)
        elapsed = time.monotonic() - start
        if child.exitcode is None:
            child.kill()
        assert child.exitcode == 0, f"child exit {child.exitcode}"
    finally:
        stop.set()
        if busy:
            busy_thread.join(60)
    wrong = {name: r for name, r in results.items() if r[0] != "ForkedProcessError"}
    assert not wrong, wrong
    slow = {name: round(r[1], 3) for name, r in results.items() if r[1] > CALL_LIMIT}
    assert not slow, slow
    assert elapsed < 30
    assert reprs[0].startswith("<Access satellite=") and "<Project open>" in reprs
    # The parent's handles are intact and the parent goes on.
    upload = handles["upload"]
    upload.write(b"parent")
    upload.commit()
    assert handles["download"].read(10) == (b"data", 4)
    handles["download"].close()
    handles["part"].abort()
    project.abort_upload(py_bucket, "m", upload_id)
    assert project.download_bytes(py_bucket, "open") == b"parent"
    project.close()


@pytest.mark.integration
def test_forked_child_exits_through_interpreter_shutdown(storj_network: StorjNetwork, py_bucket: str) -> None:
    """A child that keeps inherited handles and exits normally (atexit, module teardown,
    garbage collection) finishes promptly."""
    env = {**os.environ, "T_ACCESS": storj_network.access, "T_BUCKET": py_bucket}
    res = run_python("""
        import os, sys, time
        import uplink_py
        from uplink_py.errors import ForkedProcessError
        access = uplink_py.Uplink().parse_access(os.environ["T_ACCESS"])
        project = access.open_project()
        upload = project.upload_object(os.environ["T_BUCKET"], "kept-open")
        upload.write(b"x")
        iterator = project.iter_buckets()
        pid = os.fork()
        if pid == 0:
            try:
                project.stat_bucket(os.environ["T_BUCKET"])
            except ForkedProcessError:
                print("child refused", flush=True)
            sys.exit(0)  # normal shutdown with project, upload and iterator still referenced
        start = time.monotonic()
        _, status = os.waitpid(pid, 0)
        print("child exit", os.waitstatus_to_exitcode(status), "in", round(time.monotonic() - start, 1), "s")
        upload.abort()
        project.close()
    """, env=env, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "child refused" in res.stdout and "child exit 0" in res.stdout, res.stdout + res.stderr
    seconds = float(res.stdout.split(" in ")[1].split()[0])
    assert seconds < 10
