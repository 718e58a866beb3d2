"""The package: importing it does not load the native module (nor start Go), versions."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import uplink_py


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


def test_a_forked_child_gets_a_clear_error() -> None:
    """The Go runtime does not survive fork(): after the parent loaded it, a call in the child
    raises ForkedProcessError instead of hanging."""
    res = run_python("""
        import os, sys
        import uplink_py
        from uplink_py import Uplink
        from uplink_py.errors import ForkedProcessError
        uplink_py.uplink_version()  # the parent loads the native module
        pid = os.fork()
        if pid == 0:
            try:
                Uplink().parse_access("anything")
            except ForkedProcessError as exc:
                print("child:", type(exc).__name__, flush=True)
                os._exit(0)
            except BaseException as exc:
                print("child: wrong error", type(exc).__name__, exc, flush=True)
                os._exit(1)
            print("child: no error", flush=True)
            os._exit(2)
        _, status = os.waitpid(pid, 0)
        print("parent: child exit", os.waitstatus_to_exitcode(status))
        print("parent still works:", bool(uplink_py.uplink_version()))
    """)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "child: ForkedProcessError" in res.stdout, res.stdout + res.stderr
    assert "parent: child exit 0" in res.stdout and "parent still works: True" in res.stdout


def test_a_child_forked_before_loading_works() -> None:
    """Importing without loading keeps fork() safe: the child can load and use the module."""
    res = run_python("""
        import os
        import uplink_py
        pid = os.fork()
        if pid == 0:
            os._exit(0 if uplink_py.uplink_version() else 1)
        _, status = os.waitpid(pid, 0)
        print("child exit", os.waitstatus_to_exitcode(status))
    """)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "child exit 0" in res.stdout
