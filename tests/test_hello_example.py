"""examples/hello_storj.py runs its tour against the local network and says so."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ENV_KEYS, REPO, StorjNetwork

pytestmark = pytest.mark.integration

EXAMPLE = REPO / "examples" / "hello_storj.py"


def run_example(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=300,
                          cwd=REPO / "examples")


def base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ENV_KEYS}


@pytest.mark.parametrize("credentials", ["passphrase", "access"])
def test_hello_example(storj_network: StorjNetwork, credentials: str) -> None:
    env = base_env()
    if credentials == "passphrase":
        env.update(STORJ_TEST_SATELLITE=storj_network.satellite, STORJ_TEST_API_KEY=storj_network.api_key,
                   STORJ_TEST_PASSPHRASE=storj_network.passphrase)
    else:
        env.update(STORJ_TEST_ACCESS=storj_network.access)
    res = run_example(env)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    for expected in ("created bucket", "sha256", "matches", "the download works", "an upload is refused",
                     "outside the shared prefix is refused", "deleted bucket", "hello_storj: ok"):
        assert expected in res.stdout, f"{expected!r} not in the output:\n{out}"
    assert "docs/hello.bin" in res.stdout and "notes/private.txt" in res.stdout
    for secret in (storj_network.access, storj_network.api_key, storj_network.passphrase):
        assert secret not in out
    bucket = next(line.split()[3] for line in res.stdout.splitlines() if "created bucket" in line)
    assert bucket.startswith("hello-storj-")
    assert bucket not in [e["Name"] for e in storj_network.ls()]  # cleaned up


def test_hello_example_without_credentials_exits_non_zero() -> None:
    res = run_example(base_env())
    assert res.returncode == 2
    assert "STORJ_TEST_ACCESS" in res.stderr


def test_hello_example_with_a_bad_access_exits_non_zero() -> None:
    res = run_example({**base_env(), "STORJ_TEST_ACCESS": "not-an-access-grant"})
    assert res.returncode == 1
    assert "FAILED" in res.stderr and "Traceback" not in res.stderr
