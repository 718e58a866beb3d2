"""Ctrl-C (SIGINT) during blocking calls: prompt KeyboardInterrupt, nothing committed.

Each scenario runs in a child process (its main thread blocked inside Go) that
prints "started" right before the blocking call; the test sends SIGINT a moment
later and reads back a JSON report. Latency is measured between os.kill in the
test and the `except KeyboardInterrupt` in the child (both CLOCK_MONOTONIC).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest

from conftest import StorjNetwork, unique_bucket_name

pytestmark = pytest.mark.integration

LATENCY_LIMIT = 2.5  # seconds; measured ~1 ms, generous for a loaded 2-core machine

PRELUDE = """
import json, os, sys, time, signal
sys.path = [p for p in sys.path if p not in ("", ".")]
from uplink_py import Uplink, Config
from uplink_py.errors import ObjectNotFoundError
BUCKET = os.environ["TEST_BUCKET"]
project = Uplink().parse_access(os.environ["TEST_ACCESS"]).open_project()
res = {}
def started():
    print("started", flush=True)
def report():
    print(json.dumps(res), flush=True)
def wait_no_pending(key):
    # uplink deletes a cancelled upload's pending object in the background
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pending = [u.key for u in project.list_uploads(BUCKET) if u.key == key]
        if not pending:
            return True
        time.sleep(0.1)
    return False
def exists(key):
    try:
        project.stat_object(BUCKET, key)
        return True
    except ObjectNotFoundError:
        return False
def still_usable():
    with project.upload_object(BUCKET, "after") as up:
        up.write(b"still usable")
    with project.download_object(BUCKET, "after") as d:
        return d.readall() == b"still usable"
"""


def run_interrupted(script: str, access: str, bucket: str, *, delay: float = 1.0) -> tuple[dict, float]:
    """Runs PRELUDE + script in a child, sends SIGINT `delay` s after it printed "started";
    returns the child's JSON report and the time the signal was sent."""
    env = {**os.environ, "TEST_ACCESS": access, "TEST_BUCKET": bucket}
    code = PRELUDE + textwrap.dedent(script)
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        line = proc.stdout.readline() if ready else ""  # type: ignore[union-attr]
        assert line.strip() == "started", f"child did not start: {line!r}\n{proc.stderr.read() if not ready else ''}"  # type: ignore[union-attr]
        time.sleep(delay)
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, f"child exited {proc.returncode}:\n{out}\n{err}"
    return json.loads(out.strip().splitlines()[-1]), sent


@pytest.fixture(scope="module")
def bucket_name(storj_network: StorjNetwork) -> Iterator[str]:
    from uplink_py import Uplink

    name = unique_bucket_name("interrupts")
    with Uplink().parse_access(storj_network.access).open_project() as project:
        project.create_bucket(name)
        yield name
        project.delete_bucket_with_objects(name)


def test_sigint_cancels_a_long_upload(storj_network: StorjNetwork, bucket_name: str) -> None:
    res, sent = run_interrupted(
        """
        data = bytearray(512 << 20)  # ~10 s of upload here
        try:
            with project.upload_object(BUCKET, "big-upload") as up:
                started()
                up.write(data)
            res["completed"] = True
        except KeyboardInterrupt:
            res["at"] = time.monotonic()
            res["closed"] = up.closed
            res["repr"] = repr(up)
        res["exists"] = exists("big-upload")
        res["no_pending"] = wait_no_pending("big-upload")
        res["usable"] = still_usable()
        report()
        """,
        storj_network.access,
        bucket_name,
    )
    assert "completed" not in res, res
    latency = res["at"] - sent
    print(f"upload interrupt latency: {latency * 1000:.1f} ms")
    assert 0 <= latency < LATENCY_LIMIT, res
    assert res["closed"] and "cancelled" in res["repr"], res
    assert res["exists"] is False and res["no_pending"] is True, res
    assert res["usable"] is True, res


