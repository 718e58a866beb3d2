"""scripts/fetch-go unpacks a Go toolchain only when its SHA-256 is the pinned one."""

from __future__ import annotations

import http.server
import io
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO

SCRIPT = REPO / "scripts" / "fetch-go"


@pytest.fixture
def fake_proxy() -> Iterator[str]:
    """A module proxy on loopback that serves a toolchain zip that is not Go's."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("golang.org/toolchain@v0.0.1-go0.0.0.linux-amd64/bin/go", "#!/bin/sh\necho tampered\n")
    body = buffer.getvalue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def run(*args: str, proxy: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "GOPROXY": proxy})


def test_a_toolchain_that_is_not_the_pinned_one_is_not_unpacked(fake_proxy: str, tmp_path: Path) -> None:
    dest = tmp_path / "go"
    res = run(str(dest), "--os", "linux", "--arch", "amd64", proxy=fake_proxy)
    assert res.returncode != 0 and "not unpacked" in res.stderr, res.stderr
    assert not dest.exists()


def test_a_platform_without_a_pinned_hash_is_refused(fake_proxy: str, tmp_path: Path) -> None:
    res = run(str(tmp_path / "go"), "--os", "plan9", "--arch", "amd64", proxy=fake_proxy)
    assert res.returncode != 0 and "no SHA-256" in res.stderr, res.stderr
    assert not (tmp_path / "go").exists()
