"""The README's examples run as written, in order, against the local network."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, StorjNetwork

BUCKET = "readme-demo"


def example_blocks() -> list[tuple[str, str]]:
    text = (REPO / "README.md").read_text()
    section = text.split("<!-- examples:start -->", 1)[1].split("<!-- examples:end -->", 1)[0]
    return re.findall(r"```(python|bash)\n(.*?)```", section, flags=re.S)


def test_readme_has_examples_of_every_feature() -> None:
    code = "\n".join(body for _, body in example_blocks())
    for feature in ("readinto", "download_into", "sj://", "LocalCluster", "aio.open_project", "ObjectLoader",
                    "uplink-py cp", "share(", "list_versions", "if_none_match=True", "delete_objects",
                    "create_bucket_with_object_lock", "legal_hold=True", "bypass_governance=True",
                    "--no-clobber", "--versions", "uplink-py mv", "meta get", "access import"):
        assert feature in code, feature


@pytest.mark.integration
def test_readme_examples_run(storj_network: StorjNetwork, tmp_path: Path) -> None:
    env = {**os.environ, "STORJ_ACCESS": storj_network.access}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # uplink-py's script
    blocks = example_blocks()
    try:
        for number, (language, body) in enumerate(blocks, start=1):
            if language == "python":
                script = tmp_path / f"example_{number}.py"
                script.write_text(body)
                cmd = [sys.executable, str(script)]
            else:
                cmd = ["bash", "-euo", "pipefail", "-c", body]
            res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
            output = (res.stdout + res.stderr).replace(storj_network.access, "<access>")
            assert res.returncode == 0, f"README example {number} ({language}) failed:\n{body}\n{output}"
            assert storj_network.access not in res.stderr
        # The last block removed the bucket; the shared grant of `share` was written to a file.
        assert (tmp_path / "readonly-grant.txt").read_text().strip()
        assert BUCKET not in storj_network.uplink("ls").stdout
    finally:
        storj_network.uplink("rb", "--force", f"sj://{BUCKET}", check=False)
