"""Cross-checks with the Go uplink CLI built from the same pin: what uplink_py writes the CLI
reads byte for byte (custom metadata too), and the other way round."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import StorjNetwork, random_bytes, sha256
from uplink_py.module_classes import DownloadOptions, ListObjectsOptions
from uplink_py.project import Project

pytestmark = pytest.mark.integration

# (Storj refuses NUL bytes and invalid UTF-8 in metadata: see test_objects.test_metadata_storj_refuses)
METADATA = {"content-type": "application/x-test", "ünïcode": "välue ✓ 日本", "tab\tkey": "line\nbreak", "empty": ""}


@pytest.mark.parametrize("size", [0, 1_000_003], ids=["empty", "1MB+3"])
def test_python_writes_cli_reads(storj_network: StorjNetwork, project: Project, bucket: str, tmp_path: Path,
                                 size: int) -> None:
    data = random_bytes(size)
    project.upload_bytes(bucket, "dir/from-python", data, custom_metadata=METADATA)
    dst = tmp_path / "dst"
    storj_network.uplink("cp", "--progress=false", f"sj://{bucket}/dir/from-python", str(dst))
    assert dst.stat().st_size == size and sha256(dst.read_bytes()) == sha256(data)
    got = json.loads(storj_network.uplink("meta", "get", f"sj://{bucket}/dir/from-python").stdout)
    assert got == METADATA
    listed = storj_network.ls("--recursive", f"sj://{bucket}")
    assert [(e["key"], e["size"]) for e in listed] == [("dir/from-python", size)]


def test_cli_writes_python_reads(storj_network: StorjNetwork, project: Project, bucket: str, tmp_path: Path) -> None:
    data = random_bytes(2_000_017)
    src = tmp_path / "src"
    src.write_bytes(data)
    meta = METADATA
    storj_network.uplink("cp", "--progress=false", "--metadata", json.dumps(meta), str(src),
                         f"sj://{bucket}/from-cli")
    assert sha256(project.download_bytes(bucket, "from-cli")) == sha256(data)
    assert project.download_bytes(bucket, "from-cli", DownloadOptions(offset=999_999, length=1001)) == \
        data[999_999:1_001_000]
    stat = project.stat_object(bucket, "from-cli")
    assert stat.system.content_length == len(data)
    assert stat.custom.to_dict() == meta
    listed = project.list_objects(bucket, ListObjectsOptions(recursive=True, system=True, custom=True))
    assert [(o.key, o.system.content_length, o.custom.to_dict()) for o in listed] == [("from-cli", len(data), meta)]


def test_python_multipart_cli_reads(storj_network: StorjNetwork, project: Project, bucket: str,
                                    tmp_path: Path) -> None:
    parts = [random_bytes(150_001), random_bytes(70_003)]
    info = project.begin_upload(bucket, "multi")
    for number in (2, 1):
        with project.upload_part(bucket, "multi", info.upload_id, number) as part:
            part.write(parts[number - 1])
    project.commit_upload(bucket, "multi", info.upload_id, {"parts": "2"})
    storj_network.uplink("cp", "--progress=false", f"sj://{bucket}/multi", str(tmp_path / "dst"))
    assert sha256((tmp_path / "dst").read_bytes()) == sha256(parts[0] + parts[1])
    assert json.loads(storj_network.uplink("meta", "get", f"sj://{bucket}/multi").stdout) == {"parts": "2"}


def test_python_updates_metadata_cli_sees_it(storj_network: StorjNetwork, project: Project, bucket: str,
                                             tmp_path: Path) -> None:
    (tmp_path / "src").write_bytes(b"content")
    storj_network.uplink("cp", "--progress=false", "--metadata", json.dumps({"before": "1"}), str(tmp_path / "src"),
                         f"sj://{bucket}/obj")
    after = {"after": "2", "nul": "a\x00b", "k\x00": "ü"}  # an update may carry NUL bytes
    project.update_object_metadata(bucket, "obj", after)
    assert json.loads(storj_network.uplink("meta", "get", f"sj://{bucket}/obj").stdout) == after
    project.move_object(bucket, "obj", bucket, "moved/obj")
    assert [e["key"] for e in storj_network.ls("--recursive", f"sj://{bucket}")] == ["moved/obj"]
    storj_network.uplink("cp", "--progress=false", f"sj://{bucket}/moved/obj", str(tmp_path / "dst"))
    assert (tmp_path / "dst").read_bytes() == b"content"


def test_python_share_works_in_the_cli(storj_network: StorjNetwork, access, project: Project, bucket: str,  # type: ignore[no-untyped-def]
                                       tmp_path: Path) -> None:
    from uplink_py.module_classes import Permission, SharePrefix

    project.upload_bytes(bucket, "pub/a", b"public")
    shared = access.share(Permission(allow_download=True, allow_list=True), [SharePrefix(bucket=bucket, prefix="pub/")])
    storj_network.uplink("cp", "--progress=false", f"sj://{bucket}/pub/a", str(tmp_path / "a"),
                         access=shared.serialize())
    assert (tmp_path / "a").read_bytes() == b"public"
    (tmp_path / "b").write_bytes(b"no")
    denied = storj_network.uplink("cp", "--progress=false", str(tmp_path / "b"), f"sj://{bucket}/pub/b",
                                  access=shared.serialize(), check=False)
    assert denied.returncode != 0 and "permission denied" in (denied.stdout + denied.stderr).lower()
