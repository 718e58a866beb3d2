"""``ls``, ``stat``, ``meta``, ``rm``, ``mb``, ``rb`` and ``share``: buckets, objects and
their versions, with ``--json`` output (one JSON object per line) for scripts."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from .. import engine, errors
from ..module_classes import (
    BucketVersioning,
    ListObjectsOptions,
    Object,
    ObjectVersion,
    Permission,
    SharePrefix,
)
from .common import (
    EXIT_USAGE,
    CliError,
    Remote,
    about,
    json_line,
    parse_duration,
    parse_remote,
    parse_time,
    require_remote,
    when,
)
from .transfers import list_keys

if TYPE_CHECKING:
    import argparse

    from . import Session


def object_record(bucket: str, obj: Object) -> dict[str, Any]:
    """What --json prints for an object (or a version, or a prefix)."""
    if obj.is_prefix:
        return {"kind": "prefix", "bucket": bucket, "key": obj.key}
    record: dict[str, Any] = {
        "kind": "object", "bucket": bucket, "key": obj.key, "size": obj.system.content_length,
        "created": when(obj.system.created), "expires": when(obj.system.expires) if obj.system.expires else None,
        "version": obj.version,
    }
    if isinstance(obj, ObjectVersion):
        record.update(is_latest=obj.is_latest, is_delete_marker=obj.is_delete_marker)
        if obj.is_delete_marker:
            record["kind"] = "delete_marker"
        if obj.legal_hold is not None:
            record["legal_hold"] = obj.legal_hold
        if obj.retention is not None:
            record["retention"] = obj.retention.get_dict() if obj.retention else None
    return record


def cmd_ls(session: Session, args: argparse.Namespace) -> None:
    project = session.project
    out = sys.stdout
    remote = parse_remote(args.url, need_bucket=False) if args.url else Remote("", "")
    if remote is None:
        raise CliError(f"{args.url}: not an sj:// URL", EXIT_USAGE)
    if not remote.bucket:
        if args.versions:
            raise CliError("ls --versions needs a bucket (sj://BUCKET[/PREFIX/])", EXIT_USAGE)
        with about("buckets"):
            for bucket in project.iter_buckets():
                if args.json:
                    json_line({"kind": "bucket", "bucket": bucket.name, "created": when(bucket.created)})
                else:
                    out.write(f"BKT  {when(bucket.created)}  {bucket.name}\n")
        return
    options = ListObjectsOptions(prefix=remote.as_prefix(), recursive=args.recursive, system=True)
    with about(remote):
        listing = project.iter_versions(remote.bucket, options) if args.versions else \
            project.iter_objects(remote.bucket, options)
        for obj in listing:
            if args.json:
                json_line(object_record(remote.bucket, obj))
            elif obj.is_prefix:
                out.write(f"PRE  {obj.key}\n")
            elif args.versions:
                assert isinstance(obj, ObjectVersion)
                kind = "DEL" if obj.is_delete_marker else "OBJ"
                latest = "latest" if obj.is_latest else "      "
                out.write(f"{kind}  {when(obj.system.created)}  {obj.system.content_length:>12}  {obj.version}  "
                          f"{latest}  {obj.key}\n")
            else:
                out.write(f"OBJ  {when(obj.system.created)}  {obj.system.content_length:>12}  {obj.key}\n")


def cmd_stat(session: Session, args: argparse.Namespace) -> None:
    """An object's (or version's) metadata and lock state, or a bucket's settings."""
    project = session.project
    remote = require_remote(args.url)
    if not remote.key:
        with about(remote):
            bucket = project.stat_bucket(remote.bucket)
            versioning = project.get_bucket_versioning(remote.bucket)
            try:  # a grant may not read it (share --object-lock), a satellite may not have it
                lock: Any = project.get_bucket_object_lock(remote.bucket).get_dict()
            except (errors.PermissionDeniedError, errors.ObjectLockInvalidError, errors.UnimplementedError):
                lock = "unknown"
        record: dict[str, Any] = {"kind": "bucket", "bucket": bucket.name, "created": when(bucket.created),
                                  "versioning": BucketVersioning(versioning).name.lower(), "object_lock": lock}
    else:
        with about(remote):
            version = project.stat_version(remote.bucket, remote.key, args.version_id)
        record = object_record(remote.bucket, version)
        record["metadata"] = version.custom.to_dict()
    if args.json:
        json_line(record)
        return
    for name, value in record.items():
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value
        sys.stdout.write(f"{name:<18} {'-' if text is None else text}\n")


