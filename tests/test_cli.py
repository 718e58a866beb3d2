"""The uplink-py command line, run as a subprocess against the local network.

Every run goes through `cli()`, which also checks that no secret of the network (API key,
passphrase, the access grant in use) appears in its stdout or stderr; only share's
stdout may hold a grant, and that is a new one.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import StorjNetwork, assert_same_bytes, random_bytes, unique_bucket_name

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
Result = subprocess.CompletedProcess  # bytes


@pytest.fixture(scope="module")
def net(storj_network: StorjNetwork) -> StorjNetwork:
    return storj_network


def _secrets(net: StorjNetwork) -> list[str]:
    return [net.api_key, net.passphrase, net.access]


def cli(net: StorjNetwork, *args: str, access: str | None = "env", stdin: bytes | None = None,
        env: dict[str, str] | None = None, extra_secrets: tuple[str, ...] = (), grant_out: bool = False,
        timeout: float = 300) -> Result[bytes]:
    """Runs `python -m uplink_py ARGS` with the network's grant in STORJ_ACCESS (access="env"),
    none (None), or STORJ_ACCESS set to `access`; checks the output for secrets."""
    environment = {k: v for k, v in os.environ.items() if k != "STORJ_ACCESS"}
    if access == "env":
        environment["STORJ_ACCESS"] = net.access
    elif access is not None:
        environment["STORJ_ACCESS"] = access
    environment.update(env or {})
    res = subprocess.run([sys.executable, "-m", "uplink_py", *args], input=stdin, capture_output=True,
                         env=environment, timeout=timeout, cwd="/")
    _scan(res.stderr, [*_secrets(net), *extra_secrets], f"stderr of {args[:1]}")
    if not grant_out:
        _scan(res.stdout, [*_secrets(net), *extra_secrets], f"stdout of {args[:1]}")
    else:  # share: a new grant, never the original or its parts
        _scan(res.stdout, _secrets(net), "share's grant")
    return res


def _scan(output: bytes, secrets: list[str], where: str) -> None:
    for secret in secrets:
        assert secret.encode() not in output, f"a secret appeared in the {where}"


def ok(res: Result[bytes]) -> Result[bytes]:
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    return res


def err(res: Result[bytes], code: int, *fragments: str) -> str:
    """The one-line error of a failed run, checked for its exit code and fragments."""
    text = res.stderr.decode()
    assert res.returncode == code, (res.returncode, text)
    assert "Traceback" not in text, text
    for fragment in fragments:
        assert fragment in text, text
    return text


@pytest.fixture
def bucket_name(net: StorjNetwork, request: pytest.FixtureRequest) -> Iterator[str]:
    """A bucket made through the CLI; removed with --force afterwards (if still there)."""
    name = unique_bucket_name(request.node.name)
    ok(cli(net, "mb", f"sj://{name}"))
    yield name
    cli(net, "rb", "--force", f"sj://{name}")


def _ls(net: StorjNetwork, *args: str) -> list[list[str]]:
    out = ok(cli(net, "ls", *args)).stdout.decode()
    return [line.split() for line in out.splitlines()]


def test_usage_and_version(net: StorjNetwork) -> None:
    from uplink_py import __version__

    assert ok(cli(net, "--version")).stdout.decode().strip() == f"uplink-py {__version__}"
    assert b"share" in ok(cli(net, "--help")).stdout
    assert b"--readonly" in ok(cli(net, "share", "--help")).stdout
    err(cli(net), 2, "required")
    err(cli(net, "frob"), 2, "invalid choice")
    err(cli(net, "cp", "only-one"), 2, "required")
    err(cli(net, "share", "--readonly", "--writeonly"), 2, "not allowed with")
    err(cli(net, "cp", "--parallelism", "0", "a", "sj://b/k"), 2, "at least 1")
    err(cli(net, "cp", "/tmp/a", "/tmp/b"), 2, "sj:// URL")
    err(cli(net, "ls", "/not/a/url"), 2, "not an sj:// URL")
    err(cli(net, "cat", "sj://bucket-only"), 2, "not an object")
    err(cli(net, "mb", "sj://bucket/with-key"), 2, "only the bucket")
    err(cli(net, "rm", "sj://bucket-only"), 2, "use rb")


def test_access_from_env_or_flag(net: StorjNetwork, bucket_name: str) -> None:
    err(cli(net, "ls", access=None), 2, "no access grant", "STORJ_ACCESS")
    names = ok(cli(net, "ls", "--access", net.access, access=None)).stdout.decode()
    assert bucket_name in names
    names = ok(cli(net, "--access", net.access, "ls", access=None)).stdout.decode()  # before the command too
    assert bucket_name in names
    err(cli(net, "ls", access="not-a-grant"), 2, "access grant is not valid")
    tampered = net.access[:-8] + ("A" if net.access[-8] != "A" else "B") + net.access[-7:]
    res = cli(net, "ls", access=tampered, extra_secrets=(tampered,))
    assert res.returncode in (1, 2) and b"Traceback" not in res.stderr


def test_buckets(net: StorjNetwork) -> None:
    name = unique_bucket_name("cli-buckets")
    ok(cli(net, "mb", f"sj://{name}"))
    err(cli(net, "mb", f"sj://{name}"), 1, f"sj://{name}: bucket already exists")
    rows = _ls(net)
    assert ["BKT", name] in [[r[0], r[2]] for r in rows]
    ok(cli(net, "cp", "-", f"sj://{name}/k", stdin=b"x"))
    err(cli(net, "rb", f"sj://{name}"), 1, "not empty", "--force")
    ok(cli(net, "rb", "--force", f"sj://{name}"))
    assert name not in [r[2] for r in _ls(net)]
    err(cli(net, "rb", f"sj://{name}"), 1, "bucket not found")
    err(cli(net, "mb", "sj://Bad_Name"), 1, "bucket name invalid")


def test_cp_cat_and_rm_one_object(net: StorjNetwork, bucket_name: str, tmp_path: Path) -> None:
    data = random_bytes(3 * MiB + 5)
    source = tmp_path / "data.bin"
    source.write_bytes(data)
    b = f"sj://{bucket_name}"

    ok(cli(net, "cp", "--part-size", str(MiB), str(source), f"{b}/dir/"))  # parallel parts, into a "dir"
    rows = _ls(net, "-r", b)
    assert [(r[0], int(r[2]), r[3]) for r in rows] == [("OBJ", len(data), "dir/data.bin")]
    assert _ls(net, b) == [["PRE", "dir/"]]
    assert [r[3] for r in _ls(net, f"{b}/dir")] == ["dir/data.bin"]

    target = tmp_path / "copy.bin"
    ok(cli(net, "cp", "--part-size", str(MiB), f"{b}/dir/data.bin", str(target)))
    assert_same_bytes(target.read_bytes(), data)
    into = tmp_path / "into"
    into.mkdir()
    ok(cli(net, "cp", f"{b}/dir/data.bin", str(into)))
    assert_same_bytes((into / "data.bin").read_bytes(), data)
    assert_same_bytes(ok(cli(net, "cat", f"{b}/dir/data.bin")).stdout, data)
    assert_same_bytes(ok(cli(net, "cp", f"{b}/dir/data.bin", "-")).stdout, data)

    ok(cli(net, "cp", "-", f"{b}/from-stdin", stdin=b"piped bytes"))
    assert ok(cli(net, "cat", f"{b}/from-stdin")).stdout == b"piped bytes"
    streamed = random_bytes(12 * MiB + 5)  # parts while stdin is read; and below 5 MiB parts, one stream
    for part in (5 * MiB, MiB):
        ok(cli(net, "cp", "--part-size", str(part), "-", f"{b}/stdin-{part}", stdin=streamed))
        assert_same_bytes(ok(cli(net, "cat", f"{b}/stdin-{part}")).stdout, streamed)
        ok(cli(net, "rm", f"{b}/stdin-{part}"))
    ok(cli(net, "cp", f"{b}/from-stdin", f"{b}/copied"))  # server-side copy
    assert ok(cli(net, "cat", f"{b}/copied")).stdout == b"piped bytes"

    err(cli(net, "cp", str(tmp_path / "missing"), f"{b}/x"), 1, "missing", "No such file")
    err(cli(net, "cp", f"{b}/missing", str(tmp_path / "never")), 1, f"{b}/missing", "object not found")
    assert not (tmp_path / "never").exists()
    err(cli(net, "cat", f"{b}/missing"), 1, "object not found")
    err(cli(net, "cp", str(source), "sj://no-such-bucket-cli/x"), 1, "bucket not found")

    ok(cli(net, "rm", f"{b}/copied"))
    err(cli(net, "rm", f"{b}/copied"), 1, "no such object")
    assert sorted(r[3] for r in _ls(net, "-r", b)) == ["dir/data.bin", "from-stdin"]


def test_recursive_cp_and_rm(net: StorjNetwork, bucket_name: str, tmp_path: Path, access: Any) -> None:
    tree = {"a.txt": b"alpha", "sub/b.bin": random_bytes(200_000), "sub/deeper/c": b"", "d e.txt": b"spaces"}
    src = tmp_path / "src"
    for rel, content in tree.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(content)
    b = f"sj://{bucket_name}"

    err(cli(net, "cp", str(src), f"{b}/tree/"), 2, "is a directory", "--recursive")
    ok(cli(net, "cp", "-r", str(src), f"{b}/tree"))
    rows = _ls(net, "-r", b)
    assert {" ".join(r[3:]): int(r[2]) for r in rows} == {
        f"tree/{k}": len(v) for k, v in tree.items()}

    markers = ["tree/", "tree/sub/", "tree/empty dir/"]  # folder markers, as consoles make them
    with access.open_project() as project:
        for marker in markers:
            project.upload_bytes(bucket_name, marker, b"")
    dst = tmp_path / "dst"
    ok(cli(net, "cp", "--recursive", f"{b}/tree/", str(dst)))
    got = {p.relative_to(dst).as_posix(): p.read_bytes() for p in dst.rglob("*") if p.is_file()}
    assert got == tree and (dst / "empty dir").is_dir()
    assert not [p for p in dst.rglob(".*")]  # no temporary file left
    with access.open_project() as project:
        for marker in markers:
            project.delete_object(bucket_name, marker)

    ok(cli(net, "cp", "-r", f"{b}/tree", f"{b}/copy/"))  # server-side, recursive
    assert len(_ls(net, "-r", f"{b}/copy")) == len(tree)

    ok(cli(net, "rm", "-r", f"{b}/tree"))
    assert all(r[3].startswith("copy/") for r in _ls(net, "-r", b))
    err(cli(net, "rm", "-r", f"{b}/tree"), 1, "no objects")
    err(cli(net, "cp", "-r", f"{b}/tree", str(tmp_path / "none")), 1, "no objects")


def test_keys_that_would_escape_the_target_are_refused(net: StorjNetwork, bucket_name: str, tmp_path: Path) -> None:
    b = f"sj://{bucket_name}"
    ok(cli(net, "cp", "-", f"{b}/p/../../escaped", stdin=b"evil"))
    dst = tmp_path / "inner" / "dst"
    err(cli(net, "cp", "-r", f"{b}/p/", str(dst)), 1, "refusing")
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "inner" / "escaped").exists()


def test_share(net: StorjNetwork, bucket_name: str) -> None:
    b = f"sj://{bucket_name}"
    ok(cli(net, "cp", "-", f"{b}/pub/one", stdin=b"one"))
    ok(cli(net, "cp", "-", f"{b}/private/two", stdin=b"two"))

    def share(*args: str) -> str:
        res = ok(cli(net, "share", *args, grant_out=True))
        assert res.stderr == b""
        grant = res.stdout.decode()
        assert grant.endswith("\n") and grant.count("\n") == 1
        return grant.strip()

    readonly = share("--readonly", "--prefix", f"{b}/pub/", "--not-after", "+1h")
    assert readonly != net.access
    as_ro: dict[str, Any] = {"access": readonly, "extra_secrets": (readonly,)}
    assert ok(cli(net, "cat", f"{b}/pub/one", **as_ro)).stdout == b"one"
    assert [r[3] for r in _ls_as(net, readonly, "-r", f"{b}/pub/")] == ["pub/one"]
    err(cli(net, "cp", "-", f"{b}/pub/new", stdin=b"x", **as_ro), 1, "permission denied")
    err(cli(net, "rm", f"{b}/pub/one", **as_ro), 1, "permission denied")
    err(cli(net, "cat", f"{b}/private/two", **as_ro), 1, "permission denied")

    writeonly = share("--writeonly", "--prefix", b)
    as_wo: dict[str, Any] = {"access": writeonly, "extra_secrets": (writeonly,)}
    ok(cli(net, "cp", "-", f"{b}/pub/new", stdin=b"new", **as_wo))
    err(cli(net, "cat", f"{b}/pub/new", **as_wo), 1, "permission denied")
    assert ok(cli(net, "cat", f"{b}/pub/new")).stdout == b"new"

    expired = share("--not-after", "2001-01-01T00:00:00Z")
    err(cli(net, "cat", f"{b}/pub/one", access=expired, extra_secrets=(expired,)), 1, "permission denied")
    future = share("--not-before", "+2d")
    err(cli(net, "cat", f"{b}/pub/one", access=future, extra_secrets=(future,)), 1, "permission denied")

    everything = share()
    assert ok(cli(net, "cat", f"{b}/private/two", access=everything, extra_secrets=(everything,))).stdout == b"two"
    err(cli(net, "share", "--not-after", "tomorrow"), 2, "not a time")
    err(cli(net, "share", "--prefix", "bucket/prefix"), 2, "not an sj:// URL")


def _ls_as(net: StorjNetwork, grant: str, *args: str) -> list[list[str]]:
    out = ok(cli(net, "ls", *args, access=grant, extra_secrets=(grant,))).stdout.decode()
    return [line.split() for line in out.splitlines()]


def test_a_misplaced_grant_is_never_echoed(net: StorjNetwork, bucket_name: str) -> None:
    """Grants pasted where a path or URL goes: the errors name no secret (cli() scans)."""
    err(cli(net, "ls", net.access), 2, "<access grant>")
    err(cli(net, "cp", net.access, f"sj://{bucket_name}/x"), 1, "<access grant>")
    err(cli(net, "rm", net.access), 2, "<access grant>")
    err(cli(net, f"--access={net.access}", "frob", access=None), 2, "invalid choice")
    other = "1" + net.access[1:][::-1]  # a grant-shaped string this run does not use
    err(cli(net, "cat", f"sj://{bucket_name}/{other}", extra_secrets=(other,)), 1, "<redacted>")


def _run_on_tty(args: list[str], env: dict[str, str], size: tuple[int, int] | None = (120, 40)) -> tuple[int, bytes]:
    """Runs with stderr on a pseudo-terminal; its exit code and what the terminal got."""
    master, slave = pty.openpty()
    if size is not None:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "uplink_py", *args], stdout=subprocess.DEVNULL,
                            stderr=slave, env=env, cwd="/")
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return proc.wait(60), out


def test_progress_bar_only_on_a_terminal(net: StorjNetwork, bucket_name: str, tmp_path: Path) -> None:
    source = tmp_path / "p.bin"
    source.write_bytes(random_bytes(5 * MiB))
    env = {**os.environ, "STORJ_ACCESS": net.access}
    code, out = _run_on_tty(["cp", "--part-size", str(2 * MiB), str(source), f"sj://{bucket_name}/p.bin"], env)
    assert code == 0, out
    assert b"100%" in out and b"5.00M" in out, out
    _scan(out, _secrets(net), "terminal")
    code, out = _run_on_tty(["cp", str(source), f"sj://{bucket_name}/p0.bin"], env, size=None)  # reports 0x0
    assert code == 0 and b"100%" in out, out
    code, out = _run_on_tty(["cp", "--no-progress", f"sj://{bucket_name}/p.bin", str(tmp_path / "back")], env)
    assert code == 0 and out == b"", out
    assert (tmp_path / "back").read_bytes() == source.read_bytes()
    res = ok(cli(net, "cp", str(source), f"sj://{bucket_name}/q.bin"))  # not a terminal: no bar
    assert res.stderr == b""
    res = ok(cli(net, "cp", "--progress", str(source), f"sj://{bucket_name}/q.bin"))  # forced on
    assert b"100%" in res.stderr


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_ctrl_c_stops_a_transfer_and_commits_nothing(sig: str, net: StorjNetwork, bucket_name: str, tmp_path: Path,
                                                     access: Any) -> None:
    """Ctrl-C, and as it SIGTERM (timeout, kill, a service manager) and SIGHUP."""
    source = tmp_path / "big.bin"
    source.write_bytes(random_bytes(320 * MiB))
    env = {**os.environ, "STORJ_ACCESS": net.access}
    proc = subprocess.Popen([sys.executable, "-m", "uplink_py", "cp", "--part-size", str(16 * MiB), str(source),
                             f"sj://{bucket_name}/big.bin"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd="/")
    from uplink_py import ListUploadsOptions
    from uplink_py.errors import ObjectNotFoundError

    with access.open_project() as project:
        deadline = time.monotonic() + 60
        while not project.list_uploads(bucket_name, ListUploadsOptions(recursive=True)):
            assert time.monotonic() < deadline and proc.poll() is None, "the multipart upload never started"
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(getattr(signal, sig))
        stdout, stderr = proc.communicate(timeout=60)
        _scan(stdout + stderr, _secrets(net), "interrupted cp")
        assert proc.returncode == 130, stderr
        assert b"interrupted" in stderr and b"Traceback" not in stderr
        with pytest.raises(ObjectNotFoundError):
            project.stat_object(bucket_name, "big.bin")
        assert project.list_uploads(bucket_name, ListUploadsOptions(recursive=True)) == []


def test_an_ignored_sighup_stays_ignored(net: StorjNetwork, bucket_name: str, tmp_path: Path) -> None:
    """Under nohup (SIGHUP ignored) a closed terminal must not stop the transfer."""
    source = tmp_path / "nohup.bin"
    data = random_bytes(24 * MiB)
    source.write_bytes(data)
    proc = subprocess.Popen([sys.executable, "-m", "uplink_py", "cp", "--progress", str(source),
                             f"sj://{bucket_name}/nohup.bin"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "STORJ_ACCESS": net.access},
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    assert proc.stderr is not None
    proc.stderr.read(1)  # the progress bar's first byte: the transfer runs
    proc.send_signal(signal.SIGHUP)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    back = tmp_path / "back.bin"
    ok(cli(net, "cp", f"sj://{bucket_name}/nohup.bin", str(back)))
    assert_same_bytes(back.read_bytes(), data)


def test_sigterm_during_a_download_keeps_the_old_file_and_leaves_nothing(net: StorjNetwork, bucket_name: str,
                                                                          tmp_path: Path, access: Any) -> None:
    with access.open_project() as project:
        project.upload_bytes(bucket_name, "down.bin", random_bytes(96 * MiB), max_concurrency=1)
    target = tmp_path / "out" / "target.bin"
    target.parent.mkdir()
    target.write_bytes(b"old")
    proc = subprocess.Popen([sys.executable, "-m", "uplink_py", "cp", "--parallelism", "1",
                             f"sj://{bucket_name}/down.bin", str(target)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "STORJ_ACCESS": net.access})
    deadline = time.monotonic() + 60
    while len(list(target.parent.iterdir())) < 2:  # the temporary file beside the target
        assert time.monotonic() < deadline and proc.poll() is None, "the download never started"
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and b"interrupted" in stderr, stderr
    assert [p.name for p in target.parent.iterdir()] == ["target.bin"] and target.read_bytes() == b"old"


def test_console_script() -> None:
    """The `uplink-py` console script is installed and is this CLI."""
    from importlib.metadata import entry_points

    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts.get("uplink-py") == "uplink_py.cli:main"
    path = Path(sys.executable).parent / "uplink-py"
    res = subprocess.run([str(path), "--version"], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.startswith("uplink-py ")
