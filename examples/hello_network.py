"""Hello, local Storj network: the seed's tour, driven through the Go uplink CLI.

uplink_py's own hello example (examples/hello_storj.py) needs the native
extension, which waits on uplink-c (issue #2). Until then this shows the
network doing the same tour for a real client: list buckets, create a bucket,
upload a file, download and verify it, list objects, share a read-only access
and use it, clean up.

Run after `scripts/testnet up` and `eval "$(scripts/testnet env)"`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path


def uplink(*args: str, access: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    cli = os.environ["STORJ_TEST_UPLINK_CLI"]
    grant = access or os.environ["STORJ_TEST_ACCESS"]
    with tempfile.TemporaryDirectory() as config_dir:
        env = {**os.environ, "UPLINK_CONFIG_DIR": config_dir, "UPLINK_INTERACTIVE": "false", "UPLINK_ANALYTICS": "false"}
        res = subprocess.run([cli, args[0], "--access", grant, *args[1:]], env=env, capture_output=True, text=True)
    if check and res.returncode != 0:
        sys.exit(f"uplink {args[0]} failed: {res.stderr.strip()}".replace(grant, "<access>"))
    return res


def main() -> None:
    missing = [k for k in ("STORJ_TEST_ACCESS", "STORJ_TEST_UPLINK_CLI") if not os.environ.get(k)]
    if missing:
        sys.exit(f"{', '.join(missing)} not set: run scripts/testnet up, then eval \"$(scripts/testnet env)\"")

    print("satellite:", os.environ.get("STORJ_TEST_SATELLITE", "?"))
    buckets = [line for line in uplink("ls").stdout.splitlines()[1:] if line.strip()]
    print(f"buckets before: {len(buckets)}")

    bucket = f"sj://hello-{secrets.token_hex(4)}"
    uplink("mb", bucket)
    print(f"created {bucket}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp, "hello.bin"), Path(tmp, "hello.out")
            src.write_bytes(os.urandom(1024 * 1024) + b"hello storj")
            uplink("cp", "--progress=false", str(src), f"{bucket}/docs/hello.bin")
            uplink("cp", "--progress=false", f"{bucket}/docs/hello.bin", str(dst))
            digest = hashlib.sha256(src.read_bytes()).hexdigest()
            if hashlib.sha256(dst.read_bytes()).hexdigest() != digest:
                sys.exit("downloaded bytes differ from uploaded bytes")
            print(f"uploaded and downloaded {src.stat().st_size} bytes, sha256 {digest[:16]}... matches")

            print("objects:", uplink("ls", "--recursive", bucket).stdout.split("\n", 1)[1].strip())

            out = uplink("share", "--readonly", "--not-after=+1h", f"{bucket}/docs/").stdout
            shared = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Access "))
            uplink("cp", "--progress=false", f"{bucket}/docs/hello.bin", str(dst), access=shared)
            denied = uplink("cp", "--progress=false", str(src), f"{bucket}/docs/new.bin", access=shared, check=False)
            if denied.returncode == 0:
                sys.exit("a read-only access could upload")
            print("read-only share: download allowed, upload refused")
    finally:
        uplink("rb", "--force", bucket)
        print(f"removed {bucket}")
    print("hello example: ok")


if __name__ == "__main__":
    main()
