"""Shared fixtures: the local Storj network of scripts/testnet, buckets, the Go CLI.

The session uses the network named by the STORJ_TEST_* variables when they are
set (`eval "$(scripts/testnet env)"`), reuses a network that `scripts/testnet up`
left running, and otherwise starts one for the session and stops it at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import secrets
import threading
import shlex
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# A suite started in the background of a script (`cmd &`) inherits SIGINT ignored, and so
# would every child process it starts: the Ctrl-C tests need it handled there.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parent.parent
TESTNET = REPO / "scripts" / "testnet"
ENV_KEYS = (
    "STORJ_TEST_SATELLITE",
    "STORJ_TEST_API_KEY",
    "STORJ_TEST_PASSPHRASE",
    "STORJ_TEST_ACCESS",
    "STORJ_TEST_UPLINK_CLI",
)


def run_testnet(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run scripts/testnet; output is captured and shown when it fails."""
    res = subprocess.run([str(TESTNET), *args], env=env, capture_output=True, text=True, timeout=3600)
    if check and res.returncode != 0:
        raise AssertionError(f"scripts/testnet {' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}")
    return res


def parse_env(text: str) -> dict[str, str]:
    """Parse the `export K=V` lines of `scripts/testnet env`."""
    values = {}
    for line in text.splitlines():
        words = shlex.split(line)
        assert words[0] == "export" and len(words) == 2, line
        key, _, value = words[1].partition("=")
        values[key] = value
    return values


@dataclass(frozen=True)
class StorjNetwork:
    """One running local network; secrets stay out of its repr."""

    satellite: str
    api_key: str = field(repr=False)
    passphrase: str = field(repr=False)
    access: str = field(repr=False)
    uplink_cli: str
    directory: str | None  # the scripts/testnet state dir, when known

    @classmethod
    def from_env(cls, env: dict[str, str]) -> StorjNetwork:
        return cls(
            satellite=env["STORJ_TEST_SATELLITE"],
            api_key=env["STORJ_TEST_API_KEY"],
            passphrase=env["STORJ_TEST_PASSPHRASE"],
            access=env["STORJ_TEST_ACCESS"],
            uplink_cli=env["STORJ_TEST_UPLINK_CLI"],
            directory=env.get("STORJ_TEST_NETWORK_DIR"),
        )

    def script_env(self) -> dict[str, str]:
        """Environment that points scripts/testnet at this network."""
        assert self.directory, "this network was not started by scripts/testnet"
        return {**os.environ, "UPLINK_PY_TESTNET_DIR": self.directory}

    def uplink(self, *args: str, access: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the Go uplink CLI with this network's access (or `access`)."""
        access = access or self.access
        env = {
            **os.environ,
            "UPLINK_CONFIG_DIR": str(REPO / ".testnet" / "pytest-uplink-config"),
            "UPLINK_INTERACTIVE": "false",
            "UPLINK_ANALYTICS": "false",  # never send events off this machine
        }
        words = 2 if args[0] in ("meta", "access") else 1  # `--access` follows the (sub)command
        cmd = [self.uplink_cli, *args[:words], "--access", access, *args[words:]]
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if check and res.returncode != 0:
            msg = f"uplink {' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
            raise AssertionError(msg.replace(access, "<access>"))
        return res

    def ls(self, *args: str) -> list[dict[str, object]]:
        """`uplink ls --output=json ARGS`, one dict per listed item."""
        out = self.uplink("ls", "--output=json", *args).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def storj_network() -> Iterator[StorjNetwork]:
    if all(os.environ.get(k) for k in ENV_KEYS):
        yield StorjNetwork.from_env(dict(os.environ))
        return
    already_up = run_testnet("status", check=False).returncode == 0
    if not already_up:
        run_testnet("up")
    try:
        yield StorjNetwork.from_env(parse_env(run_testnet("env").stdout))
    finally:
        if not already_up:
            run_testnet("down")


def unique_bucket_name(hint: str) -> str:
    """A valid, unique bucket name (3-63 of a-z, 0-9, '-') that says which test made it."""
    slug = re.sub(r"[^a-z0-9]+", "-", hint.lower()).strip("-")[:40].strip("-") or "t"
    return f"{slug}-{secrets.token_hex(6)}"


@pytest.fixture(scope="module")
def private_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StorjNetwork, dict[str, str]]]:
    """A network of the test module's own, for tests that stop its nodes or its satellite;
    the dict is the environment that points scripts/testnet at it."""
    env = {**os.environ, "UPLINK_PY_TESTNET_DIR": str(tmp_path_factory.mktemp("private-net"))}
    run_testnet("up", env=env)
    try:
        yield StorjNetwork.from_env(parse_env(run_testnet("env", env=env).stdout)), env
    finally:
        run_testnet("down", env=env)


