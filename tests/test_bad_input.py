"""Bad input, property-based (hypothesis): every public entry point, fed wrong types, None,
empty and invalid bucket names and keys (NUL, very long, unicode, lone surrogates, "/"
patterns), huge and negative sizes, offsets and part numbers, non-contiguous, read-only
and released buffers, odd file objects and options, either works or raises a clear
exception, never crashes or hangs.

Accepted exceptions (ACCEPTED):
- ``uplink_py.errors.StorjException`` and subclasses: what the Go library or the core
  refuses (invalid names, missing objects, invalid handles, bad grants...);
- ``TypeError``: a wrong type (pybind11's signature check, option attributes, buffers);
- ``ValueError`` (includes ``UnicodeEncodeError``): a value out of range, a NUL in a name,
  a lone surrogate that is not an escaped byte;
- ``BufferError``: a buffer that is not C-contiguous, or not writable where it must be;
- ``OverflowError``: Python's own conversions of huge ints (memoryview slicing, sizes);
- ``OSError`` only for the local-path arguments of upload_file/download_file (a missing
  file or directory is the filesystem's error, not ours).

A crash kills pytest (CI fails on it; scripts/fuzz-deep runs this module in a child and
reports a signal); a hang fails the test through its timeout. scripts/fuzz-deep runs the
"deep" profile (10,000+ cases) and reports the counts this module writes to
$UPLINK_PY_FUZZ_STATS.
"""

from __future__ import annotations

import array
import io
import json
import operator
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import uplink_py
from uplink_py import CustomMetadata, CustomMetadataEntry, Uplink
from uplink_py.errors import StorjException

from conftest import SUMMARY_LINES, StorjNetwork, random_bytes

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

ACCEPTED: tuple[type[BaseException], ...] = (StorjException, TypeError, ValueError, BufferError, OverflowError)
PATH_ERRORS = (*ACCEPTED, OSError)

CASES: Counter[str] = Counter()  # hypothesis examples per test
CALLS: Counter[str] = Counter()  # entry point calls
RAISED: Counter[str] = Counter()  # exception classes seen


def attempt(name: str, fn: Callable[..., Any], *args: Any, accept: tuple[type[BaseException], ...] = ACCEPTED,
            **kwargs: Any) -> Any:
    """fn(*args, **kwargs): its result, or the accepted exception it raised (anything else fails the test)."""
    CALLS[name] += 1
    try:
        return fn(*args, **kwargs)
    except accept as exc:
        RAISED[type(exc).__name__] += 1
        assert str(exc).strip(), f"{name} raised {type(exc).__name__} without a message"
        return exc
    except BaseException as exc:
        raise AssertionError(f"{name}{args!r:.300} raised {type(exc).__name__}: {exc}") from exc


def ok(result: Any) -> bool:
    return not isinstance(result, BaseException)


def expected_range(data: bytes, options: Any) -> bytes:
    """What a download with these (accepted) DownloadOptions must return: uplink's range
    rules (a negative offset is a suffix, a negative length reads to the end)."""
    if options is None:
        return data
    offset, length = operator.index(options.offset), operator.index(options.length)
    if offset < 0:  # with a length >= 0: ValueError
        return data[offset:]
    return data[offset:] if length < 0 else data[offset : offset + length]


# ---------------------------------------------------------------- strategies

HUGE_INTS = [-1, 0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53, 2**63 - 1, 2**63, 2**64, 2**64 + 1, 10**30,
             -(2**31), -(2**63), -(2**63) - 1, -(10**30)]
WRONG = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.complex_numbers(), st.binary(max_size=8),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.tuples(st.text(max_size=2)), st.sets(st.integers(), max_size=2),
    st.sampled_from([object(), b"bucket", bytearray(b"key"), memoryview(b"k"), Path("/nonexistent/p"), type, len, ...,
                     NotImplemented, SimpleNamespace()]),
)
SPECIAL_NAMES = [
    "", " ", "\x00", "a\x00b", "abc\x00", "\n", "\t", "ab", "abc", "ABC", "-abc", "abc-", "a..b", "a.b",
    "1.2.3.4", "192.168.0.1", "a_b", "xn--abc", "/", "//", "a/b", "a/", "/a", "../x", "a/../b", "./", ".", "..",
    "\\", "a\\b", "é", "ß", "日本語", "\udcff", "\udc80x", "\ud800", "\ufeff", "\u202e", "%00", "%2F",
    "sj://bucket/key", "*", "?", "a b", "\x7f", "\x01\x02",
]
# Long ones are drawn by index, so that hypothesis's reprs of the strategies stay short.
LONG_NAMES = ["a" * 63, "a" * 64, "a" * 1025, "x" * 70000, "🙂" * 300, "a/" * 600, "é" * 2000]
LONG = st.integers(0, len(LONG_NAMES) - 1).map(lambda i: LONG_NAMES[i])
TEXT = st.one_of(st.text(max_size=80), st.sampled_from(SPECIAL_NAMES), LONG)
# Arguments: mostly of the right type with odd values, a wrong type about one time in five.
NAMES = st.one_of(st.text(max_size=80), st.sampled_from(SPECIAL_NAMES), LONG, st.just("k"), WRONG)
INTS = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from(HUGE_INTS), st.integers(-3, 70000))
INT_ARGS = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from(HUGE_INTS), st.integers(-3, 70000),
                     st.sampled_from([1.0, 1.5, float("nan"), float("inf"), "1", b"1", True]), WRONG)