def test_sigint_cancels_a_long_download(storj_network: StorjNetwork, bucket_name: str) -> None:
    res, sent = run_interrupted(
        """
        size = 320 << 20
        project.upload_bytes(BUCKET, "big-download", os.urandom(size))
        buf = bytearray(size)
        try:
            with project.download_object(BUCKET, "big-download") as d:
                started()
                d.readinto(buf)
            res["completed"] = True
        except KeyboardInterrupt:
            res["at"] = time.monotonic()
            res["closed"] = d.closed
        res["size"] = project.stat_object(BUCKET, "big-download").system.content_length
        project.delete_object(BUCKET, "big-download")
        res["usable"] = still_usable()
        report()
        """,
        storj_network.access,
        bucket_name,
        delay=0.5,
    )
    assert "completed" not in res, res
    latency = res["at"] - sent
    print(f"download interrupt latency: {latency * 1000:.1f} ms")
    assert 0 <= latency < LATENCY_LIMIT, res
    assert res["closed"] is True and res["size"] == 320 << 20 and res["usable"] is True, res


def test_sigint_cancels_parallel_upload_bytes(storj_network: StorjNetwork, bucket_name: str) -> None:
    res, sent = run_interrupted(
        """
        data = bytearray(512 << 20)
        try:
            started()
            project.upload_bytes(BUCKET, "parallel", data, part_size=64 << 20, max_concurrency=4)
            res["completed"] = True
        except KeyboardInterrupt:
            res["at"] = time.monotonic()
        res["exists"] = exists("parallel")
        res["no_pending"] = wait_no_pending("parallel")
        res["usable"] = still_usable()
        report()
        """,
        storj_network.access,
        bucket_name,
    )
    assert "completed" not in res, res
    latency = res["at"] - sent
    print(f"parallel upload interrupt latency: {latency * 1000:.1f} ms")
    assert 0 <= latency < LATENCY_LIMIT, res
    assert res["exists"] is False and res["no_pending"] is True and res["usable"] is True, res


@pytest.fixture
def black_hole() -> Iterator[str]:
    """host:port of a loopback TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        try:
            while True:
                held.append(server.accept()[0])
        except OSError:  # closed
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield "127.0.0.1:%d" % server.getsockname()[1]
    server.close()
    for conn in held:
        conn.close()


def with_satellite(serialized: str, address: str) -> str:
    """The access grant with its satellite address replaced (grant: base58check of a protobuf)."""
    import hashlib

    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    n = 0
    for ch in serialized:
        n = n * 58 + alphabet.index(ch)
    raw = b"\0" * (len(serialized) - len(serialized.lstrip("1"))) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    body, check = raw[:-4], raw[-4:]
    assert hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4] == check

    def varint(b: bytes, i: int) -> tuple[int, int]:
        shift = value = 0
        while True:
            value |= (b[i] & 0x7F) << shift
            shift += 7
            i += 1
            if b[i - 1] < 0x80:
                return value, i

    def enc(v: int) -> bytes:
        out = bytearray()
        while True:
            out.append((v & 0x7F) | (0x80 if v > 0x7F else 0))
            v >>= 7
            if not v:
                return bytes(out)

    fields, i, payload = [], 0, body[1:]
    while i < len(payload):
        key, i = varint(payload, i)
        assert key & 7 == 2, key  # every field of the grant is length-delimited
        length, i = varint(payload, i)
        fields.append((key >> 3, payload[i : i + length]))
        i += length
    out = body[:1] + b"".join(
        enc(f << 3 | 2) + enc(len(v)) + v for f, v in ((f, address.encode() if f == 1 else v) for f, v in fields)
    )
    full = out + hashlib.sha256(hashlib.sha256(out).digest()).digest()[:4]
    n = int.from_bytes(full, "big")
    text = ""
    while n:
        n, r = divmod(n, 58)
        text = alphabet[r] + text
    return "1" * (len(full) - len(full.lstrip(b"\0"))) + text


def test_sigint_cancels_a_dial_to_a_silent_peer(storj_network: StorjNetwork, black_hole: str) -> None:
    node_id = storj_network.satellite.split("@", 1)[0]
    access = with_satellite(storj_network.access, f"{node_id}@{black_hole}")
    res, sent = run_interrupted(
        """
        try:
            started()
            project.stat_bucket(BUCKET)  # dials the satellite: the default dial timeout is 10 s
            res["completed"] = True
        except KeyboardInterrupt:
            res["at"] = time.monotonic()
        except Exception as e:
            res["error"] = repr(e)
        report()
        """,
        access,
        "any-bucket",
    )
    assert "completed" not in res and "error" not in res, res
    latency = res["at"] - sent
    print(f"dial interrupt latency: {latency * 1000:.1f} ms")
    assert 0 <= latency < LATENCY_LIMIT, res


def test_sigint_leaves_other_threads_alone(storj_network: StorjNetwork, bucket_name: str) -> None:
    """Ctrl-C interrupts the main thread (here a sleep); a worker thread's upload completes."""
    res, sent = run_interrupted(
        """
        import threading
        def work():
            try:
                with project.upload_object(BUCKET, "worker") as up:
                    up.write(bytearray(96 << 20))
                res["worker"] = "committed"
            except BaseException as e:
                res["worker"] = repr(e)
        t = threading.Thread(target=work)
        t.start()
        try:
            started()
            time.sleep(60)
        except KeyboardInterrupt:
            res["at"] = time.monotonic()
        t.join(120)
        res["exists"] = exists("worker")
        report()
        """,
        storj_network.access,
        bucket_name,
    )
    assert 0 <= res["at"] - sent < LATENCY_LIMIT, res
    assert res["worker"] == "committed" and res["exists"] is True, res


