"""The Go unit tests of third_party/uplink-c (`go test`): the drpc behaviour the
connection wrapper there works around, shown on a real drpc server and client over
loopback, and the wrapper's answer to it (hardcancel_test.go)."""

from __future__ import annotations

import os
import shutil
import subprocess

from conftest import REPO


def test_go_unit_tests_of_uplink_c_pass() -> None:
    go = shutil.which("go")
    assert go, "Go (the build needs it too)"
    # -trimpath as the archive's build (CMakeLists.txt): its compiled packages are reused.
    res = subprocess.run([go, "test", "-trimpath", "-count=1", "-v", "./"], cwd=REPO / "third_party" / "uplink-c",
                         env={**os.environ, "CGO_ENABLED": "1"}, capture_output=True, text=True, timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    passed = [line for line in out.splitlines() if line.startswith("--- PASS")]
    assert len(passed) >= 5, out[-4000:]  # never an empty run that passes
