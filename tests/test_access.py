"""Access grants: serialize/parse, satellite address, shares and their restrictions,
revocation, encryption key overrides, and the edge services (S3 credentials, linkshare URLs)."""

from __future__ import annotations

import datetime as dt
import socket

import pytest

import uplink_py
from conftest import StorjNetwork, random_bytes
from uplink_py import EncryptionKey, Uplink
from uplink_py.access import Access
from uplink_py.errors import (
    EdgeAuthDialFailedError,
    EdgeRegisterAccessFailedError,
    InternalError,
    ObjectNotFoundError,
    PermissionDeniedError,
    StorjException,
)
from uplink_py.module_classes import (
    EdgeConfig,
    EdgeRegisterAccessOptions,
    EdgeShareURLOptions,
    ListObjectsOptions,
    Permission,
    SharePrefix,
)
from uplink_py.project import Project

READ_ONLY = Permission(allow_download=True, allow_list=True)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# ---------------------------------------------------------------- serialize, parse, address


@pytest.mark.integration
def test_serialize_parse_round_trip(access: Access, project: Project, py_bucket: str) -> None:
    serialized = access.serialize()
    again = Uplink().parse_access(serialized)
    assert again.serialize() == serialized
    data = random_bytes(4097)
    project.upload_bytes(py_bucket, "k", data)
    with again.open_project() as other:
        assert other.download_bytes(py_bucket, "k") == data


@pytest.mark.integration
def test_satellite_address(storj_network: StorjNetwork, access: Access) -> None:
    assert access.satellite_address() == storj_network.satellite
    shared = access.share(READ_ONLY)
    assert shared.satellite_address() == storj_network.satellite


# ---------------------------------------------------------------- shares


@pytest.mark.integration
def test_read_only_share_cannot_upload_or_delete(access: Access, project: Project, py_bucket: str) -> None:
    data = random_bytes(1000)
    project.upload_bytes(py_bucket, "pub/a", data)
    shared = access.share(READ_ONLY, [SharePrefix(bucket=py_bucket, prefix="pub/")])
    with Uplink().parse_access(shared.serialize()).open_project() as restricted:
        assert restricted.download_bytes(py_bucket, "pub/a") == data
        assert [o.key for o in restricted.list_objects(py_bucket, ListObjectsOptions(prefix="pub/"))] == ["pub/a"]
        with pytest.raises(PermissionDeniedError):
            with restricted.upload_object(py_bucket, "pub/b") as upload:
                upload.write(b"not allowed")
        with pytest.raises(PermissionDeniedError):
            restricted.delete_object(py_bucket, "pub/a")
    with pytest.raises(ObjectNotFoundError):
        project.stat_object(py_bucket, "pub/b")
    assert project.download_bytes(py_bucket, "pub/a") == data


@pytest.mark.integration
def test_prefix_share_cannot_see_outside(access: Access, project: Project, py_bucket: str, bucket: str) -> None:
    project.upload_bytes(py_bucket, "pub/a", b"public")
    project.upload_bytes(py_bucket, "private/b", b"secret")
    project.upload_bytes(bucket, "pub/a", b"other bucket")
    shared = access.share(READ_ONLY, [SharePrefix(bucket=py_bucket, prefix="pub/")])
    with shared.open_project() as restricted:
        assert restricted.download_bytes(py_bucket, "pub/a") == b"public"
        with pytest.raises(PermissionDeniedError):
            restricted.download_bytes(py_bucket, "private/b")
        with pytest.raises(PermissionDeniedError):
            restricted.stat_object(py_bucket, "private/b")
        with pytest.raises(PermissionDeniedError):
            restricted.list_objects(py_bucket, ListObjectsOptions(prefix="private/"))
        try:
            seen = [o.key for o in restricted.list_objects(py_bucket, ListObjectsOptions(recursive=True))]
        except PermissionDeniedError:
            seen = []
        assert "private/b" not in seen
        with pytest.raises(PermissionDeniedError):
            restricted.download_bytes(bucket, "pub/a")  # another bucket


@pytest.mark.integration
def test_full_share_of_one_bucket_can_write_there_only(access: Access, py_bucket: str, bucket: str) -> None:
    everything = Permission(allow_download=True, allow_upload=True, allow_list=True, allow_delete=True)
    shared = access.share(everything, [SharePrefix(bucket=py_bucket)])
    with shared.open_project() as restricted:
        restricted.upload_bytes(py_bucket, "any/key", b"ok")
        assert restricted.download_bytes(py_bucket, "any/key") == b"ok"
        restricted.delete_object(py_bucket, "any/key")
        with pytest.raises(PermissionDeniedError):
            restricted.upload_bytes(bucket, "k", b"no")


@pytest.mark.integration
def test_not_after_in_the_past_denies(access: Access, project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "k", b"data")
    expired = access.share(Permission(allow_download=True, allow_list=True, not_after=now() - dt.timedelta(hours=1)))
    with expired.open_project() as restricted, pytest.raises(PermissionDeniedError):
        restricted.download_bytes(py_bucket, "k")
    not_yet = access.share(Permission(allow_download=True, allow_list=True,
                                      not_before=now() + dt.timedelta(hours=1)))
    with not_yet.open_project() as restricted, pytest.raises(PermissionDeniedError):
        restricted.download_bytes(py_bucket, "k")
    valid = access.share(Permission(allow_download=True, allow_list=True, not_before=now() - dt.timedelta(hours=1),
                                    not_after=now() + dt.timedelta(hours=1)))
    with valid.open_project() as restricted:
        assert restricted.download_bytes(py_bucket, "k") == b"data"


