"""Hello, Storj: a tour of uplink_py.

List buckets, create a bucket, upload a file, download it and verify it, list objects,
share a restricted access (read-only, one prefix) and use it, clean up.

Against the local network of this repository:

    scripts/testnet up
    eval "$(scripts/testnet env)"
    python3 examples/hello_storj.py

It reads STORJ_TEST_SATELLITE, STORJ_TEST_API_KEY and STORJ_TEST_PASSPHRASE (or a serialized
access grant in STORJ_TEST_ACCESS) from the environment, and exits non-zero on any failure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import sys
import tempfile
from pathlib import Path

from uplink_py import Access, ListObjectsOptions, Permission, SharePrefix, Uplink
from uplink_py.errors import PermissionDeniedError, StorjException


class TourFailed(Exception):
    """A step gave a wrong result."""


def step(text: str) -> None:
    print(f"- {text}", flush=True)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def get_access() -> Access | None:
    env = os.environ
    uplink = Uplink()
    if all(env.get(k) for k in ("STORJ_TEST_SATELLITE", "STORJ_TEST_API_KEY", "STORJ_TEST_PASSPHRASE")):
        step("requesting an access grant from the satellite with the API key and passphrase")
        return uplink.request_access_with_passphrase(
            env["STORJ_TEST_SATELLITE"], env["STORJ_TEST_API_KEY"], env["STORJ_TEST_PASSPHRASE"]
        )
    if env.get("STORJ_TEST_ACCESS"):
        step("parsing the access grant of STORJ_TEST_ACCESS")
        return uplink.parse_access(env["STORJ_TEST_ACCESS"])
    return None


def tour(access: Access, workdir: Path) -> None:
    print(f"satellite: {access.satellite_address()}")
    with access.open_project() as project:
        buckets = project.list_buckets()
        step(f"{len(buckets)} bucket(s) before: {', '.join(b.name for b in buckets[:5]) or '(none)'}"
             + (" ..." if len(buckets) > 5 else ""))

        bucket = f"hello-storj-{secrets.token_hex(4)}"
        created = project.create_bucket(bucket)
        step(f"created bucket {created.name} at {created.created_at:%Y-%m-%d %H:%M:%S %Z}")
        try:
            # Upload a local file, with some custom metadata.
            src, dst = workdir / "hello.bin", workdir / "hello.out"
            src.write_bytes(os.urandom(3 * 1024 * 1024) + b"\nhello, storj\n")
            with open(src, "rb") as file, project.upload_object(bucket, "docs/hello.bin") as upload:
                upload.set_custom_metadata({"content-type": "application/octet-stream", "greeting": "hello"})
                upload.write_file(file)  # committed when the with block ends without an error
            info = upload.info()
            step(f"uploaded {src.name} as docs/hello.bin: {info.system.content_length} bytes")
            project.upload_bytes(bucket, "notes/private.txt", b"not for sharing\n")

            # Download it again and check every byte.
            with open(dst, "wb") as file, project.download_object(bucket, "docs/hello.bin") as download:
                download.read_file(file)
            want, got = file_sha256(src), file_sha256(dst)
            if got != want:
                raise TourFailed(f"downloaded sha256 {got} differs from uploaded sha256 {want}")
            step(f"downloaded it again: sha256 {got[:16]}... matches")

            # List the bucket.
            step("objects:")
            for obj in project.iter_objects(bucket, ListObjectsOptions(recursive=True, system=True, custom=True)):
                print(f"    {obj.key:<22} {obj.system.content_length:>9} bytes  {obj.custom.to_dict()}")

            # Share a restricted access: read-only, only docs/, valid for an hour.
            permission = Permission(allow_download=True, allow_list=True,
                                    not_after=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
            shared = access.share(permission, [SharePrefix(bucket=bucket, prefix="docs/")])
            serialized = shared.serialize()  # what you would hand to someone else (a secret)
            step(f"shared a read-only access to sj://{bucket}/docs/ ({len(serialized)} characters)")
            with Uplink().parse_access(serialized).open_project() as restricted:
                data = restricted.download_bytes(bucket, "docs/hello.bin")
                if hashlib.sha256(data).hexdigest() != want:
                    raise TourFailed("the shared access downloaded different bytes")
                step("with the shared access: the download works")
                try:
                    restricted.upload_bytes(bucket, "docs/new.bin", b"should not be stored")
                except PermissionDeniedError:
                    step("with the shared access: an upload is refused (PermissionDeniedError)")
                else:
                    raise TourFailed("the read-only access could upload")
                try:
                    restricted.download_bytes(bucket, "notes/private.txt")
                except PermissionDeniedError:
                    step("with the shared access: notes/ outside the shared prefix is refused")
                else:
                    raise TourFailed("the shared access could read outside its prefix")
        finally:
            project.delete_bucket_with_objects(bucket)
            step(f"deleted bucket {bucket} and its objects")


def main() -> int:
    try:
        access = get_access()
        if access is None:
            print("set STORJ_TEST_SATELLITE, STORJ_TEST_API_KEY and STORJ_TEST_PASSPHRASE (or STORJ_TEST_ACCESS): "
                  'run scripts/testnet up, then eval "$(scripts/testnet env)"', file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory() as workdir:
            tour(access, Path(workdir))
    except (StorjException, TourFailed, OSError) as exc:
        print(f"hello_storj: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print("hello_storj: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
