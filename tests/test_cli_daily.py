"""The CLI for daily work: saved access names (uplink-py's and the Go uplink CLI's),
versions, create-if-absent copies, mv, metadata, JSON output, batch rm, Object Lock,
many files at once under one progress bar. Every run goes through ``python -m uplink_py``
and is scanned for secrets (test_cli.cli)."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import StorjNetwork, random_bytes, sha256, unique_bucket_name
from test_cli import _run_on_tty, _scan, _secrets, cli, err, ok

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def net(storj_network: StorjNetwork) -> StorjNetwork:
    return storj_network


@pytest.fixture
def config(tmp_path: Path) -> dict[str, str]:
    """Empty config directories of our own and of the Go CLI (never the user's)."""
    ours, go = tmp_path / "uplink-py", tmp_path / "go-uplink"
    return {"UPLINK_PY_CONFIG_DIR": str(ours), "UPLINK_CONFIG_DIR": str(go), "XDG_CONFIG_HOME": str(tmp_path)}


@pytest.fixture
def bucket(net: StorjNetwork, request: pytest.FixtureRequest) -> Iterator[str]:
    name = unique_bucket_name(request.node.name)
    ok(cli(net, "mb", "--versioning", f"sj://{name}"))
    yield name
    cli(net, "rb", "--force", f"sj://{name}")


def when_from_now(seconds: int) -> str:
    """An ISO 8601 UTC time as the CLI prints them, ``seconds`` from now (they sort as text)."""
    import datetime as dt

    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _lines(res: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in res.stdout.decode().splitlines()]


def test_access_names_of_the_go_cli_and_our_own(net: StorjNetwork, access: Any, config: dict[str, str],
                                                tmp_path: Path) -> None:
    from uplink_py import Permission

    readonly = access.share(Permission(allow_download=True, allow_list=True)).serialize()
    go_dir = Path(config["UPLINK_CONFIG_DIR"])
    go_dir.mkdir()
    (go_dir / "access.json").write_text(json.dumps({"Default": "main", "Accesses": {"main": net.access,
                                                                                    "ro": readonly}}))
    secrets = (readonly,)
    run = lambda *a, **k: cli(net, *a, access=None, env={**config, **k.pop("env", {})},  # noqa: E731
                              extra_secrets=secrets, **k)
    ok(run("ls"))  # the Go CLI's default name, with nothing else set
    listed = {r["name"]: r for r in _lines(ok(run("access", "list", "--json")))}
    assert listed["main"]["default"] and listed["main"]["source"] == "uplink"
    assert listed["ro"]["satellite"] == access.satellite_address()
    name = unique_bucket_name("cli-names")
    err(run("--access", "ro", "mb", f"sj://{name}"), 1, "permission denied")
    err(run("mb", f"sj://{name}", env={"UPLINK_ACCESS": "ro"}), 1, "permission denied")
    ok(run("mb", f"sj://{name}"))
    try:
        grant_file = tmp_path / "grant.txt"
        grant_file.write_text(readonly + "\n")
        ok(run("access", "import", "mine", str(grant_file), "--use"))
        saved = Path(config["UPLINK_PY_CONFIG_DIR"]) / "access.json"
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert json.loads(saved.read_text()) == {"Default": "mine", "Accesses": {"mine": readonly}}
        err(run("cp", "-", f"sj://{name}/k", stdin=b"x"), 1, "permission denied")  # ours is the default now
        err(run("access", "import", "mine", "-", stdin=net.access.encode()), 1, "exists", "--force")
        ok(run("access", "import", "mine", "-", "--force", stdin=net.access.encode()))
        ok(run("cp", "-", f"sj://{name}/k", stdin=b"x"))
        text = ok(run("access", "list")).stdout.decode()
        assert "* mine" in text and "  main" in text and "  ro" in text
        ok(run("access", "use", "ro"))  # a Go CLI name can be our default
        err(run("rm", f"sj://{name}/k"), 1)
        ok(run("access", "remove", "mine"))
        err(run("access", "remove", "main"), 1, "never changed")
        err(run("--access", "nope", "ls"), 2, "no saved access named 'nope'")
        cut = net.access[:60]  # a grant cut off by a copy: too short for one, never echoed
        assert cut[:32] not in err(run("--access", cut, "ls"), 2, "no saved access of that name")
        err(run("access", "use", "nope"), 1, "no saved access")
        assert json.loads((go_dir / "access.json").read_text())["Default"] == "main"  # untouched
    finally:
        ok(cli(net, "rb", "--force", f"sj://{name}"))


def test_versions_from_the_command_line(net: StorjNetwork, bucket: str, tmp_path: Path) -> None:
    old, new = random_bytes(3000), random_bytes(2 * MiB)
    for i, data in enumerate((old, new)):
        (tmp_path / f"v{i}").write_bytes(data)
        ok(cli(net, "cp", str(tmp_path / f"v{i}"), f"sj://{bucket}/k"))
    versions = _lines(ok(cli(net, "ls", "--versions", "--json", f"sj://{bucket}")))
    assert [(v["key"], v["size"], v["is_latest"]) for v in versions] == [("k", len(new), True), ("k", len(old), False)]
    old_id = versions[1]["version"]
    plain = ok(cli(net, "ls", "--versions", f"sj://{bucket}")).stdout.decode().splitlines()
    assert len(plain) == 2 and old_id in plain[1] and "latest" in plain[0]
    assert sha256(ok(cli(net, "cat", "--version-id", old_id, f"sj://{bucket}/k")).stdout) == sha256(old)
    ok(cli(net, "cp", "--version-id", old_id, f"sj://{bucket}/k", str(tmp_path / "back")))
    assert sha256((tmp_path / "back").read_bytes()) == sha256(old)
    described = _lines(ok(cli(net, "stat", "--json", "--version-id", old_id, f"sj://{bucket}/k")))[0]
    assert (described["version"], described["size"], described["is_latest"]) == (old_id, len(old), False)
    bucket_info = _lines(ok(cli(net, "stat", "--json", f"sj://{bucket}")))[0]
    assert bucket_info["versioning"] == "enabled" and bucket_info["object_lock"]["enabled"] is False
    ok(cli(net, "rm", f"sj://{bucket}/k"))  # a delete marker
    kinds = [v["kind"] for v in _lines(ok(cli(net, "ls", "--versions", "--json", f"sj://{bucket}")))]
    assert kinds == ["delete_marker", "object", "object"]
    err(cli(net, "cat", f"sj://{bucket}/k"), 1, "not found")
    ok(cli(net, "rm", "--version-id", old_id, f"sj://{bucket}/k"))
    assert len(_lines(ok(cli(net, "ls", "--versions", "--json", f"sj://{bucket}")))) == 2
    err(cli(net, "cat", "--version-id", "zz", f"sj://{bucket}/k"), 2, "not a version id")


def test_no_clobber_never_replaces(net: StorjNetwork, bucket: str, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_bytes(b"first")
    second.write_bytes(random_bytes(6 * MiB))
    ok(cli(net, "cp", str(first), f"sj://{bucket}/k"))
    res = ok(cli(net, "cp", "--no-clobber", "--part-size", str(5 * MiB), str(second), f"sj://{bucket}/k"))
    assert b"exists, not replaced" in res.stderr
    assert ok(cli(net, "cat", f"sj://{bucket}/k")).stdout == b"first"
    ok(cli(net, "cp", "--no-clobber", str(second), f"sj://{bucket}/fresh"))
    assert sha256(ok(cli(net, "cat", f"sj://{bucket}/fresh")).stdout) == sha256(second.read_bytes())
    res = ok(cli(net, "cp", "--no-clobber", f"sj://{bucket}/fresh", str(first)))  # local: kept too
    assert b"exists, not replaced" in res.stderr and first.read_bytes() == b"first"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    res = ok(cli(net, "cp", "--no-clobber", f"sj://{bucket}/fresh", f"sj://{bucket}/k"))  # server-side
    assert b"exists, not replaced" in res.stderr
    res = ok(cli(net, "cp", "--no-clobber", "--part-size", str(MiB), "-", f"sj://{bucket}/k", stdin=b"piped"))
    assert b"exists, not replaced" in res.stderr
    err(cli(net, "cp", "--legal-hold", f"sj://{bucket}/k", str(tmp_path / "h")), 2, "for copies to sj://")
    assert ok(cli(net, "cat", f"sj://{bucket}/k")).stdout == b"first"


def test_mv_meta_and_json_listing(net: StorjNetwork, access: Any, bucket: str) -> None:
    with access.open_project() as project:
        project.upload_bytes(bucket, "a/one", b"1", custom_metadata={"colour": "blue", "n": "1"})
        project.upload_bytes(bucket, "a/two", b"22")
    assert json.loads(ok(cli(net, "meta", "get", f"sj://{bucket}/a/one")).stdout) == {"colour": "blue", "n": "1"}
    assert ok(cli(net, "meta", "get", f"sj://{bucket}/a/one", "colour")).stdout == b"blue\n"
    err(cli(net, "meta", "get", f"sj://{bucket}/a/one", "size"), 1, "no metadata key")
    ok(cli(net, "mv", f"sj://{bucket}/a/one", f"sj://{bucket}/b/"))
    ok(cli(net, "mv", "-r", f"sj://{bucket}/a", f"sj://{bucket}/c"))
    listed = _lines(ok(cli(net, "ls", "-r", "--json", f"sj://{bucket}")))
    assert sorted((r["key"], r["size"]) for r in listed) == [("b/one", 1), ("c/two", 2)]
    assert json.loads(ok(cli(net, "meta", "get", f"sj://{bucket}/b/one")).stdout)["colour"] == "blue"
    top = _lines(ok(cli(net, "ls", "--json", f"sj://{bucket}")))
    assert sorted((r["kind"], r["key"]) for r in top) == [("prefix", "b/"), ("prefix", "c/")]
    buckets = _lines(ok(cli(net, "ls", "--json")))
    assert {"kind": "bucket", "bucket": bucket} .items() <= next(b for b in buckets if b["bucket"] == bucket).items()
    err(cli(net, "mv", f"sj://{bucket}/missing", f"sj://{bucket}/x"), 1, "no such object")
    err(cli(net, "mv", "/tmp/x", f"sj://{bucket}/x"), 2, "not an sj:// URL")
    ok(cli(net, "cp", "--metadata", '{"a": "1", "b": "two"}', "--expires", "+2h", "-", f"sj://{bucket}/m",
           stdin=b"meta"))
    assert json.loads(ok(cli(net, "meta", "get", f"sj://{bucket}/m")).stdout) == {"a": "1", "b": "two"}
    expires = _lines(ok(cli(net, "stat", "--json", f"sj://{bucket}/m")))[0]["expires"]
    assert expires is not None and expires > when_from_now(3600) and expires < when_from_now(3 * 3600)
    err(cli(net, "cp", "--metadata", "[1]", "-", f"sj://{bucket}/x", stdin=b"x"), 2, "JSON object of strings")
    err(cli(net, "cp", "--expires", "+1h", f"sj://{bucket}/m", "/tmp/never"), 2, "for uploads")


def test_rm_recursive_is_a_batch_with_per_key_failures(net: StorjNetwork, access: Any,
                                                       request: pytest.FixtureRequest) -> None:
    from uplink_py import Permission, SharePrefix

    name = unique_bucket_name(request.node.name)
    ok(cli(net, "mb", f"sj://{name}"))
    try:
        with access.open_project() as project:
            project.upload_many(name, {f"p/{i:04d}": b"x" for i in range(1_500)}, max_concurrency=64)
        readonly = access.share(Permission(allow_download=True, allow_list=True), [SharePrefix(name)]).serialize()
        text = err(cli(net, "rm", "-r", f"sj://{name}/p", access=readonly, extra_secrets=(readonly,)), 1,
                   "1500 of 1500 objects not deleted", "unauthorized")
        assert text.count("\n") == 21  # 20 keys named, then the summary
        ok(cli(net, "rm", "-r", f"sj://{name}/p"))
        assert ok(cli(net, "ls", "-r", f"sj://{name}")).stdout == b""
    finally:
        cli(net, "rb", "--force", f"sj://{name}")


def test_object_lock_from_the_command_line(net: StorjNetwork, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    name = unique_bucket_name(request.node.name)
    ok(cli(net, "mb", "--object-lock", f"sj://{name}"))
    source = tmp_path / "locked"
    source.write_bytes(b"locked bytes")
    ok(cli(net, "cp", "--retain-until", "+1h", str(source), f"sj://{name}/g"))
    ok(cli(net, "cp", "--legal-hold", str(source), f"sj://{name}/h"))
    g = _lines(ok(cli(net, "stat", "--json", f"sj://{name}/g")))[0]
    assert g["retention"]["mode"] == "governance" and g["legal_hold"] is False
    assert _lines(ok(cli(net, "stat", "--json", f"sj://{name}/h")))[0]["legal_hold"] is True
    assert _lines(ok(cli(net, "stat", "--json", f"sj://{name}")))[0]["object_lock"]["enabled"] is True
    err(cli(net, "rm", "--version-id", g["version"], f"sj://{name}/g"), 1, "Object Lock")
    ok(cli(net, "rm", "--version-id", g["version"], "--bypass-governance", f"sj://{name}/g"))
    h = _lines(ok(cli(net, "stat", "--json", f"sj://{name}/h")))[0]
    err(cli(net, "rm", "--version-id", h["version"], "--bypass-governance", f"sj://{name}/h"), 1, "Object Lock")
    err(cli(net, "cp", "--retention-mode", "compliance", str(source), f"sj://{name}/x"), 2, "--retain-until")
    # the held version stays: the bucket cannot be emptied (the network is discarded at the end)


def test_many_files_at_once_under_one_progress_bar(net: StorjNetwork, bucket: str, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    files = {f"d{i % 3}/f{i:02d}.bin": random_bytes(50_000 + i) for i in range(24)}
    for rel, data in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(data)
    env = {**os.environ, "STORJ_ACCESS": net.access}
    code, out = _run_on_tty(["cp", "-r", "-t", "8", str(tree), f"sj://{bucket}/tree"], env)
    assert code == 0, out
    _scan(out, _secrets(net), "terminal")
    assert b"cp 24/24" in out and b"/s" in out, out  # files done, and the rate
    back = tmp_path / "back"
    ok(cli(net, "cp", "-r", "-t", "8", f"sj://{bucket}/tree", str(back)))
    assert {p.relative_to(back).as_posix(): p.read_bytes() for p in back.rglob("*") if p.is_file()} == files
    err(cli(net, "cp", "-t", "0", "a", f"sj://{bucket}/k"), 2, "at least 1")