@pytest.mark.integration
def test_revoke_access(access: Access, project: Project, py_bucket: str) -> None:
    project.upload_bytes(py_bucket, "k", b"data")
    shared = access.share(READ_ONLY, [SharePrefix(bucket=py_bucket)])
    with shared.open_project() as restricted:
        assert restricted.download_bytes(py_bucket, "k") == b"data"
    assert project.revoke_access(shared) is None
    with shared.open_project() as restricted, pytest.raises(PermissionDeniedError):
        restricted.download_bytes(py_bucket, "k")
    assert project.download_bytes(py_bucket, "k") == b"data"  # the parent still works


# ---------------------------------------------------------------- encryption keys


@pytest.mark.integration
def test_override_encryption_key(access: Access, project: Project, py_bucket: str) -> None:
    key = uplink_py.derive_encryption_key("another passphrase", b"salt-1234")
    assert isinstance(key, EncryptionKey)
    assert "another passphrase" not in repr(key)

    overridden = Uplink().parse_access(access.serialize())
    assert overridden.override_encryption_key(py_bucket, "vault/", key) is None
    data = random_bytes(20_000)
    with overridden.open_project() as other:
        other.upload_bytes(py_bucket, "vault/secret.bin", data)
        assert other.download_bytes(py_bucket, "vault/secret.bin") == data

    # The original key cannot read what the overridden key wrote.
    with pytest.raises(ObjectNotFoundError):
        project.download_bytes(py_bucket, "vault/secret.bin")

    # The same passphrase and salt derive the same key; the override survives serialization.
    again = Uplink().parse_access(access.serialize())
    again.override_encryption_key(py_bucket, "vault/", uplink_py.derive_encryption_key("another passphrase",
                                                                                        bytearray(b"salt-1234")))
    for reader in (again, Uplink().parse_access(overridden.serialize())):
        with reader.open_project() as other:
            assert other.download_bytes(py_bucket, "vault/secret.bin") == data

    # Another salt gives another key.
    wrong = Uplink().parse_access(access.serialize())
    wrong.override_encryption_key(py_bucket, "vault/", uplink_py.derive_encryption_key("another passphrase",
                                                                                        b"salt-9999"))
    with wrong.open_project() as other, pytest.raises(ObjectNotFoundError):
        other.download_bytes(py_bucket, "vault/secret.bin")


@pytest.mark.integration
def test_override_encryption_key_needs_a_prefix_ending_in_slash(access: Access) -> None:
    key = uplink_py.derive_encryption_key("p", b"s")
    copy = Uplink().parse_access(access.serialize())
    with pytest.raises(InternalError, match="slash"):
        copy.override_encryption_key("bucket", "no-slash", key)


# ---------------------------------------------------------------- edge services


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_register_access_against_a_dead_address(access: Access) -> None:
    """storj.io/uplink/edge dials lazily (drpc): a refused connection surfaces on the register
    RPC, which edge reports as ErrRegisterAccessFailed; an address it cannot even dial (no
    port, TLS) is ErrAuthDialFailed. uplink_py keeps that classification."""
    port = free_loopback_port()  # closed again: nothing listens there
    for insecure in (True, False):
        config = EdgeConfig(auth_service_address=f"127.0.0.1:{port}", insecure_unencrypted_connection=insecure)
        with pytest.raises(EdgeRegisterAccessFailedError) as failed:
            access.register_access(config, EdgeRegisterAccessOptions(is_public=True))
        assert failed.value.code == 0x31 and "connection refused" in failed.value.message
        assert access.serialize() not in str(failed.value) + (failed.value.details or "")
    with pytest.raises(EdgeAuthDialFailedError) as dial:
        access.register_access(EdgeConfig(auth_service_address="no-port"))
    assert dial.value.code == 0x30 and "missing port" in dial.value.message
    with pytest.raises(InternalError, match="AuthServiceAddress is missing"):
        access.register_access(EdgeConfig())


def test_join_share_url() -> None:
    join = uplink_py.join_share_url
    base = "https://link.example.test"
    assert join(base, "akid", "bucket", "dir/file.txt") == "https://link.example.test/s/akid/bucket/dir/file.txt"
    assert join(base + "/", "akid", "bucket", "") == "https://link.example.test/s/akid/bucket"
    assert join(base, "akid", "", "") == "https://link.example.test/s/akid"
    assert join(base, "akid", "bucket", "dir/") == "https://link.example.test/s/akid/bucket/dir/"
    assert (join(base, "akid", "bucket", "dir/file.txt", EdgeShareURLOptions(raw=True))
            == "https://link.example.test/raw/akid/bucket/dir/file.txt")
    assert join(base, "akid", "bucket", "my file ü.txt") == "https://link.example.test/s/akid/bucket/my%20file%20%C3%BC.txt"
    assert join("http://127.0.0.1:8080/base", "akid", "b", "k") == "http://127.0.0.1:8080/base/s/akid/b/k"


@pytest.mark.parametrize(
    ("args", "options"),
    [
        (("https://link.example.test", "", "bucket", "key"), None),  # no access key id
        (("https://link.example.test", "akid", "", "key"), None),  # a key without a bucket
        (("https://link.example.test", "akid", "bucket", "dir/"), EdgeShareURLOptions(raw=True)),  # raw prefix
        (("https://link.example.test", "akid", "bucket", ""), EdgeShareURLOptions(raw=True)),  # raw, no key
        (("not a url", "akid", "bucket", "key"), None),
    ],
    ids=["no-access-key", "key-without-bucket", "raw-prefix", "raw-without-key", "bad-base-url"],
)
def test_join_share_url_rejects(args: tuple[str, str, str, str], options: EdgeShareURLOptions | None) -> None:
    with pytest.raises((StorjException, ValueError)):
        uplink_py.join_share_url(*args, options)
