"""Security: secrets (the access grant, the API key, the passphrase, and grants derived from
them) never show in the repr/str of anything the library returns, in exception messages
(many errors provoked, with damaged grants and keys among them), in logs or a process's
output, or in the CLI's output; restricted grants are enforced; the passphrase never
reaches the disk.

A secret counts as shown when any 16 consecutive characters of it appear (a truncated or
partly redacted grant is still a leak). test_pythonic.py checks the handles' reprs,
test_access.py read-only/prefix/past not_after grants, test_cli.py scans the CLI's output
in its own tests; this module extends each.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

import uplink_py
from uplink_py import (Access, Config, CustomMetadata, DownloadOptions, EdgeConfig, EdgeCredentials,
                       ListObjectsOptions, Permission, Project, SharePrefix, Uplink)
from uplink_py.errors import ObjectNotFoundError, PermissionDeniedError, StorjException

from conftest import StorjNetwork, unique_bucket_name

pytestmark = pytest.mark.integration

WINDOW = 16


def windows(secret: str) -> set[str]:
    return {secret[i: i + WINDOW] for i in range(max(1, len(secret) - WINDOW + 1))}


class Secrets:
    def __init__(self, values: Iterable[str]) -> None:
        self.values = [v for v in values if v]
        self.parts = set().union(*(windows(v) for v in self.values))

    def check(self, text: str | bytes, where: str) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        found = next((p for p in self.parts if p in text), None)
        assert found is None, f"{WINDOW} characters of a secret in {where}"


def mutations(secret: str) -> list[str]:
    """Damaged copies of a secret: truncated, extended, one character changed or swapped."""
    swap = {"1": "2", "A": "B", "a": "b"}
    out = [secret[:-1], secret[: len(secret) // 2], secret + "x", secret[1:], " " + secret, secret + "\n",
           secret.upper(), secret[::-1]]
    for i in (0, 5, len(secret) // 3, len(secret) // 2, len(secret) - 2):
        c = secret[i]
        out.append(secret[:i] + swap.get(c, "1" if c != "1" else "2") + secret[i + 1:])
        out.append(secret[:i] + secret[i + 1] + secret[i] + secret[i + 2:])
    return out


@pytest.fixture(scope="module")
def secrets(storj_network: StorjNetwork, access: Access) -> Secrets:
    shared = access.share(Permission(allow_download=True, allow_list=True))
    return Secrets([storj_network.access, storj_network.api_key, storj_network.passphrase, access.serialize(),
                    shared.serialize()])


def exception_texts(exc: BaseException) -> list[str]:
    texts = [str(exc), repr(exc), "".join(traceback.format_exception(exc)), repr(exc.args)]
    for attr in ("message", "details"):
        texts.append(str(getattr(exc, attr, "")))
    texts.append(repr(pickle.loads(pickle.dumps(exc))))
    return texts


def provoke(call: Callable[[], Any]) -> BaseException | None:
    """The exception call raises (None if it worked: a damaged grant may still parse)."""
    try:
        call()
    except (StorjException, TypeError, ValueError) as exc:
        return exc
    return None


# ---------------------------------------------------------------- repr and str


def test_reprs_of_everything_returned(storj_network: StorjNetwork, access: Access, project: Project,
                                      py_bucket: str, secrets: Secrets) -> None:
    project.upload_bytes(py_bucket, "k", b"data", custom_metadata={"a": "b"})
    upload_id = project.begin_upload(py_bucket, "m").upload_id
    part = project.upload_part(py_bucket, "m", upload_id, 1)
    part.write(b"p")
    things: list[Any] = [
        Uplink(), access, Uplink().parse_access(storj_network.access),
        Uplink().request_access_with_passphrase(storj_network.satellite, storj_network.api_key,
                                                storj_network.passphrase),
        Uplink().config_request_access_with_passphrase(Config(user_agent="t"), storj_network.satellite,
                                                       storj_network.api_key, storj_network.passphrase),
        access.share(Permission(allow_upload=True), [SharePrefix(py_bucket, "p/")]),
        project, project.upload_object(py_bucket, "pending"), project.download_object(py_bucket, "k"), part,
        project.iter_buckets(), project.iter_objects(py_bucket), project.iter_uploads(py_bucket),
        project.iter_upload_parts(py_bucket, "m", upload_id),
        uplink_py.derive_encryption_key(storj_network.passphrase, b"salt"),
        project.stat_bucket(py_bucket), project.stat_object(py_bucket, "k"), project.list_objects(py_bucket),
        project.list_buckets(), project.list_uploads(py_bucket), part.info(),
        project.list_upload_parts(py_bucket, "m", upload_id),
        EdgeCredentials(access_key_id="id", secret_key=storj_network.api_key, endpoint="https://e"),
        EdgeConfig(auth_service_address="a:1"), Permission(allow_download=True), Config(), CustomMetadata(),
        ListObjectsOptions(prefix="p/"), DownloadOptions(1, 2), uplink_py.errors.StorjException("m", 2, "d"),
    ]
    try:
        for thing in things:
            for text in (repr(thing), str(thing), format(thing, "")):
                assert text
                secrets.check(text, f"repr/str of {type(thing).__name__}")
    finally:
        for thing in things:
            for method in ("abort", "close"):
                if isinstance(thing, (uplink_py.Upload, uplink_py.PartUpload, uplink_py.Download)) and hasattr(
                        thing, method):
                    getattr(thing, method)()
                    break
        project.abort_upload(py_bucket, "m", upload_id)


# ---------------------------------------------------------------- exception messages


# The provoking calls drop the projects they open (that is the shortest way to reach each
# error); the warnings for those are expected here, and only here.
@pytest.mark.filterwarnings("ignore:unclosed Project:ResourceWarning")
def test_exception_messages_hold_no_secrets(storj_network: StorjNetwork, access: Access, project: Project,
                                            py_bucket: str, secrets: Secrets) -> None:
    net = storj_network
    uplink = Uplink()
    extra = Secrets([*mutations(net.access), *mutations(net.api_key)])
    calls: list[Callable[[], Any]] = []
    for bad in mutations(net.access):
        calls.append(lambda bad=bad: uplink.parse_access(bad).open_project().stat_bucket(py_bucket))
    for bad in mutations(net.api_key):
        calls.append(lambda bad=bad: uplink.request_access_with_passphrase(net.satellite, bad, net.passphrase)
                     .open_project().stat_bucket(py_bucket))
    node_id, _, address = net.satellite.partition("@")
    calls += [
        lambda: uplink.request_access_with_passphrase("1" + node_id[1:] + "@" + address, net.api_key,
                                                      net.passphrase).open_project().list_buckets(),
        lambda: uplink.config_request_access_with_passphrase(Config(dial_timeout_milliseconds=500),
                                                             "127.0.0.1:1", net.api_key, net.passphrase),
        lambda: uplink.request_access_with_passphrase(net.satellite, net.api_key + "\x00", net.passphrase),
        lambda: uplink.request_access_with_passphrase(net.satellite, net.api_key, net.passphrase + "\x00"),
        lambda: uplink.parse_access(net.access + "\x00"),
        lambda: access.share(Permission()),
        lambda: access.register_access(EdgeConfig(auth_service_address="127.0.0.1:1")),
        lambda: project.stat_bucket(unique_bucket_name("missing")),
        lambda: project.create_bucket(py_bucket),
        lambda: project.delete_bucket("Bad_Name"),
        lambda: project.download_object(py_bucket, "missing"),
        lambda: project.upload_part(py_bucket, "k", "bad id", 1),
        lambda: uplink.parse_access(access.share(Permission(allow_list=True)).serialize())
        .open_project().download_bytes(py_bucket, "k"),
        lambda: uplink.parse_access(access.share(Permission(allow_download=True,
                                                            not_after=int(time.time()) - 60)).serialize())
        .open_project().list_objects(py_bucket),
        lambda: uplink_py.derive_encryption_key(net.passphrase, "not bytes"),
    ]
    raised: dict[str, int] = {}
    for call in calls:
        exc = provoke(call)
        if exc is None:
            continue
        raised[type(exc).__name__] = raised.get(type(exc).__name__, 0) + 1
        for text in exception_texts(exc):
            secrets.check(text, f"a {type(exc).__name__}")
            extra.check(text, f"a {type(exc).__name__} about a damaged grant or key")
    assert sum(raised.values()) >= len(calls) - 4 and len(calls) > 40, raised


# ---------------------------------------------------------------- logs and process output


def test_logging_and_output_hold_no_secrets(storj_network: StorjNetwork, access: Access, py_bucket: str,
                                            secrets: Secrets, caplog: pytest.LogCaptureFixture,
                                            capfd: pytest.CaptureFixture[str]) -> None:
    """In this process (every logger at DEBUG, stdout/stderr captured at the fd level, so
    Go's own output would show) and in a child with logging at DEBUG and Go's debug output on."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)
    with access.open_project() as project:
        project.upload_bytes(py_bucket, "k", b"x" * 1000)
        project.download_bytes(py_bucket, "k")
        for call in (lambda: project.stat_object(py_bucket, "missing"),
                     lambda: Uplink().parse_access(storj_network.access[:-3]),
                     lambda: Uplink().request_access_with_passphrase(storj_network.satellite,
                                                                     storj_network.api_key[:-2], "p")):
            assert provoke(call) is not None
    out, err = capfd.readouterr()
    for text in (caplog.text, out, err):
        secrets.check(text, "this process's logs or output")

    env = {**os.environ, "T_ACCESS": storj_network.access, "T_KEY": storj_network.api_key,
           "T_PASS": storj_network.passphrase, "T_SAT": storj_network.satellite, "T_BUCKET": py_bucket,
           "GODEBUG": "http2debug=2,netdns=go+2", "PYTHONWARNINGS": "always", "PYTHONDEVMODE": "1"}
    res = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import logging, os, gc
        logging.basicConfig(level=logging.DEBUG)
        import uplink_py
        from uplink_py import Uplink
        access = Uplink().request_access_with_passphrase(os.environ["T_SAT"], os.environ["T_KEY"],
                                                         os.environ["T_PASS"])
        project = access.open_project()
        project.upload_bytes(os.environ["T_BUCKET"], "child", b"y" * 5000)
        print(len(project.download_bytes(os.environ["T_BUCKET"], "child")))
        for bad in (os.environ["T_ACCESS"][:-1], os.environ["T_ACCESS"] + "1"):
            try:
                Uplink().parse_access(bad)
            except Exception as exc:
                logging.exception("parse failed: %s", exc)
        project.upload_object(os.environ["T_BUCKET"], "abandoned").write(b"z")  # a ResourceWarning
        del project, access
        gc.collect()
        raise SystemExit("done")  # an exit message on stderr, too
    """)], env=env, capture_output=True, text=True, timeout=120)
    assert res.stdout.strip() == "5000", res.stdout + res.stderr
    assert "parse failed" in res.stderr and "ResourceWarning" in res.stderr
    secrets.check(res.stdout + res.stderr, "a child's stdout/stderr")


def test_cli_output_holds_no_secrets_with_damaged_grants(storj_network: StorjNetwork, py_bucket: str,
                                                         secrets: Secrets) -> None:
    """test_cli.py scans the output of its commands; here: damaged grants in the environment
    and on the command line, and help/version, with windows of the secrets."""
    extra = Secrets(mutations(storj_network.access))
    runs = []
    base = {k: v for k, v in os.environ.items() if k != "STORJ_ACCESS"}
    for bad in mutations(storj_network.access)[:8]:
        runs.append((["ls", f"sj://{py_bucket}"], {**base, "STORJ_ACCESS": bad}))
        runs.append(([f"--access={bad}", "ls"], base))
    runs += [(["--help"], base), (["--version"], base), (["ls"], base),
             (["share", "--readonly"], {**base, "STORJ_ACCESS": storj_network.access[:-5]}),
             (["cat", f"sj://{py_bucket}/missing"], {**base, "STORJ_ACCESS": storj_network.access}),
             (["ls", storj_network.api_key], {**base, "STORJ_ACCESS": storj_network.access})]
    failures = 0
    for args, env in runs:
        res = subprocess.run([sys.executable, "-m", "uplink_py", *args], capture_output=True, env=env,
                             timeout=120, cwd="/")
        failures += res.returncode != 0
        output = res.stdout + res.stderr
        secrets.check(output, f"the output of uplink-py {args[0][:8]}...")
        extra.check(output, "the CLI output about a damaged grant")
        assert b"Traceback" not in output
    assert failures >= len(runs) - 3  # help, version and nothing else succeed


# ---------------------------------------------------------------- restricted grants


def restricted(access: Access, permission: Permission, prefixes: list[SharePrefix] | None = None) -> Project:
    """A project opened with a share of access, through its serialized form."""
    return Uplink().parse_access(access.share(permission, prefixes).serialize()).open_project()


def test_write_only_list_only_delete_only(access: Access, project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "k", b"data")
    with restricted(access, Permission(allow_upload=True), [SharePrefix(py_bucket, "")]) as p:
        p.upload_bytes(py_bucket, "new", b"written")
        for call in (lambda: p.download_bytes(py_bucket, "k"), lambda: p.list_objects(py_bucket),
                     lambda: p.delete_object(py_bucket, "k")):
            with pytest.raises(PermissionDeniedError):
                call()
    assert project.download_bytes(py_bucket, "new") == b"written"
    with restricted(access, Permission(allow_list=True), [SharePrefix(py_bucket, "")]) as p:
        assert sorted(o.key for o in p.list_objects(py_bucket)) == ["k", "new"]
        for call in (lambda: p.download_bytes(py_bucket, "k"), lambda: p.upload_bytes(py_bucket, "x", b"x"),
                     lambda: p.delete_object(py_bucket, "k")):
            with pytest.raises(PermissionDeniedError):
                call()
    with restricted(access, Permission(allow_delete=True), [SharePrefix(py_bucket, "")]) as p:
        p.delete_object(py_bucket, "new")
        with pytest.raises(PermissionDeniedError):
            p.download_bytes(py_bucket, "k")
    with pytest.raises(ObjectNotFoundError):
        project.stat_object(py_bucket, "new")
    assert project.download_bytes(py_bucket, "k") == b"data"


def test_prefix_grant_cannot_write_or_move_outside(access: Access, project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "in/a", b"inside")
    project.upload_bytes(py_bucket, "out/b", b"outside")
    full = Permission(allow_download=True, allow_upload=True, allow_list=True, allow_delete=True)
    with restricted(access, full, [SharePrefix(py_bucket, "in/")]) as p:
        p.upload_bytes(py_bucket, "in/c", b"ok")
        for call in (lambda: p.upload_bytes(py_bucket, "out/c", b"x"),
                     lambda: p.begin_upload(py_bucket, "out/m"),
                     lambda: p.copy_object(py_bucket, "in/a", py_bucket, "out/copy"),
                     lambda: p.move_object(py_bucket, "in/a", py_bucket, "out/moved"),
                     lambda: p.copy_object(py_bucket, "out/b", py_bucket, "in/stolen"),
                     lambda: p.delete_object(py_bucket, "out/b"),
                     lambda: p.update_object_metadata(py_bucket, "out/b", {"x": "y"})):
            # Refused by the satellite (PermissionDeniedError) or before: the grant holds no
            # encryption key outside its prefix ("missing encryption base").
            with pytest.raises(StorjException):
                call()
    assert sorted(o.key for o in project.list_objects(py_bucket, ListObjectsOptions(recursive=True))) == [
        "in/a", "in/c", "out/b"]
    assert project.list_uploads(py_bucket) == []
    assert project.stat_object(py_bucket, "out/b").custom.to_dict() == {}
    assert project.download_bytes(py_bucket, "out/b") == b"outside"


def test_a_share_of_a_share_cannot_widen(access: Access, project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "k", b"data")
    read_only = Uplink().parse_access(
        access.share(Permission(allow_download=True, allow_list=True), [SharePrefix(py_bucket, "")]).serialize())
    wider = read_only.share(Permission(allow_download=True, allow_upload=True, allow_list=True, allow_delete=True))
    with Uplink().parse_access(wider.serialize()).open_project() as p:
        assert p.download_bytes(py_bucket, "k") == b"data"
        with pytest.raises(PermissionDeniedError):
            p.upload_bytes(py_bucket, "k", b"overwrite")
        with pytest.raises(PermissionDeniedError):
            p.delete_object(py_bucket, "k")
    assert project.download_bytes(py_bucket, "k") == b"data"


def test_not_before_in_the_future_and_not_after_expiry(access: Access, project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "k", b"data")
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    with restricted(access, Permission(allow_download=True, not_before=later)) as p:
        with pytest.raises(PermissionDeniedError):
            p.download_bytes(py_bucket, "k")
    expires = time.time() + 4
    with restricted(access, Permission(allow_download=True, allow_list=True, not_after=int(expires))) as p:
        assert p.download_bytes(py_bucket, "k") == b"data"  # valid now
        time.sleep(max(0.0, expires - time.time()) + 2)
        with pytest.raises(PermissionDeniedError):
            p.download_bytes(py_bucket, "k")  # and refused once expired
        with pytest.raises(PermissionDeniedError):
            p.list_objects(py_bucket)


# ---------------------------------------------------------------- the passphrase on disk


def test_the_passphrase_never_reaches_the_disk(storj_network: StorjNetwork, py_bucket: str,
                                               tmp_path: Path) -> None:
    """request_access_with_passphrase, transfers (also to and from local files), an error,
    in a child with a fresh HOME, TMPDIR, XDG dirs and cwd: no file written anywhere holds
    the passphrase (every file under those dirs is read; strace lists the files the child
    opened for writing anywhere, and the bytes of every write it made)."""
    root = tmp_path / "root"
    dirs = {name: root / name for name in ("home", "tmp", "cwd", "cache", "config", "data", "state")}
    for d in dirs.values():
        d.mkdir(parents=True)
    passphrase = storj_network.passphrase
    env = {"PATH": os.environ["PATH"], "HOME": str(dirs["home"]), "TMPDIR": str(dirs["tmp"]),
           "XDG_CACHE_HOME": str(dirs["cache"]), "XDG_CONFIG_HOME": str(dirs["config"]),
           "XDG_DATA_HOME": str(dirs["data"]), "XDG_STATE_HOME": str(dirs["state"]),
           "PYTHONDONTWRITEBYTECODE": "1", "T_SAT": storj_network.satellite, "T_KEY": storj_network.api_key,
           "T_PASS": passphrase, "T_BUCKET": py_bucket}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    script = textwrap.dedent("""
        import os, tempfile
        from uplink_py import Uplink, Config
        access = Uplink().config_request_access_with_passphrase(
            Config(temp_directory=os.environ["TMPDIR"]), os.environ["T_SAT"], os.environ["T_KEY"],
            os.environ["T_PASS"])
        with access.config_open_project(Config(temp_directory=os.environ["TMPDIR"])) as project:
            with open("local.bin", "wb") as f:
                f.write(os.urandom(300_000))
            project.upload_file(os.environ["T_BUCKET"], "f", "local.bin")
            project.download_file(os.environ["T_BUCKET"], "f", "back.bin")
            project.upload_bytes(os.environ["T_BUCKET"], "b", b"q" * 2000)
            assert project.download_bytes(os.environ["T_BUCKET"], "b") == b"q" * 2000
            try:
                project.stat_object(os.environ["T_BUCKET"], "missing")
            except Exception as exc:
                print(type(exc).__name__)
            print(access.serialize() != "")
    """)
    command = [sys.executable, "-c", script]
    strace = shutil.which("strace")
    trace = root / "trace.txt"
    if strace:  # -xx: every byte written, hex-escaped, so the passphrase is found in any encoding
        command = [strace, "-f", "-qq", "-o", str(trace), "-s", "4194304", "-xx",
                   "-e", "trace=open,openat,creat,write,pwrite64,writev,pwritev", *command]
    res = subprocess.run(command, env=env, cwd=dirs["cwd"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.split() == ["ObjectNotFoundError", "True"], res.stdout + res.stderr
    needle = passphrase.encode()
    written = [p for p in root.rglob("*") if p.is_file() and p != trace]
    assert {p.name for p in written} >= {"local.bin", "back.bin"}
    for path in written:
        assert needle not in path.read_bytes(), f"the passphrase is in {path.relative_to(root)}"
    assert strace, "strace is needed for this test (apt-get install strace)"
    text = trace.read_text(errors="replace")
    hex_needle = "".join(f"\\x{b:02x}" for b in needle)
    writes = [line for line in text.splitlines() if " write(" in line or "pwrite64(" in line or "writev(" in line]
    assert len(writes) > 10, "strace recorded no writes"
    assert hex_needle not in text, "the passphrase was written to a file descriptor"
    opened = set()
    for line in text.splitlines():
        if ("openat(" in line or "open(" in line or "creat(" in line) and (
                "O_WRONLY" in line or "O_RDWR" in line or "O_CREAT" in line) and "= -1" not in line:
            escaped = line.split('"')[1]  # -xx: the path as \xNN escapes
            path = bytes.fromhex(escaped.replace("\\x", "")).decode("utf-8", "replace")
            opened.add(path if path.startswith("/") else str(dirs["cwd"] / path))
    assert str(dirs["cwd"] / "back.bin") in opened or any(p.endswith(".uplink-py.part") for p in opened), sorted(opened)
    outside = {p for p in opened if not p.startswith(str(root) + "/") and not p.startswith("/dev/")}
    assert not outside, f"files opened for writing outside the fresh dirs: {sorted(outside)}"
