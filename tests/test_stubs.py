"""The stubs of the native module (src/uplink_py/_core.pyi) match the compiled module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ALLOWLIST = Path(__file__).with_name("stubtest-allowlist.txt")


def test_stubtest_finds_no_difference(tmp_path: Path) -> None:
    # The installed package (what users get), from outside the source tree.
    res = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "uplink_py._core", "--concise", "--allowlist", str(ALLOWLIST),
         "--mypy-config-file", str(tmp_path / "none.ini")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
