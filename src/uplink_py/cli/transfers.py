"""``cp``, ``mv`` and ``cat``: transfers, many files at once under one progress bar."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from .. import engine, errors
from ..module_classes import ListObjectsOptions, Retention, RetentionMode, UploadOptions
from .common import EXIT_USAGE, Callback, CliError, Progress, Remote, about, note, parse_remote, parse_time

if TYPE_CHECKING:
    import argparse

    from ..project import Project
    from . import Session


@dataclass(frozen=True)
class Job:
    """One transfer: its size (0 if unknown), what it is, and how to run it (given a
    progress callback); ``run`` returns False when --no-clobber skipped it."""

    size: int
    name: str
    run: Callable[[Callback], bool]


def list_keys(project: Project, remote: Remote) -> list[tuple[str, int]]:
    """(key, size) of every object under the remote's prefix."""
    options = ListObjectsOptions(prefix=remote.as_prefix(), recursive=True, system=True)
    with about(remote):
        return [(o.key, o.system.content_length) for o in project.iter_objects(remote.bucket, options)
                if not o.is_prefix]


def _safe_target(root: Path, relative: str) -> Path:
    """root/relative, refusing keys that would land outside root (``..``, absolute)."""
    parts = [p for p in relative.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts) or "\\" in relative:
        raise CliError(f"{relative!r}: refusing an object key that is not a plain relative path")
    return root.joinpath(*parts)


def _conditions(args: argparse.Namespace) -> engine.WriteConditions:
    """The lock and create-if-absent options of the objects cp writes to Storj."""
    retention = None
    if args.retention_mode and not args.retain_until:
        raise CliError("--retention-mode needs --retain-until", EXIT_USAGE)
    if args.retain_until:
        retention = Retention(RetentionMode[(args.retention_mode or "governance").upper()],
                              parse_time(args.retain_until))
    return engine.WriteConditions(retention, args.legal_hold, args.no_clobber)


def cmd_cp(session: Session, args: argparse.Namespace) -> None:
    project = session.project
    src, dst = parse_remote(args.src), parse_remote(args.dst)
    progress_on = args.progress if args.progress is not None else sys.stderr.isatty()
    if src is None and dst is None:
        raise CliError("one of SRC and DST must be an sj:// URL (use your shell's cp for local copies)", EXIT_USAGE)
    if args.version_id and (src is None or args.recursive):
        raise CliError("--version-id names one version of one sj:// source object", EXIT_USAGE)
    if dst is None and (args.retain_until or args.retention_mode or args.legal_hold):
        raise CliError("--retain-until, --retention-mode and --legal-hold are for copies to sj://", EXIT_USAGE)
    if (args.expires or args.metadata) and (src is not None or dst is None):
        raise CliError("--expires and --metadata are for uploads (a local file or stdin to sj://)", EXIT_USAGE)
    tuning = engine.Tuning(args.parallelism, args.part_size)
    if src is None:
        assert dst is not None
        jobs = _upload_jobs(project, args, tuning, Path(args.src) if args.src != "-" else None, dst)
    elif dst is None:
        jobs = _download_jobs(project, args, tuning, src, Path(args.dst) if args.dst != "-" else None)
    else:
        jobs = _copy_jobs(project, args, src, dst)
        progress_on = False  # server-side: no bytes pass through here
    total = sum(job.size for job in jobs)
    bar = Progress(progress_on and total > 0, total, "cp", files=len(jobs))

    def run(job: Job) -> None:
        if not job.run(bar.callback()):
            note(f"{job.name}: exists, not replaced (--no-clobber)")
        bar.file_done()

    try:
        # A failure (or Ctrl-C) stops the rest; a transfer stopped midway commits nothing.
        engine.run_tasks([partial(run, job) for job in jobs], args.transfers, engine.CancelScope())
    finally:
        bar.close()


def _upload_settings(args: argparse.Namespace) -> tuple[UploadOptions | None, dict[str, str] | None]:
    """--expires and --metadata."""
    options = UploadOptions(expires=parse_time(args.expires)) if args.expires else None
    if not args.metadata:
        return options, None
    try:
        metadata = json.loads(args.metadata)
    except ValueError as exc:
        raise CliError(f"--metadata: not JSON ({exc})", EXIT_USAGE) from None
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CliError('--metadata takes a JSON object of strings, e.g. \'{"k": "v"}\'', EXIT_USAGE)
    return options, metadata


