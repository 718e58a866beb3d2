"""Smoke tests of an installed uplink-py wheel: no network, no Go, only pytest.

They check that the wheel is complete (the native module loads from the installed
distribution, with its licence list) and that what the native module does offline works:
versions, access grants parsed, shared and serialized, encryption keys, share URLs,
errors, and the buffer checks of zero-copy transfers.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import uplink_py
from uplink_py import errors
from uplink_py.module_classes import (
    CustomMetadata,
    EdgeShareURLOptions,
    ListObjectsOptions,
    Permission,
    SharePrefix,
)
from uplink_py.uplink import Uplink

# An access grant made offline for these tests with storj.io/common's grant package: a
# made-up satellite (the .invalid domain never resolves), an API key from a test secret
# and an encryption key of test bytes. It opens nothing anywhere.
SATELLITE = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S@satellite.invalid:7777"
GRANT = (
    "1keLsQr18cKahtXAuESHr1Mx61ydDFvD3CiDpivpVorxbX9DFi4vS39Lm2sRB8rbSJrTkj71m3xGZBeHFzbs3GzXdW"
    "uARxmEJG2d2AcyTdbiNv3SueH91D1eLhV1o1dhC1StnJRBDeBhfNR8WDJRpH9y5PWupw5S3cD94BfNpoX6424wnR"
    "oaMnfG4M3hFQLMgdpgBDJgSHJAG1aRqvd3TrNNdJJWKu794PQHSizCsUBt79qXeH"
)


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120)


# ---------------------------------------------------------------- the installed wheel


def test_native_module_comes_from_the_installed_distribution() -> None:
    import uplink_py._core as core

    dist = importlib.metadata.distribution("uplink-py")
    assert dist.version == uplink_py.__version__  # one source of truth: _version.py
    files = {Path(str(dist.locate_file(f))).resolve() for f in dist.files or []}
    assert Path(core.__file__).resolve() in files, (core.__file__, "is not the installed wheel's module")
    assert Path(uplink_py.__file__).resolve() in files
    assert "src" not in Path(uplink_py.__file__).resolve().parts[-3:], "testing the source tree, not the wheel"


def test_metadata() -> None:
    meta = importlib.metadata.metadata("uplink-py")
    assert meta["Name"] == "uplink-py"
    # ours (MIT), the Go runtime and pybind11 (BSD-3-Clause), monkit (Apache-2.0) and the
    # rest linked in: scripts/licenses --check-pyproject checks the whole expression
    assert {"MIT", "BSD-3-Clause", "Apache-2.0"} <= set(meta["License-Expression"].split(" AND "))
    assert "https://github.com/uplink-py/uplink-py" in " ".join(meta.get_all("Project-URL") or [])
    extras = set(meta.get_all("Provides-Extra") or [])
    assert {"numpy", "fsspec", "cli", "torch"} <= extras, extras
    assert "test" not in extras  # the suite's requirements are listed once: requirements-test.txt


def test_licence_list_is_packaged() -> None:
    text = (Path(uplink_py.__file__).parent / "THIRD_PARTY_LICENSES.txt").read_text(encoding="utf-8")
    assert f"storj.io/uplink {uplink_py.uplink_version()}" in text
    for name in ("storj.io/common", "golang.org/x/crypto", "The Go standard library", "pybind11", "MIT License"):
        assert name in text, name


def test_import_does_not_load_the_native_module() -> None:
    res = run_python("""
        import sys
        import uplink_py, uplink_py.uplink, uplink_py.errors, uplink_py.module_classes
        assert "uplink_py._core" not in sys.modules, "import loaded the native module"
        print(uplink_py.uplink_version())
        assert "uplink_py._core" in sys.modules
    """)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith("v1.")


def test_versions() -> None:
    assert isinstance(uplink_py.__version__, str) and uplink_py.__version__[0].isdigit()
    version = uplink_py.uplink_version()
    assert isinstance(version, str) and version.startswith("v1."), version


def test_every_public_name_resolves() -> None:
    missing = [name for name in uplink_py.__all__ if not hasattr(uplink_py, name)]
    assert not missing, missing


# ---------------------------------------------------------------- pure Python classes


def test_module_classes() -> None:
    when = dt.datetime(2030, 1, 2, tzinfo=dt.timezone.utc)
    permission = Permission(allow_download=True, not_after=when)
    assert permission.not_after == int(when.timestamp()) and permission.not_before == 0
    with pytest.raises(ValueError):
        Permission(not_after=dt.datetime(2030, 1, 2))  # naive datetime
    with pytest.raises(ValueError):
        Permission(not_before=-1)
    assert SharePrefix(bucket="b").prefix == ""
    assert ListObjectsOptions(recursive=True).prefix == ""
    metadata = CustomMetadata.from_dict({"content-type": "text/plain", "ünïcode": "✓"})
    assert len(metadata) == 2 and metadata.to_dict() == {"content-type": "text/plain", "ünïcode": "✓"}


def test_errors() -> None:
    assert issubclass(errors.ObjectNotFoundError, (errors.StorjException, FileNotFoundError))
    assert issubclass(errors.BucketNotFoundError, FileNotFoundError)
    assert issubclass(errors.PermissionDeniedError, PermissionError)
    assert issubclass(errors.InvalidHandleError, ValueError)
    exc = errors.ObjectNotFoundError("object not found: k", 0x21, "details")
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is errors.ObjectNotFoundError
    assert (again.message, again.code, again.details) == ("object not found: k", 0x21, "details")


# ---------------------------------------------------------------- the native module, offline


def test_parse_access_of_a_bad_string_raises() -> None:
    for bad in ("", "not-an-access-grant", "1" * 64):
        with pytest.raises(errors.StorjException) as info:
            Uplink().parse_access(bad)
        assert isinstance(info.value.code, int) and info.value.message
        assert "access" in info.value.message.lower()
    with pytest.raises(TypeError):
        Uplink().parse_access(None)  # type: ignore[arg-type]


def test_access_offline() -> None:
    access = Uplink().parse_access(GRANT)
    assert isinstance(access, uplink_py.Access)
    assert access.satellite_address() == SATELLITE
    assert GRANT not in repr(access)  # repr shows the satellite only
    serialized = access.serialize()
    assert Uplink().parse_access(serialized).serialize() == serialized

    shared = access.share(Permission(allow_download=True, allow_list=True), [SharePrefix(bucket="photos",
                                                                                         prefix="2026/")])
    assert isinstance(shared, uplink_py.Access)
    assert shared.serialize() != serialized
    assert Uplink().parse_access(shared.serialize()).satellite_address() == SATELLITE

    key = uplink_py.derive_encryption_key("passphrase", b"salt")
    access.override_encryption_key("photos", "2026/", key)
    assert access.serialize() != serialized


def test_empty_handles_raise_instead_of_crashing() -> None:
    with pytest.raises(errors.InvalidHandleError):
        uplink_py.Access().serialize()
    with pytest.raises(errors.InvalidHandleError):
        uplink_py.Project().stat_bucket("bucket")
    with pytest.raises(errors.InvalidHandleError) as info:
        uplink_py.Upload().write(b"data")
    assert isinstance(info.value, ValueError)
    with pytest.raises(errors.InvalidHandleError):
        uplink_py.Download().read(10)


def test_derive_encryption_key() -> None:
    key = uplink_py.derive_encryption_key("passphrase", b"salt")
    assert isinstance(key, uplink_py.EncryptionKey)
    assert "passphrase" not in repr(key)
    uplink_py.derive_encryption_key("passphrase", bytearray(b"salt"))
    uplink_py.derive_encryption_key("passphrase", memoryview(b"salt"))
    with pytest.raises(TypeError):
        uplink_py.derive_encryption_key("passphrase", "salt")  # type: ignore[arg-type]
    with pytest.raises(BufferError):
        uplink_py.derive_encryption_key("passphrase", memoryview(b"ssaalltt")[::2])


def test_join_share_url() -> None:
    base = "https://link.example.test"
    assert uplink_py.join_share_url(base, "jxkey", "bucket", "dir/a b.txt") == f"{base}/s/jxkey/bucket/dir/a%20b.txt"
    raw = uplink_py.join_share_url(base, "jxkey", "bucket", "k", EdgeShareURLOptions(raw=True))
    assert raw == f"{base}/raw/jxkey/bucket/k"
    assert uplink_py.join_share_url(base, "jxkey", "", "") == f"{base}/s/jxkey"
    with pytest.raises(errors.StorjException):
        uplink_py.join_share_url("", "jxkey", "bucket", "k")


def test_zero_copy_write_rejects_non_contiguous_buffers() -> None:
    strided = memoryview(b"abcdefgh")[::2]
    for upload in (uplink_py.Upload(), uplink_py.PartUpload()):
        with pytest.raises(BufferError):
            upload.write(strided)
        with pytest.raises(TypeError):
            upload.write("text")  # type: ignore[arg-type]


def test_zero_copy_readinto_rejects_read_only_and_non_contiguous_buffers() -> None:
    for buffer in (b"read-only", memoryview(bytearray(8))[::2]):
        with pytest.raises(BufferError):
            uplink_py.Download().readinto(buffer)


def test_the_gil_stays_as_the_build_has_it() -> None:
    """On a free-threaded CPython (3.14t, 3.15t) the native module is declared GIL-free, so
    loading it leaves the GIL off (CPython turns it back on, with a RuntimeWarning, for a
    module that does not declare it); on other builds the GIL is on."""
    import sysconfig

    import uplink_py

    assert uplink_py.uplink_version().startswith("v")  # _core is loaded now
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    gil_enabled = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
    assert gil_enabled is (not free_threaded)
