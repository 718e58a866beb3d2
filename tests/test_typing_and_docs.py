"""The package's typing and its API reference are part of what ships: both are checked.

mypy --strict runs over the source package (with the _core stubs) and the examples, so
stubs that drift from the facade fail here; the pdoc build fails on broken docstrings or
imports.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_mypy_strict_over_package_and_examples(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
         str(REPO / "src" / "uplink_py"), str(REPO / "examples")],
        cwd=REPO / "src", env={**os.environ, "MYPYPATH": str(REPO / "src")},
        capture_output=True, text=True, timeout=600,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Success: no issues found" in res.stdout


def test_api_reference_builds(tmp_path: Path) -> None:
    res = subprocess.run(["bash", str(REPO / "scripts" / "docs"), str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    project = (tmp_path / "uplink_py" / "project.html").read_text()
    core = (tmp_path / "uplink_py" / "_core.html").read_text()
    # The facade's own methods and the native ones it inherits are both documented.
    assert "upload_bytes" in project and "download_into" in project
    assert "stat_object" in core and "list_objects" in core
    for page in ("errors", "module_classes", "aio", "loader", "fsspec", "cli"):
        assert (tmp_path / "uplink_py" / f"{page}.html").stat().st_size > 1000, page