def _upload_jobs(project: Project, args: argparse.Namespace, tuning: engine.Tuning, src: Path | None,
                 dst: Remote) -> list[Job]:
    conditions = _conditions(args)
    options, metadata = _upload_settings(args)
    if src is None:  # stdin, streamed
        if not dst.key or dst.key.endswith("/"):
            raise CliError("cp from stdin needs a full object URL (sj://BUCKET/KEY)", EXIT_USAGE)

        def from_stdin(progress: Callback) -> bool:
            # parts go up while stdin is read (memory: up to parallelism + 1 parts); committed
            # only once it ended and every part is in. Below Storj's 5 MiB parts: one stream.
            parallel = tuning.max_concurrency if tuning.part_size >= engine.MIN_PART_SIZE else 1
            try:
                with about(dst), project.open_writer(dst.bucket, dst.key, options, metadata, max_concurrency=parallel,
                                                     part_size=tuning.part_size, **conditions.all()) as writer:
                    pump(sys.stdin.buffer.readinto, writer.write, progress)  # type: ignore[union-attr]  # a BufferedReader
            except CliError as exc:
                return _skipped(exc)
            return True

        return [Job(0, str(dst), from_stdin)]
    if src.is_dir():
        if not args.recursive:
            raise CliError(f"{src}: is a directory (use --recursive)", EXIT_USAGE)
        prefix = dst.as_prefix()
        with about(src):
            files = sorted(p for p in src.rglob("*") if p.is_file())
        return [_upload_job(project, tuning, conditions, options, metadata, path,
                            dst.child(prefix + path.relative_to(src).as_posix())) for path in files]
    key = dst.key + src.name if not dst.key or dst.key.endswith("/") else dst.key
    return [_upload_job(project, tuning, conditions, options, metadata, src, dst.child(key))]


def _skipped(exc: CliError) -> bool:
    """False for a --no-clobber write that found its target taken; other errors raise."""
    if isinstance(exc.__cause__, FileExistsError):  # ObjectExistsError is one too
        return False
    raise exc


def _upload_job(project: Project, tuning: engine.Tuning, conditions: engine.WriteConditions,
                options: UploadOptions | None, metadata: dict[str, str] | None, path: Path, target: Remote) -> Job:
    def run(progress: Callback) -> bool:
        try:
            with about(target):
                engine.upload(project, target.bucket, target.key, path, options=options, metadata=metadata,
                              tuning=tuning, progress=progress, conditions=conditions)
        except CliError as exc:
            return _skipped(exc)
        return True

    with about(path):
        size = path.stat().st_size
    return Job(size, str(target), run)


def _download_jobs(project: Project, args: argparse.Namespace, tuning: engine.Tuning, src: Remote,
                   dst: Path | None) -> list[Job]:
    if dst is None:  # stdout
        if args.recursive:
            raise CliError("cp --recursive cannot write to stdout", EXIT_USAGE)
        def to_stdout(progress: Callback) -> bool:
            cat(project, src, args.version_id)
            return True

        return [Job(0, "-", to_stdout)]
    if args.recursive:
        objects = list_keys(project, src)
        if not objects:
            raise CliError(f"{src}: no objects under this prefix")
        prefix = src.as_prefix()
        jobs = []
        for key, size in objects:
            if key == prefix:  # the prefix's own marker: dst itself
                continue
            target = _safe_target(dst, key[len(prefix):])
            marker = key.endswith("/") and size == 0
            jobs.append(_directory_job(target) if marker else _download_job(project, args, tuning, src.child(key),
                                                                             target, size))
        return jobs
    if not src.key or src.key.endswith("/"):
        raise CliError(f"{src}: not an object (use --recursive for a prefix)", EXIT_USAGE)
    with about(src):
        size = project.stat_object(src.bucket, src.key, version=args.version_id).system.content_length
    target = dst / src.key.rsplit("/", 1)[-1] if dst.is_dir() or args.dst.endswith(os.sep) else dst
    return [_download_job(project, args, tuning, src, target, size)]