BOOLS = st.one_of(st.booleans(), st.booleans(), st.sampled_from([0, 1, 2, -1]), WRONG)
STRS = NAMES


def _released() -> memoryview:
    view = memoryview(b"released")
    view.release()
    return view


def _numpy(kind: str, n: int) -> Any:
    if kind == "f2d":  # Fortran order: not C-contiguous when 2-D
        return np.zeros((max(n, 2), 3), dtype="u1", order="F")
    if kind == "strided":
        return np.arange(max(n, 2) * 3, dtype="u1")[::3]
    if kind == "readonly":
        a = np.arange(n, dtype="u1")
        a.setflags(write=False)
        return a
    if kind == "f64":
        return np.arange(n, dtype="f8").reshape(-1, 1) if n else np.zeros(0)
    if kind == "0d":
        return np.array(7, dtype="i4")
    return np.zeros(n, dtype="u1")


BUFFERS = st.one_of(
    st.binary(max_size=4096),
    st.binary(max_size=1024).map(bytearray),
    st.binary(max_size=1024).map(memoryview),  # read-only
    st.binary(min_size=2, max_size=512).map(lambda b: memoryview(bytearray(b))[::2]),  # non-contiguous
    st.binary(min_size=4, max_size=512).map(lambda b: np.frombuffer(b[: len(b) // 2 * 2], "u1").reshape(2, -1)[:, ::2]),
    st.tuples(st.sampled_from(["f2d", "strided", "readonly", "f64", "0d", "plain"]), st.integers(0, 300)).map(
        lambda t: _numpy(*t)),
    st.lists(st.integers(-(2**31), 2**31 - 1), max_size=50).map(lambda v: array.array("i", v)),
    st.builds(_released),
    st.just(bytearray()),
    st.text(max_size=20),
    WRONG,
)

ODD_METADATA = [{"k" * 100000: "v"}, {"k": "v" * 300000}, {"": ""}, {"k\x00": "\x00"}, {"\udcff": "x"},
                SimpleNamespace(items=5), SimpleNamespace(entries=5), SimpleNamespace(items=lambda: [1, 2])]
METADATA = st.one_of(
    st.none(),
    st.dictionaries(st.text(max_size=20), st.text(max_size=50), max_size=4),
    st.dictionaries(st.binary(max_size=20), st.binary(max_size=50), max_size=4),
    st.dictionaries(st.one_of(TEXT, st.binary(max_size=5), st.integers(), st.none()), NAMES, max_size=3),
    st.lists(st.tuples(st.text(max_size=20), st.text(max_size=20)), max_size=3).map(
        lambda items: CustomMetadata([CustomMetadataEntry(key=k, value=v) for k, v in items])),
    st.lists(st.one_of(st.builds(SimpleNamespace, key=STRS, value=STRS), st.builds(SimpleNamespace, key=STRS),
                       WRONG), max_size=3).map(lambda entries: SimpleNamespace(entries=entries)),
    st.integers(0, 7).map(lambda i: ODD_METADATA[i]),
    WRONG,
)


BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"  # grant-shaped strings


def options(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """None, an object with the option's attributes (of any type), one missing some, or a wrong type."""
    return st.one_of(
        st.none(),
        st.fixed_dictionaries(fields).map(lambda d: SimpleNamespace(**d)),
        st.fixed_dictionaries({}, optional=fields).map(lambda d: SimpleNamespace(**d)),
        WRONG,
    )


LIST_OPTIONS = options(prefix=STRS, cursor=STRS, recursive=BOOLS, system=BOOLS, custom=BOOLS)
UPLOAD_OPTIONS = options(expires=INT_ARGS)
DOWNLOAD_OPTIONS = options(offset=INT_ARGS, length=INT_ARGS)
CONFIG = options(user_agent=STRS, dial_timeout_milliseconds=INT_ARGS, temp_directory=STRS)
PERMISSION = options(allow_download=BOOLS, allow_upload=BOOLS, allow_list=BOOLS, allow_delete=BOOLS,
                     not_before=INT_ARGS, not_after=INT_ARGS, allow_put_object_retention=BOOLS,
                     allow_bypass_governance_retention=BOOLS, max_object_ttl_milliseconds=INT_ARGS)
VERSIONS = st.one_of(st.none(), st.text(alphabet="0123456789abcdefABCDEF", max_size=40), STRS)
RETENTIONS = options(mode=INT_ARGS, retain_until=INT_ARGS)
LOCK_CONFIGS = options(enabled=BOOLS, default_mode=INT_ARGS, default_days=INT_ARGS, default_years=INT_ARGS)
DELETE_ITEMS = st.one_of(STRS, st.lists(st.one_of(NAMES, st.tuples(NAMES, VERSIONS), st.tuples(NAMES), WRONG),
                                        max_size=4))
PREFIXES = st.one_of(st.none(), st.lists(st.one_of(st.builds(SimpleNamespace, bucket=STRS, prefix=STRS),
                                                   st.builds(SimpleNamespace, bucket=STRS), WRONG), max_size=3),
                     WRONG)
# Auth service addresses that fail at once (no DNS lookups of random names, no blackholes).
EDGE_ADDRESSES = st.one_of(st.sampled_from(["", "127.0.0.1:1", "[::1]:1", ":", "localhost:0", "nohost", "a\x00:1",
                                            "127.0.0.1:99999", "http://127.0.0.1:1"]), WRONG)
EDGE_CONFIG = options(auth_service_address=EDGE_ADDRESSES, certificate_pem=STRS, insecure_unencrypted_connection=BOOLS)


class FakeFile:
    """A file object whose read/readinto/write answer with a drawn value."""

    def __init__(self, answers: list[Any], data: bytes) -> None:
        self.answers = list(answers)
        self.data = io.BytesIO(data)
        self.written = bytearray()

    def _next(self, default: Any) -> Any:
        return self.answers.pop(0) if self.answers else default

    def readinto(self, buffer: Any) -> Any:
        view = memoryview(buffer).cast("B")
        n = self.data.readinto(view)
        return self._next(n)

    def read(self, size: int = -1) -> Any:
        return self._next(self.data.read(size))

    def write(self, chunk: Any) -> Any:
        self.written += chunk
        return self._next(len(memoryview(chunk)))


def _once(answer: Any) -> Callable[[int], Any]:
    """A read() that answers once, then reports the end (a file that never ends would, rightly,
    be uploaded forever)."""
    answers = iter([answer])
    return lambda size: next(answers, b"")


FILES = st.one_of(
    st.binary(max_size=5000).map(io.BytesIO),
    st.tuples(st.lists(st.one_of(INT_ARGS, st.binary(max_size=10), st.none()), max_size=3),
              st.binary(max_size=3000)).map(lambda t: FakeFile(*t)),
    st.builds(lambda d: SimpleNamespace(read=_once(d)), st.one_of(st.binary(max_size=5), st.text(max_size=5),
                                                                    st.integers())),
    st.builds(lambda: SimpleNamespace(read=None, readinto=None, write=None)),
    WRONG,
)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    stats = {"cases": sum(CASES.values()), "calls": sum(CALLS.values()), "entry_points": len(CALLS),
             "cases_per_test": dict(CASES), "calls_per_entry_point": dict(sorted(CALLS.items())),
             "exceptions": dict(RAISED.most_common())}
    # conftest.py's pytest_terminal_summary prints these lines.
    request.config.stash.setdefault(SUMMARY_LINES, []).append(
        f"bad input: {stats['cases']} cases, {stats['calls']} calls of {stats['entry_points']} entry points, "
        f"exceptions {dict(RAISED.most_common(8))}")
    path = os.environ.get("UPLINK_PY_FUZZ_STATS")
    if path:
        Path(path).write_text(json.dumps(stats, indent=1))


@pytest.fixture(scope="module")
def fz_project(access):  # type: ignore[no-untyped-def]
    with access.open_project() as project:
        yield project


@pytest.fixture(scope="module")
def stored(fz_project, module_bucket: str) -> tuple[str, bytes]:  # type: ignore[no-untyped-def]
    data = random_bytes(10_000)
    fz_project.upload_bytes(module_bucket, "stored", data)
    return "stored", data


@pytest.fixture(scope="module")
def open_upload_id(fz_project, module_bucket: str) -> Iterator[str]:  # type: ignore[no-untyped-def]
    info = fz_project.begin_upload(module_bucket, "multipart")
    yield info.upload_id
    attempt("abort_upload", fz_project.abort_upload, module_bucket, "multipart", info.upload_id)


@pytest.fixture(scope="module")
def created_buckets(fz_project) -> Iterator[set[str]]:  # type: ignore[no-untyped-def]
    """Buckets that a fuzzed create/ensure call really made: deleted afterwards."""
    made: set[str] = set()
    yield made
    for name in made:
        attempt("cleanup", fz_project.delete_bucket_with_objects, name)


@pytest.fixture(scope="module")
def own_access(storj_network: StorjNetwork):  # type: ignore[no-untyped-def]
    """An access of this module's own: override_encryption_key changes it."""
    return Uplink().parse_access(storj_network.access)


def count(test: str) -> None:
    CASES[test] += 1


def slow_budget() -> int:
    """How many slow calls (Argon2 key derivation, ~0.2 s each) one test may make."""
    return max(5, settings().max_examples // 15)


# ---------------------------------------------------------------- module functions and Uplink


@given(passphrase=STRS, salt=BUFFERS, base=STRS, key_id=STRS, bucket=STRS, key=STRS,
       share_options=options(raw=BOOLS), serialized=st.one_of(TEXT, WRONG, st.text(alphabet=BASE58, min_size=20,
                                                                                    max_size=400)))
def test_module_functions(passphrase: Any, salt: Any, base: Any, key_id: Any, bucket: Any, key: Any,
                          share_options: Any, serialized: Any) -> None:
    count("module_functions")
    valid = isinstance(passphrase, str) and "\x00" not in passphrase and isinstance(salt, (bytes, bytearray))
    if not valid or CALLS["derive_encryption_key"] < slow_budget():
        result = attempt("derive_encryption_key", uplink_py.derive_encryption_key, passphrase, salt)
        assert ok(result) == (result.__class__.__name__ == "EncryptionKey")
    url = attempt("join_share_url", uplink_py.join_share_url, base, key_id, bucket, key, share_options)
    assert not ok(url) or isinstance(url, str)
    parsed = attempt("parse_access", Uplink().parse_access, serialized)
    assert not ok(parsed), "a random string parsed as an access grant"
    assert ok(attempt("uplink_version", uplink_py.uplink_version))


@given(satellite=st.one_of(STRS, st.just("real")), api_key=st.one_of(STRS, st.just("real")),
       passphrase=st.one_of(STRS, st.just("real")), config=CONFIG)
def test_request_access(storj_network: StorjNetwork, satellite: Any, api_key: Any, passphrase: Any,
                        config: Any) -> None:
    count("request_access")
    satellite = storj_network.satellite if satellite == "real" else satellite
    api_key = storj_network.api_key if api_key == "real" else api_key
    passphrase = storj_network.passphrase if passphrase == "real" else passphrase
    reaches_satellite = satellite == storj_network.satellite and api_key == storj_network.api_key
    if reaches_satellite and CALLS["request_access_with_passphrase"] >= slow_budget():
        return
    uplink = Uplink()
    attempt("request_access_with_passphrase", uplink.request_access_with_passphrase, satellite, api_key, passphrase)
    if not reaches_satellite or isinstance(config, SimpleNamespace) and not isinstance(
            getattr(config, "dial_timeout_milliseconds", None), int):
        attempt("config_request_access_with_passphrase", uplink.config_request_access_with_passphrase, config,
                satellite, api_key, passphrase)


# ---------------------------------------------------------------- Access


@given(permission=PERMISSION, prefixes=PREFIXES, bucket=STRS, prefix=STRS, use_key=st.booleans(), config=CONFIG,
       edge_config=EDGE_CONFIG, edge_options=options(is_public=BOOLS), wrong=WRONG)
def test_access_methods(own_access: Any, permission: Any, prefixes: Any, bucket: Any, prefix: Any, use_key: bool,
                        config: Any, edge_config: Any, edge_options: Any, wrong: Any) -> None:
    count("access_methods")
    shared = attempt("share", own_access.share, permission, prefixes)
    if ok(shared):
        assert ok(attempt("serialize", shared.serialize))
    key = own_key() if use_key else wrong
    attempt("override_encryption_key", own_access.override_encryption_key, bucket, prefix, key)
    project = attempt("config_open_project", own_access.config_open_project, config)
    if ok(project):
        project.close()
    attempt("register_access", own_access.register_access, edge_config, edge_options)
    empty = uplink_py.Access()
    for name in ("serialize", "satellite_address", "open_project"):
        assert isinstance(attempt(f"empty.{name}", getattr(empty, name)), StorjException)
    assert isinstance(attempt("empty.share", empty.share, uplink_py.Permission(allow_download=True)), StorjException)
    assert ok(attempt("satellite_address", own_access.satellite_address))


_KEY: list[Any] = []


def own_key() -> Any:
    if not _KEY:
        _KEY.append(uplink_py.derive_encryption_key("fuzz", b"salt"))
    return _KEY[0]


# ---------------------------------------------------------------- Project: buckets and objects

BUCKET_METHODS = ["stat_bucket", "create_bucket", "ensure_bucket", "delete_bucket", "delete_bucket_with_objects"]


@given(method=st.sampled_from(BUCKET_METHODS), name=NAMES, list_options=options(cursor=STRS), wrong=WRONG)
def test_bucket_methods(fz_project: Any, created_buckets: set[str], method: str, name: Any, list_options: Any,
                        wrong: Any) -> None:
    count("bucket_methods")
    if method.startswith("delete") and isinstance(name, str) and len(name) >= 3 and "\x00" not in name:
        name = "nb-" + name  # never another test's bucket
    result = attempt(method, getattr(fz_project, method), name)
    if ok(result) and method in ("create_bucket", "ensure_bucket"):
        created_buckets.add(name)
    listed = attempt("list_buckets", fz_project.list_buckets, list_options)
    if ok(listed):
        assert all(isinstance(b, uplink_py.Bucket) for b in listed)
    iterator = attempt("iter_buckets", fz_project.iter_buckets, list_options)
    if ok(iterator):
        attempt("iter_buckets.next", next, iterator, None)
    attempt("stat_bucket(wrong)", fz_project.stat_bucket, wrong)


@given(bucket=st.one_of(st.just("own"), NAMES), key=NAMES, key2=NAMES, list_options=LIST_OPTIONS,
       metadata=METADATA, method=st.sampled_from(["stat_object", "delete_object", "copy_object", "move_object",
                                                   "update_object_metadata", "list_objects", "iter_objects"]))
def test_object_methods(fz_project: Any, module_bucket: str, stored: tuple[str, bytes], bucket: Any, key: Any,
                        key2: Any, list_options: Any, metadata: Any, method: str) -> None:
    count("object_methods")
    bucket = module_bucket if bucket == "own" else bucket
    if key == stored[0] or key2 == stored[0]:
        key = key2 = "not-stored"
    if method in ("stat_object", "delete_object"):
        result = attempt(method, getattr(fz_project, method), bucket, key)
    elif method in ("copy_object", "move_object"):
        result = attempt(method, getattr(fz_project, method), bucket, key, module_bucket, key2)
        attempt(method, getattr(fz_project, method), module_bucket, "stored-missing", bucket, key2)
    elif method == "update_object_metadata":
        result = attempt(method, fz_project.update_object_metadata, bucket, key, metadata)
    elif method == "list_objects":
        result = attempt(method, fz_project.list_objects, bucket, list_options)
        assert not ok(result) or all(isinstance(o, uplink_py.Object) for o in result)
    else:
        result = attempt(method, fz_project.iter_objects, bucket, list_options)
        if ok(result):
            attempt("iter_objects.next", next, result, None)
    # Whatever happened, the stored object is intact.
    if CASES["object_methods"] % 50 == 0:
        assert fz_project.download_bytes(module_bucket, stored[0]) == stored[1]


# ---------------------------------------------------------------- Project: versions and Object Lock

VERSION_METHODS = ["create_bucket_with_object_lock", "get_bucket_versioning", "set_bucket_versioning",
                   "get_bucket_object_lock", "set_bucket_object_lock", "stat_version", "delete_version",
                   "list_versions", "iter_versions", "set_object_retention", "get_object_retention",
                   "set_object_legal_hold", "get_object_legal_hold", "delete_objects", "copy_object(version)",
                   "upload_object(conditions)"]


@given(method=st.sampled_from(VERSION_METHODS), bucket=st.one_of(st.just("own"), NAMES), key=NAMES,
       version=VERSIONS, retention=RETENTIONS, flag=BOOLS, config=LOCK_CONFIGS, items=DELETE_ITEMS,
       list_options=LIST_OPTIONS)
def test_version_and_lock_methods(fz_project: Any, module_bucket: str, stored: tuple[str, bytes],
                                  created_buckets: set[str], method: str, bucket: Any, key: Any, version: Any,
                                  retention: Any, flag: Any, config: Any, items: Any, list_options: Any) -> None:
    count("version_and_lock_methods")
    bucket = module_bucket if bucket == "own" else bucket
    if key == stored[0]:
        key = "not-stored"
    if isinstance(items, list):  # never the stored object
        items = [i for i in items if i != stored[0] and not (isinstance(i, tuple) and i[:1] == (stored[0],))]
    p = fz_project
    if method == "create_bucket_with_object_lock":
        name = "nb-" + bucket if isinstance(bucket, str) else bucket
        if ok(attempt(method, p.create_bucket_with_object_lock, name)):
            created_buckets.add(name)
    elif method in ("get_bucket_versioning", "get_bucket_object_lock"):
        attempt(method, getattr(p, method), bucket)
    elif method == "set_bucket_versioning":
        attempt(method, p.set_bucket_versioning, "nb-" + bucket if isinstance(bucket, str) else bucket, flag)
    elif method == "set_bucket_object_lock":
        attempt(method, p.set_bucket_object_lock, bucket, config)
    elif method in ("stat_version", "get_object_retention", "get_object_legal_hold"):
        if method == "stat_version":
            attempt(method, p.stat_version, bucket, key, version)
        else:
            attempt(method, getattr(p, method), bucket, key, version=version)
    elif method == "delete_version":
        attempt(method, p.delete_version, bucket, key, version, bypass_governance=flag)
    elif method in ("list_versions", "iter_versions"):
        result = attempt(method, getattr(p, method), bucket, list_options)
        if ok(result) and method == "iter_versions":
            attempt("iter_versions.next", next, result, None)
        elif ok(result):
            assert all(isinstance(v, uplink_py.ObjectVersion) for v in result)
    elif method == "set_object_retention":
        attempt(method, p.set_object_retention, bucket, key, retention, version=version, bypass_governance=flag)
    elif method == "set_object_legal_hold":
        attempt(method, p.set_object_legal_hold, bucket, key, flag, version=version)
    elif method == "delete_objects":
        result = attempt(method, p.delete_objects, bucket, items, bypass_governance=flag)
        assert not ok(result) or all(isinstance(r, uplink_py.DeleteResult) for r in result)
    elif method == "copy_object(version)":
        attempt(method, p.copy_object, module_bucket, stored[0], bucket, key, version=version, retention=retention,
                legal_hold=flag, if_none_match=flag)
    else:
        up = attempt(method, p.upload_object, bucket, key, None, retention=retention, legal_hold=flag)
        if ok(up):
            up.abort()
    if CASES["version_and_lock_methods"] % 50 == 0:
        assert fz_project.download_bytes(module_bucket, stored[0]) == stored[1]


# ---------------------------------------------------------------- Project: transfers and multipart


@given(bucket=st.one_of(st.just("own"), NAMES), key=NAMES, upload_id=st.one_of(st.just("real"), STRS),
       part_number=INT_ARGS, upload_options=UPLOAD_OPTIONS, download_options=DOWNLOAD_OPTIONS,
       commit_options=st.one_of(METADATA, options(custom_metadata=METADATA)),
       list_options=LIST_OPTIONS, parts_options=options(cursor=INT_ARGS), wrong=WRONG)
def test_transfer_and_multipart_methods(fz_project: Any, module_bucket: str, stored: tuple[str, bytes],
                                        open_upload_id: str, bucket: Any, key: Any, upload_id: Any, part_number: Any,
                                        upload_options: Any, download_options: Any, commit_options: Any,
                                        list_options: Any, parts_options: Any, wrong: Any) -> None:
    count("transfer_and_multipart_methods")
    bucket = module_bucket if bucket == "own" else bucket
    real_id = upload_id == "real"
    upload_id = open_upload_id if real_id else upload_id
    part_key = "multipart" if real_id else key

    upload = attempt("upload_object", fz_project.upload_object, bucket, key, upload_options)
    if ok(upload):
        upload.abort()
    download = attempt("download_object", fz_project.download_object, bucket, stored[0], download_options)
    if ok(download):
        download.close()
    attempt("download_object", fz_project.download_object, bucket, key)
    info = attempt("begin_upload", fz_project.begin_upload, bucket, key, upload_options)
    if ok(info):
        assert ok(attempt("abort_upload", fz_project.abort_upload, bucket, key, info.upload_id))
    part = attempt("upload_part", fz_project.upload_part, bucket, part_key, upload_id, part_number)
    if ok(part):
        part.abort()
    attempt("list_upload_parts", fz_project.list_upload_parts, bucket, part_key, upload_id, parts_options)
    iterator = attempt("iter_upload_parts", fz_project.iter_upload_parts, bucket, part_key, upload_id, parts_options)
    if ok(iterator):
        attempt("iter_upload_parts.next", next, iterator, None)
    attempt("list_uploads", fz_project.list_uploads, bucket, list_options)
    iterator = attempt("iter_uploads", fz_project.iter_uploads, bucket, list_options)
    if ok(iterator):
        attempt("iter_uploads.next", next, iterator, None)
    if not real_id:  # never commit or abort the shared upload
        attempt("commit_upload", fz_project.commit_upload, bucket, key, upload_id, commit_options)
        attempt("abort_upload", fz_project.abort_upload, bucket, key, upload_id)
    assert isinstance(attempt("revoke_access", fz_project.revoke_access, wrong), (TypeError, StorjException))
    assert isinstance(attempt("revoke_access", fz_project.revoke_access, uplink_py.Access()), StorjException)


# ---------------------------------------------------------------- Upload, PartUpload, Download methods

UPLOAD_STEPS = st.lists(st.one_of(
    st.tuples(st.just("write"), BUFFERS, st.one_of(st.none(), INT_ARGS)),
    st.tuples(st.just("write_file"), FILES, st.one_of(st.just(0), st.integers(1, 5000), INT_ARGS)),
    st.tuples(st.just("set_custom_metadata"), METADATA, st.none()),
    st.tuples(st.just("info"), st.none(), st.none()),
    st.tuples(st.just("abort"), st.none(), st.none()),
    st.tuples(st.just("cancel"), st.none(), st.none()),
), max_size=6)


def _expected_write(data: Any, size: Any) -> bytes:
    view = memoryview(data).cast("B") if not isinstance(data, memoryview) or data.c_contiguous else None
    assert view is not None
    return bytes(view if size is None else view[: int(size)])


@given(steps=UPLOAD_STEPS, key=st.one_of(st.just("k"), TEXT), commit=st.booleans())
def test_upload_methods(fz_project: Any, module_bucket: str, steps: list[Any], key: str, commit: bool) -> None:
    """Whatever the writes were given, a committed object holds exactly the bytes of the writes that succeeded."""
    count("upload_methods")
    upload = attempt("upload_object", fz_project.upload_object, module_bucket, key)
    if not ok(upload):
        return
    expected = bytearray()
    usable = True
    for method, arg, extra in steps:
        if method == "write":
            result = attempt("Upload.write", upload.write, arg, extra)
            if ok(result):
                piece = _expected_write(arg, extra)
                assert result == len(piece)
                expected += piece
        elif method == "write_file":
            start = arg.data.tell() if isinstance(arg, FakeFile) else arg.tell() if isinstance(arg, io.BytesIO) else 0
            result = attempt("Upload.write_file", upload.write_file, arg, extra)
            if not ok(result) and not isinstance(result, StorjException):
                usable = False  # part of the file may be written: content no longer predictable
            elif ok(result) and isinstance(arg, io.BytesIO):
                expected += arg.getvalue()[start:]
            elif ok(result):
                usable = False
        elif method == "set_custom_metadata":
            attempt("Upload.set_custom_metadata", upload.set_custom_metadata, arg)
        elif method == "info":
            attempt("Upload.info", upload.info)
        elif method == "abort":
            assert ok(attempt("Upload.abort", upload.abort))
            assert upload.closed
        else:
            assert ok(attempt("Upload.cancel", upload.cancel))
            assert upload.closed
    if commit and not upload.closed:
        result = attempt("Upload.commit", upload.commit)
        if ok(result) and usable:
            assert fz_project.download_bytes(module_bucket, key) == bytes(expected)
    upload.abort()
    assert upload.closed


@given(steps=UPLOAD_STEPS, part_number=st.one_of(st.integers(1, 10_000), INT_ARGS),
       etag=st.one_of(st.text(max_size=40), st.binary(max_size=40), st.sampled_from(["a\x00", b"\x00", "\udcff"]),
                      WRONG))
def test_part_upload_methods(fz_project: Any, module_bucket: str, open_upload_id: str, steps: list[Any],
                             part_number: Any, etag: Any) -> None:
    count("part_upload_methods")
    part = attempt("upload_part", fz_project.upload_part, module_bucket, "multipart", open_upload_id, part_number)
    if not ok(part):
        return
    for method, arg, extra in steps:
        if method == "write":
            result = attempt("PartUpload.write", part.write, arg, extra)
            if ok(result):
                assert result == len(_expected_write(arg, extra))
        elif method == "info":
            attempt("PartUpload.info", part.info)
        elif method == "abort":
            assert ok(attempt("PartUpload.abort", part.abort))
        elif method == "cancel":
            assert ok(attempt("PartUpload.cancel", part.cancel))
        else:
            attempt("PartUpload.set_etag", part.set_etag, etag)
    part.abort()
    assert part.closed


DOWNLOAD_STEPS = st.lists(st.one_of(
    st.tuples(st.just("read"), st.one_of(st.integers(0, 12_000), INT_ARGS)),
    st.tuples(st.just("readinto"), BUFFERS),
    st.tuples(st.just("read_file"), st.tuples(FILES, st.one_of(st.just(0), st.integers(1, 5000), INT_ARGS))),
    st.tuples(st.just("readall"), st.none()),
    st.tuples(st.just("info"), st.none()),
    st.tuples(st.just("file_size"), st.none()),
    st.tuples(st.just("close"), st.none()),
    st.tuples(st.just("cancel"), st.none()),
), max_size=6)


def _range(size: int, offset: int, length: int) -> tuple[int, int]:
    start = max(0, size + offset) if offset < 0 else min(offset, size)
    end = size if length < 0 or length > size - start else start + length
    return start, end


@given(offset=st.one_of(st.integers(-12_000, 12_000), st.sampled_from(HUGE_INTS)),
       length=st.one_of(st.integers(-2, 12_000), st.sampled_from(HUGE_INTS)), steps=DOWNLOAD_STEPS)
def test_download_methods(fz_project: Any, module_bucket: str, stored: tuple[str, bytes], offset: int, length: int,
                          steps: list[Any]) -> None:
    """Whatever the reads were given, the bytes they returned are the range's bytes, in order."""
    count("download_methods")
    key, data = stored
    download = attempt("download_object", fz_project.download_object, module_bucket, key,
                       uplink_py.DownloadOptions(offset, length))
    if not ok(download):
        return
    start, end = _range(len(data), offset, length)
    want, pos = data[start:end], 0
    predictable = True
    try:  # closed however a step fails: a dropped download would fail the next test
        for method, arg in steps:
            if method == "read":
                result = attempt("Download.read", download.read, arg)
                if ok(result):
                    chunk, n = result
                    assert n == len(chunk) and (not predictable or chunk == want[pos: pos + n])
                    pos += n
            elif method == "readinto":
                target = arg
                result = attempt("Download.readinto", download.readinto, target)
                if ok(result):
                    got = bytes(memoryview(target).cast("B")[:result])
                    assert not predictable or got == want[pos: pos + result]
                    pos += result
            elif method == "read_file":
                file, size = arg
                at = file.tell() if isinstance(file, io.BytesIO) else 0  # a BytesIO made with bytes starts at 0
                result = attempt("Download.read_file", download.read_file, file, size)
                if ok(result) and isinstance(file, io.BytesIO):
                    assert not predictable or file.getvalue()[at: at + result] == want[pos: pos + result]
                    pos += result
                elif not isinstance(result, StorjException):
                    predictable = False  # some bytes may have gone to the file
            elif method == "readall":
                result = attempt("Download.readall", download.readall)
                if ok(result):
                    assert not predictable or result == want[pos:]
                    pos = len(want)
            elif method == "info":
                result = attempt("Download.info", download.info)
                assert not ok(result) or result.system.content_length == len(data)
            elif method == "file_size":
                assert attempt("Download.file_size", download.file_size) == len(data)
            elif method == "close":
                assert ok(attempt("Download.close", download.close))
            else:
                assert ok(attempt("Download.cancel", download.cancel))
    finally:
        download.close()
    assert download.closed


# ---------------------------------------------------------------- whole-object helpers


@given(st.data())
def test_whole_object_helpers(fz_project: Any, module_bucket: str, stored: tuple[str, bytes],
                              tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    count("whole_object_helpers")
    key = data.draw(st.one_of(st.just("k"), NAMES), "key")
    bucket = data.draw(st.one_of(st.just(module_bucket), NAMES), "bucket")
    payload = data.draw(BUFFERS, "payload")
    try:
        nbytes = memoryview(payload).nbytes
    except (TypeError, ValueError):  # not a buffer, or a released one
        nbytes = 4096
    # Parts of at least 1/8 of the payload or of the stored object: a 1-byte part size
    # would make (correctly, but slowly) thousands of parts.
    part_size = data.draw(st.one_of(st.integers(max(len(stored[1]), nbytes) // 8 + 1, 2**40),
                                    st.sampled_from([0, -1, 1.5, None, "1", True])), "part_size")
    concurrency = data.draw(st.one_of(st.integers(1, 8), st.sampled_from([0, -1, 10**6, 2.0, None, "2", False])),
                            "max_concurrency")
    upload_options = data.draw(UPLOAD_OPTIONS, "upload_options")
    metadata = data.draw(METADATA, "custom_metadata")
    kwargs = {"max_concurrency": concurrency, "part_size": part_size}

    result = attempt("upload_bytes", fz_project.upload_bytes, bucket, key, payload, upload_options, metadata, **kwargs)
    if ok(result) and bucket == module_bucket:
        want = bytes(memoryview(payload).cast("B"))
        assert fz_project.download_bytes(module_bucket, key) == want
    options = data.draw(DOWNLOAD_OPTIONS, "download_options")
    got = attempt("download_bytes", fz_project.download_bytes, bucket, stored[0], options, **kwargs)
    if ok(got):  # exactly the range asked for, never merely some substring
        assert got == expected_range(stored[1], options)
    target = data.draw(BUFFERS, "target")
    offset = data.draw(st.one_of(st.integers(-5, 12_000), INT_ARGS), "offset")
    n = attempt("download_into", fz_project.download_into, bucket, stored[0], target, offset, **kwargs)
    if ok(n):
        assert bytes(memoryview(target).cast("B")[:n]) == stored[1][offset: offset + n]

    tmp = tmp_path_factory.mktemp("fz")
    (tmp / "file").write_bytes(b"file bytes")
    path = data.draw(st.one_of(st.sampled_from([str(tmp / "file"), tmp / "file", str(tmp / "missing"), str(tmp),
                                                tmp / "no" / "dir" / "f", "", "\x00"]), WRONG), "path")
    attempt("upload_file", fz_project.upload_file, bucket, key, path, upload_options, metadata, accept=PATH_ERRORS,
            **kwargs)
    attempt("download_file", fz_project.download_file, bucket, stored[0], path, accept=PATH_ERRORS, **kwargs)
    items = data.draw(st.one_of(
        st.dictionaries(NAMES.filter(lambda x: isinstance(x, str)), BUFFERS, max_size=3),
        st.lists(st.tuples(NAMES, BUFFERS), max_size=3), st.lists(WRONG, max_size=2), WRONG), "items")
    attempt("upload_many", fz_project.upload_many, module_bucket, items, upload_options,
            max_concurrency=concurrency, accept=PATH_ERRORS)
    keys = data.draw(st.one_of(st.lists(st.one_of(st.just(stored[0]), NAMES), max_size=3), WRONG), "keys")
    got_many = attempt("download_many", fz_project.download_many, bucket, keys, max_concurrency=concurrency)
    if ok(got_many):  # in the order of the keys; other keys may name objects this test wrote
        assert len(got_many) == len(keys)
        assert all(b == stored[1] for k, b in zip(keys, got_many) if k == stored[0])


def test_an_int_path_is_not_a_file_descriptor(project: Any, py_bucket: str) -> None:
    """upload_file(path=<int>) used to open that number as a file descriptor, then close it."""
    project.upload_bytes(py_bucket, "k", b"data")
    read_end, write_end = os.pipe()
    try:
        for path in (read_end, True):
            with pytest.raises(TypeError):
                project.upload_file(py_bucket, "k", path)
        os.fstat(read_end)  # still open
        with pytest.raises(TypeError):
            project.download_file(py_bucket, "k", write_end)
        os.fstat(write_end)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_file_arguments_without_the_methods_raise_type_error(project: Any, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "k", b"data")
    with project.upload_object(py_bucket, "u") as upload:
        for file in (None, 42, object(), SimpleNamespace(read=None)):
            with pytest.raises(TypeError):
                upload.write_file(file)
        upload.write(b"still fine")
    assert project.download_bytes(py_bucket, "u") == b"still fine"
    with project.download_object(py_bucket, "k") as download:
        for file in (None, 42, object(), SimpleNamespace(write=None)):
            with pytest.raises(TypeError):
                download.read_file(file)
        assert download.readall() == b"data"


def test_metadata_entries_without_key_or_value_raise_type_error(project: Any, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "k", b"data")
    for metadata in (SimpleNamespace(entries=[object()]), SimpleNamespace(entries=[SimpleNamespace(key="k")]),
                     SimpleNamespace(entries=5), SimpleNamespace(items=5), {"k": None}, {1: "v"},
                     SimpleNamespace(items=lambda: [1, 2])):
        with pytest.raises(TypeError):
            project.update_object_metadata(py_bucket, "k", metadata)
    assert project.stat_object(py_bucket, "k").custom.to_dict() == {}


@pytest.mark.parametrize("name", ["", "a", "A" * 3, "a" * 64, "-ab", "a..b", "1.2.3.4", "a_b", "\udcff", "é" * 3])
def test_invalid_bucket_names_are_refused_by_every_bucket_method(fz_project: Any, name: str) -> None:
    for method in BUCKET_METHODS[1:3]:  # create and ensure: the satellite validates new names
        with pytest.raises((StorjException, ValueError)):
            getattr(fz_project, method)(name)
            getattr(fz_project, "delete_bucket")(name)


def test_the_fuzzed_entry_points_succeed_with_valid_arguments(fz_project: Any, module_bucket: str,
                                                            stored: tuple[str, bytes]) -> None:
    """The property tests accept an error from any call; this proves each one can also
    succeed through the same harness, so "everything raised" cannot pass unnoticed."""
    from uplink_py import DownloadOptions, ListObjectsOptions

    key, data = stored
    assert attempt("upload_bytes", fz_project.upload_bytes, module_bucket, "valid", b"v" * 100).size == 100
    assert attempt("download_bytes", fz_project.download_bytes, module_bucket, key, DownloadOptions(10, 20)) == \
        data[10:30]
    assert attempt("download_bytes", fz_project.download_bytes, module_bucket, key, DownloadOptions(-5, -1)) == \
        data[-5:]
    target = bytearray(100)
    assert attempt("download_into", fz_project.download_into, module_bucket, key, target, 50) == 100
    assert target == data[50:150]
    assert attempt("stat_object", fz_project.stat_object, module_bucket, key).size == len(data)
    listed = attempt("list_objects", fz_project.list_objects, module_bucket, ListObjectsOptions(prefix=""))
    assert {o.key for o in listed} >= {key, "valid"}
