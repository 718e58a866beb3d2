"""The C++ layer compiles without Linux-only calls outside __linux__ branches.

Each file of src/cpp is compiled once (syntax only) with __linux__ undefined and the
calls macOS lacks poisoned (tests/portability/linux_only.hpp): `pipe2` in
interrupts.cpp would have failed here before it failed a macOS wheel build."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path

import pybind11
import pytest

from conftest import REPO

SOURCES = sorted((REPO / "src" / "cpp").glob("*.cpp"))


def _uplink_header_dir() -> Path:
    found = sorted(REPO.glob("build/*/uplink-c/libuplink.h"))
    if not found:
        pytest.fail("no generated libuplink.h under build/: run scripts/build first")
    return found[0].parent


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_cpp_compiles_without_linux_only_calls(source: Path) -> None:
    compiler = shutil.which("g++") or shutil.which("c++")
    assert compiler, "a C++ compiler (the build needs one too)"
    cmd = [compiler, "-std=c++17", "-fsyntax-only", "-U__linux__", "-U__linux", "-Ulinux", "-U__gnu_linux__",
           "-include", str(REPO / "tests" / "portability" / "linux_only.hpp"),
           "-I" + pybind11.get_include(), "-I" + sysconfig.get_paths()["include"],
           "-I" + str(_uplink_header_dir()), "-I" + str(REPO / "third_party" / "uplink-c"),
           "-I" + str(REPO / "src" / "cpp"), str(source)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]


def test_the_check_catches_a_linux_only_call(tmp_path: Path) -> None:
    source = tmp_path / "uses_pipe2.cpp"
    source.write_text("#include <unistd.h>\n#include <fcntl.h>\nint f(int *fds) { return pipe2(fds, O_CLOEXEC); }\n")
    compiler = shutil.which("g++") or shutil.which("c++")
    assert compiler
    res = subprocess.run([compiler, "-std=c++17", "-fsyntax-only", "-U__linux__", "-U__linux", "-Ulinux",
                          "-include", str(REPO / "tests" / "portability" / "linux_only.hpp"), str(source)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "poisoned" in res.stderr, res.stderr