def _directory_job(target: Path) -> Job:
    """A folder marker (an empty object whose key ends in '/', as consoles make them): a
    local directory, where the objects under it land too."""
    def run(progress: Callback) -> bool:
        with about(target):
            target.mkdir(parents=True, exist_ok=True)
        return True

    return Job(0, f"{target}{os.sep}", run)


def _download_job(project: Project, args: argparse.Namespace, tuning: engine.Tuning, src: Remote, target: Path,
                  size: int) -> Job:
    def run(progress: Callback) -> bool:
        if args.no_clobber and os.path.lexists(target):
            return False  # checked again, atomically, when the file is put in place
        with about(target):
            target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with about(src):
                engine.download_file(project, src.bucket, src.key, str(target), tuning=tuning, progress=progress,
                                     version=args.version_id, replace=not args.no_clobber)
        except CliError as exc:
            return _skipped(exc)
        return True

    return Job(size, str(target), run)


def _copy_jobs(project: Project, args: argparse.Namespace, src: Remote, dst: Remote) -> list[Job]:
    conditions = _conditions(args)

    def copy(source: Remote, target: Remote, version: str | None) -> Job:
        def run(progress: Callback) -> bool:
            try:
                with about(source):
                    project.copy_object(source.bucket, source.key, target.bucket, target.key, version=version,
                                        **conditions.all())
            except CliError as exc:
                return _skipped(exc)
            return True

        return Job(0, str(target), run)

    if args.recursive:
        objects = list_keys(project, src)
        if not objects:
            raise CliError(f"{src}: no objects under this prefix")
        prefix, target_prefix = src.as_prefix(), dst.as_prefix()
        return [copy(src.child(key), dst.child(target_prefix + key[len(prefix):]), None) for key, _ in objects]
    if not src.key:
        raise CliError(f"{src}: not an object (use --recursive for a prefix)", EXIT_USAGE)
    key = dst.key + src.key.rsplit("/", 1)[-1] if not dst.key or dst.key.endswith("/") else dst.key
    return [copy(src, dst.child(key), args.version_id)]


def pump(readinto: Callable[[memoryview], int | None], write: Callable[[memoryview], object],
         progress: Callback = None) -> None:
    """Copies until ``readinto`` gives 0, through one reused buffer."""
    done = 0
    with memoryview(bytearray(engine.CHUNK)) as buffer:
        while count := readinto(buffer):
            with buffer[:count] as chunk:
                write(chunk)
            done += count
            if progress is not None:
                progress(done, 0)


def cat(project: Project, remote: Remote, version: str | None = None) -> None:
    # ranges in flight ahead of the pipe; every byte of one version (or an error, exit 1)
    with about(remote), project.open_reader(remote.bucket, remote.key, version=version) as reader:
        pump(reader.readinto, sys.stdout.buffer.write)
    sys.stdout.buffer.flush()


def cmd_cat(session: Session, args: argparse.Namespace) -> None:
    from .common import require_remote

    cat(session.project, require_remote(args.url, key=True), args.version_id)


def cmd_mv(session: Session, args: argparse.Namespace) -> None:
    """Moves objects on the satellite (no bytes move): sj:// to sj://."""
    from .common import require_remote

    project = session.project
    src, dst = require_remote(args.src), require_remote(args.dst)
    if args.recursive:
        objects = list_keys(project, src)
        if not objects:
            raise CliError(f"{src}: no objects under this prefix")
        prefix, target_prefix = src.as_prefix(), dst.as_prefix()
        moves = [(src.child(key), dst.child(target_prefix + key[len(prefix):])) for key, _ in objects]
    else:
        if not src.key or src.key.endswith("/"):
            raise CliError(f"{src}: not an object (use --recursive for a prefix)", EXIT_USAGE)
        key = dst.key + src.key.rsplit("/", 1)[-1] if not dst.key or dst.key.endswith("/") else dst.key
        moves = [(src, dst.child(key))]

    def move(source: Remote, target: Remote) -> None:
        with about(source):
            try:
                project.move_object(source.bucket, source.key, target.bucket, target.key)
            except errors.ObjectNotFoundError:
                raise CliError(f"{source}: no such object") from None

    engine.run_tasks([partial(move, s, t) for s, t in moves], args.transfers, engine.CancelScope())
