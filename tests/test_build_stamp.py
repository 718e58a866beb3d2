"""The Go archive's build inputs are a stamp the archive depends on (CMakeLists.txt):
configuring again with the same toolchain leaves the stamp alone; another CGO_CFLAGS
(or Go version, CC, GOARCH, GOFLAGS...) rewrites it, so the archive is rebuilt."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pybind11

from conftest import REPO


def configure(build: Path, **env: str) -> Path:
    cmake = shutil.which("cmake")
    assert cmake, "cmake (the build needs it too)"
    res = subprocess.run(
        [cmake, "-S", str(REPO), "-B", str(build), f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
         f"-DPython_EXECUTABLE={sys.executable}", "-DCMAKE_BUILD_TYPE=Release"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return build / "uplink-c" / "build-inputs.stamp"


def test_a_toolchain_change_rewrites_the_stamp_and_nothing_else_does(tmp_path: Path) -> None:
    build = tmp_path / "build"
    stamp = configure(build, CGO_CFLAGS="-O2 -g")
    first, text = stamp.stat().st_mtime_ns, stamp.read_text()
    assert "-O2 -g" in text and "go1." in text, text
    os.utime(stamp, ns=(first - 10**9, first - 10**9))  # older, so that a rewrite shows
    configure(build, CGO_CFLAGS="-O2 -g")
    assert stamp.stat().st_mtime_ns == first - 10**9, "the same inputs must not touch the stamp"
    configure(build, CGO_CFLAGS="-O2 -g -DUPLINK_PY_STAMP_TEST")
    assert stamp.stat().st_mtime_ns > first - 10**9
    assert "-DUPLINK_PY_STAMP_TEST" in stamp.read_text()