class Faults:
    """The fault-injecting proxies of a network started with UPLINK_PY_TESTNET_PROXY=1
    (tests/testnet/proxy.go): ``set("nodes", "stall")``, ``set("node:3", "reset",
    after_bytes=65536)``, ``set("satellite", "refuse", seconds=2)``; ``clear()``."""

    def __init__(self, control: str) -> None:
        self.control = control

    def set(self, target: str, mode: str, **settings: float) -> None:
        body = json.dumps({"target": target, "mode": mode, **settings}).encode()
        req = urllib.request.Request(self.control + "/fault", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200, resp.read()

    def clear(self) -> None:
        self.set("satellite", "pass")
        self.set("nodes", "pass")

    def status(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.control + "/faults", timeout=10) as resp:
            return json.loads(resp.read())


@dataclass(frozen=True)
class FaultNetwork:
    network: StorjNetwork
    faults: Faults
    access: str = field(repr=False)  # the grant with the satellite reached through its proxy
    satellite_proxy: str  # the satellite's node URL through its proxy
    env: dict[str, str] = field(repr=False)


@pytest.fixture(scope="module")
def fault_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultNetwork]:
    """A network of the module's own with every storage node, and the satellite, behind
    a fault-injecting proxy; faults are cleared after each use of ``faults``."""
    from test_interrupts import with_satellite

    env = {**os.environ, "UPLINK_PY_TESTNET_DIR": str(tmp_path_factory.mktemp("fault-net")),
           "UPLINK_PY_TESTNET_PROXY": "1"}
    run_testnet("up", env=env)
    try:
        values = parse_env(run_testnet("env", env=env).stdout)
        state = json.loads((Path(values["STORJ_TEST_NETWORK_DIR"]) / "state.json").read_text())
        network = StorjNetwork.from_env(values)
        proxied = with_satellite(network.access, values["STORJ_TEST_SATELLITE_PROXY"])
        yield FaultNetwork(network, Faults(state["control"]), proxied, values["STORJ_TEST_SATELLITE_PROXY"], env)
    finally:
        run_testnet("down", env=env)


@pytest.fixture
def bucket(storj_network: StorjNetwork, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty bucket of the test's own, removed with its objects afterwards."""
    name = unique_bucket_name(request.node.name)
    storj_network.uplink("mb", f"sj://{name}")
    yield name
    storj_network.uplink("rb", "--force", f"sj://{name}")


# --- uplink_py: an access, a project, buckets, data --------------------------
# uplink_py is imported inside the fixtures, so the network tests above still run
# where the package is not installed.

SEGMENT = 64 * 1024 * 1024  # the uplink's default segment size


# Test data comes from one seeded generator: a failure reproduces with the same seed
# (printed at the end of the run; set UPLINK_PY_TEST_SEED to replay one).
TEST_SEED = int(os.environ.get("UPLINK_PY_TEST_SEED") or secrets.randbits(32))
_data = random.Random(TEST_SEED)
_data_lock = threading.Lock()


def random_bytes(size: int) -> bytes:
    """`size` pseudo-random bytes from the run's seed (incompressible, so every byte
    crosses the network)."""
    with _data_lock:  # in pieces: randbytes takes at most 2**31 bits at once
        return b"".join(_data.randbytes(min(16 << 20, size - start)) for start in range(0, size, 16 << 20))


def sha256(data: bytes | bytearray | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_same_bytes(got: bytes | bytearray | memoryview, want: bytes | bytearray | memoryview) -> None:
    """Equal bytes; on failure a short message (length, sha256, first differing offset), never a huge diff."""
    got, want = memoryview(got).cast("B"), memoryview(want).cast("B")
    if got == want:
        return
    first = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]), min(len(got), len(want)))
    raise AssertionError(
        f"bytes differ: got {len(got)} bytes (sha256 {sha256(got)[:16]}), want {len(want)} bytes "
        f"(sha256 {sha256(want)[:16]}), first difference at offset {first}"
    )


@pytest.fixture(scope="session")
def access(storj_network: StorjNetwork):  # type: ignore[no-untyped-def]
    """The network's access grant, parsed by uplink_py."""
    from uplink_py import Uplink

    return Uplink().parse_access(storj_network.access)


@pytest.fixture
def project(access):  # type: ignore[no-untyped-def]
    """A project opened for the test, closed after it."""
    opened = access.open_project()
    yield opened
    opened.close()


@pytest.fixture
def py_bucket(access, request: pytest.FixtureRequest) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An empty bucket made by uplink_py, deleted with its objects (delete_bucket_with_objects) after the test."""
    yield from _py_bucket(access, request.node.name)


@pytest.fixture(scope="module")
def module_bucket(access, request: pytest.FixtureRequest) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Like py_bucket, shared by the tests of one module."""
    yield from _py_bucket(access, request.module.__name__.rsplit(".", 1)[-1])


def _py_bucket(access, hint: str) -> Iterator[str]:  # type: ignore[no-untyped-def]
    name = unique_bucket_name(hint)
    with access.open_project() as project:
        project.create_bucket(name)
    yield name
    with access.open_project() as project:
        project.delete_bucket_with_objects(name)


# --- hypothesis profiles (tests/test_bad_input.py) ----------------------------
# HYPOTHESIS_PROFILE picks one: "ci" (the default: a few thousand cases in all, under
# a minute), "deep" (scripts/fuzz-deep: 10,000+), "sanitize" (scripts/sanitize: a
# few hundred, as ASan is slow). No example database: nothing is written to the repo,
# and a failure prints the blob that reproduces it (@reproduce_failure).

from hypothesis import HealthCheck, settings  # noqa: E402

_HYPOTHESIS = {"ci": 400, "deep": 2000, "sanitize": 40}
for _name, _examples in _HYPOTHESIS.items():
    settings.register_profile(
        _name, max_examples=_examples, deadline=None, database=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# --- CI must run every test: a skip is a failure, never a silent pass ---------

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _skipped and session.exitstatus == 0:
        session.exitstatus = 1


# Figures tests report (fuzz case counts, RSS growth...), printed at the end of the run.
SUMMARY_LINES = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    terminalreporter.write_line(f"test data seed: UPLINK_PY_TEST_SEED={TEST_SEED}")
    for line in terminalreporter.config.stash.get(SUMMARY_LINES, []):
        terminalreporter.write_line(line)
    if _skipped:
        terminalreporter.write_line(
            f"FAILED: {len(_skipped)} test(s) skipped; every test must run: " + ", ".join(_skipped), red=True
        )


# A test about to time out reports where it is stuck (hang_report.py).
from hang_report import pytest_runtest_protocol  # noqa: E402,F401