def test_python_ctrl_c_still_works_after_a_call(storj_network: StorjNetwork, bucket_name: str) -> None:
    """Our SIGINT handler must not make the main thread's system calls restart (SA_RESTART):
    a read() blocked on an empty pipe still gets KeyboardInterrupt."""
    res, sent = run_interrupted(
        """
        project.stat_bucket(BUCKET)  # installs the handler
        res["handler"] = signal.getsignal(signal.SIGINT) is signal.default_int_handler
        r, w = os.pipe()
        try:
            started()
            os.read(r, 1)
            res["completed"] = True
        except KeyboardInterrupt:
            res["at"] = time.monotonic()
        res["after"] = project.stat_bucket(BUCKET).name == BUCKET
        report()
        """,
        storj_network.access,
        bucket_name,
        delay=0.3,
    )
    assert "completed" not in res and res["handler"] is True and res["after"] is True, res
    assert 0 <= res["at"] - sent < LATENCY_LIMIT, res


def test_ignored_sigint_does_not_cancel(storj_network: StorjNetwork, bucket_name: str) -> None:
    """With SIGINT ignored (signal.SIG_IGN) a signal changes nothing: the upload commits."""
    res, sent = run_interrupted(
        """
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with project.upload_object(BUCKET, "ignored") as up:
            started()
            up.write(bytearray(128 << 20))
        res["end"] = time.monotonic()
        res["exists"] = exists("ignored")
        report()
        """,
        storj_network.access,
        bucket_name,
        delay=0.5,
    )
    assert res["exists"] is True and res["end"] > sent, res  # the signal came while it ran


def test_sigint_in_a_forked_child_leaves_the_parent_alone(storj_network: StorjNetwork, bucket_name: str) -> None:
    """A child forked after the handler was installed inherits it: a SIGINT there raises
    KeyboardInterrupt in the child and cancels nothing in the parent."""
    script = PRELUDE + textwrap.dedent(
        """
        import threading
        project.stat_bucket(BUCKET)  # installs the handler
        pid = os.fork()
        if pid == 0:
            try:
                time.sleep(60)
                os._exit(1)
            except KeyboardInterrupt:
                os._exit(7)
        threading.Timer(0.5, os.kill, (pid, signal.SIGINT)).start()
        with project.upload_object(BUCKET, "forked") as up:
            up.write(bytearray(96 << 20))
        res["child_exit"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        res["exists"] = exists("forked")
        report()
        """
    )
    env = {**os.environ, "TEST_ACCESS": storj_network.access, "TEST_BUCKET": bucket_name}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res == {"child_exit": 7, "exists": True}, res
