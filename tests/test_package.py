"""The package: importing it does not load the native module (nor start Go), versions."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import uplink_py

REPO = Path(__file__).resolve().parent.parent


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_import_does_not_load_the_native_module() -> None:
    res = run_python("""
        import sys, threading
        import uplink_py
        from uplink_py import Uplink, errors, module_classes, Permission, ListObjectsOptions
        from uplink_py.errors import StorjException
        import uplink_py.uplink
        assert uplink_py.__version__
        loaded = sorted(m for m in sys.modules if m.startswith("uplink_py._core"))
        print("loaded:", loaded, "threads:", threading.active_count())
        assert not loaded, loaded
        Uplink()  # making one does not load it either
        assert "uplink_py._core" not in sys.modules
        version = uplink_py.uplink_version()  # the first call that needs it does
        assert "uplink_py._core" in sys.modules
        print("version:", version)
    """)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "loaded: []" in res.stdout


def test_import_does_not_start_go_threads() -> None:
    """The Go runtime starts its threads when the archive loads; a plain import must not."""
    res = run_python("""
        import os
        def threads():
            return len(os.listdir(f"/proc/{os.getpid()}/task"))
        before = threads()
        import uplink_py, uplink_py.uplink, uplink_py.module_classes, uplink_py.errors
        after_import = threads()
        uplink_py.uplink_version()
        print(before, after_import, threads())
    """)
    assert res.returncode == 0, res.stdout + res.stderr
    before, after_import, after_load = map(int, res.stdout.split())
    assert after_import == before
    assert after_load > before  # the check can see Go's threads when they are there


def test_versions_are_strings() -> None:
    assert isinstance(uplink_py.__version__, str) and uplink_py.__version__
    version = uplink_py.uplink_version()
    assert isinstance(version, str) and version


def test_native_names_resolve_lazily() -> None:
    from uplink_py.access import Access
    from uplink_py.download import Download
    from uplink_py.project import Project
    from uplink_py.upload import PartUpload, Upload

    assert uplink_py.Access is Access and uplink_py.Project is Project
    assert uplink_py.Upload is Upload and uplink_py.Download is Download and uplink_py.PartUpload is PartUpload
    assert callable(uplink_py.derive_encryption_key) and callable(uplink_py.join_share_url)
    missing = [name for name in uplink_py.__all__ if not hasattr(uplink_py, name)]
    assert not missing, missing


# The fork tests (a child forked before or after loading) are in test_fork.py.


def test_licence_metadata_covers_everything_the_wheel_links() -> None:
    """pyproject's License-Expression names the licence of every Go module linked into the
    native module, the Go runtime, pybind11 and ours (scripts/licenses reads their texts)."""
    res = subprocess.run([sys.executable, str(REPO / "scripts" / "licenses"), "--check-pyproject"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "covers everything linked" in res.stdout


def test_wheel_configuration_of_every_platform() -> None:
    """What only the hosted runners can build, held to what #18 found: macOS keeps Go's
    -O2 -g beside each wheel's -arch (and offers no universal2), Windows repairs with
    delvewheel leaving libuplink.dll beside _core.pyd and bundling MinGW's imports, and
    CPython 3.9-3.15 plus free-threaded 3.14t/3.15t are built."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        from pip._vendor import tomli as tomllib  # type: ignore[no-redef]

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["cibuildwheel"]
    mac = {o["select"]: o["environment"] for o in config["overrides"] if "macosx" in o["select"]}
    assert set(mac) == {"*-macosx_x86_64", "*-macosx_arm64"}
    for select, env in mac.items():
        arch = "x86_64" if "x86_64" in select else "arm64"
        for name in ("CGO_CFLAGS", "CGO_LDFLAGS"):
            assert env[name].split() == ["-O2", "-g", "-arch", arch], (select, name, env[name])
        assert env["GOARCH"] == ("amd64" if arch == "x86_64" else "arm64")
    assert config["macos"]["archs"] == ["native"]  # never universal2
    windows = config["windows"]
    command = windows["repair-wheel-command"].split()
    assert command[:2] == ["delvewheel", "repair"] and "--ignore-existing" in command
    assert command[command.index("--add-path") + 1] == "C:/msys64/ucrt64/bin"
    assert "delvewheel" in windows["before-build"]
    built = config["build"].split()
    assert {f"cp3{minor}-*" for minor in range(9, 16)} | {"cp314t-*", "cp315t-*"} <= set(built), built