def cmd_meta(session: Session, args: argparse.Namespace) -> None:
    """``meta get URL [KEY]``: the custom metadata as JSON, or one value."""
    remote = require_remote(args.url, key=True)
    with about(remote):
        metadata = session.project.stat_object(remote.bucket, remote.key, version=args.version_id).custom.to_dict()
    if args.key is None:
        sys.stdout.write(json.dumps(metadata, sort_keys=True, ensure_ascii=False) + "\n")
    elif args.key in metadata:
        sys.stdout.write(metadata[args.key] + "\n")
    else:
        raise CliError(f"{remote}: no metadata key {args.key!r}")


def cmd_rm(session: Session, args: argparse.Namespace) -> None:
    project = session.project
    remote = require_remote(args.url)
    if args.recursive:
        if args.version_id:
            raise CliError("--version-id names one version of one object (not with --recursive)", EXIT_USAGE)
        objects = list_keys(project, remote)
        if not objects:
            raise CliError(f"{remote}: no objects under this prefix")
        with about(remote):  # 1,000 keys per request
            results = engine.delete_objects(project, remote.bucket, [key for key, _ in objects],
                                            bypass_governance=args.bypass_governance)
        failed = [r for r in results if not r.ok]
        for r in failed[:20]:
            sys.stderr.write(f"uplink-py: {remote.child(r.key)}: not deleted ({r.status.name.lower()})\n")
        if failed:
            raise CliError(f"{remote}: {len(failed)} of {len(results)} objects not deleted")
        return
    if not remote.key:
        raise CliError(f"{remote}: the URL names a bucket (use rb, or rm --recursive)", EXIT_USAGE)
    with about(remote):
        if args.version_id or args.bypass_governance:
            deleted: Object | None = project.delete_version(remote.bucket, remote.key, args.version_id,
                                                            bypass_governance=args.bypass_governance)
        else:
            deleted = project.delete_object(remote.bucket, remote.key)
    if deleted is None:
        raise CliError(f"{remote}: no such object")


def cmd_mb(session: Session, args: argparse.Namespace) -> None:
    project = session.project
    remote = require_remote(args.url, key=False)
    with about(remote):
        if args.object_lock:
            project.create_bucket_with_object_lock(remote.bucket)  # versioning comes with it
        else:
            project.create_bucket(remote.bucket)
            if args.versioning:
                project.set_bucket_versioning(remote.bucket, True)


def cmd_rb(session: Session, args: argparse.Namespace) -> None:
    project = session.project
    remote = require_remote(args.url, key=False)
    with about(remote):
        if args.force:
            project.delete_bucket_with_objects(remote.bucket)
        else:
            project.delete_bucket(remote.bucket)


def cmd_share(session: Session, args: argparse.Namespace) -> None:
    permission = Permission(
        allow_download=not args.writeonly,
        allow_list=not args.writeonly,
        allow_upload=not args.readonly,
        allow_delete=not args.readonly,
        not_before=parse_time(args.not_before) if args.not_before else 0,
        not_after=parse_time(args.not_after) if args.not_after else 0,
        allow_put_object_retention=args.object_lock and not args.readonly,
        allow_get_object_retention=args.object_lock and not args.writeonly,
        allow_put_object_legal_hold=args.object_lock and not args.readonly,
        allow_get_object_legal_hold=args.object_lock and not args.writeonly,
        allow_bypass_governance_retention=args.bypass_governance,
        allow_put_bucket_object_lock_configuration=args.object_lock and not args.readonly,
        allow_get_bucket_object_lock_configuration=args.object_lock and not args.writeonly,
        max_object_ttl=parse_duration(args.max_object_ttl) if args.max_object_ttl else None,
    )
    shared = [SharePrefix(p.bucket, p.key) for p in (require_remote(p) for p in args.prefix)]
    with about("share"):
        grant = session.access.share(permission, shared).serialize()
    sys.stdout.write(grant + "\n")  # the one place a grant is printed: it is what share is for

