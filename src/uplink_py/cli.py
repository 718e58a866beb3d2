"""The ``uplink-py`` command line (also ``python -m uplink_py``).

::

    uplink-py ls [sj://BUCKET[/PREFIX]] [-r]      buckets, or objects and prefixes
    uplink-py cp SRC DST [-r]                     local <-> sj://, sj:// -> sj://, '-' for stdin/stdout
    uplink-py cat sj://BUCKET/KEY
    uplink-py rm sj://BUCKET/KEY | -r sj://BUCKET[/PREFIX]
    uplink-py mb sj://BUCKET
    uplink-py rb sj://BUCKET [--force]
    uplink-py share [--readonly|--writeonly] [--prefix sj://B[/P]]... [--not-after WHEN]

The access grant comes from ``--access`` or the ``STORJ_ACCESS`` environment variable
(prefer the variable: command lines are visible to other users of the machine). Exit
codes: 0 success, 1 an operation failed, 2 bad usage, 130 interrupted. Errors are one
line on stderr, never a traceback, and never show the access grant: only ``share``
prints a grant, the new one, because that is its job. Transfers show a progress bar
(tqdm) on a terminal; ``--progress``/``--no-progress`` override.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Optional

from . import engine, errors
from .credentials import Credentials
from ._version import __version__
from .module_classes import ListObjectsOptions, Permission, SharePrefix

if TYPE_CHECKING:
    from .access import Access
    from .project import Project

PROG = "uplink-py"
ENV_ACCESS = "STORJ_ACCESS"
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
# Long base58 runs: access grants and API keys. Redacted from every error message, so
# even a grant pasted in the wrong place is not echoed back.
_SECRET_LIKE = re.compile(r"[1-9A-HJ-NP-Za-km-z]{64,}")


Callback = Optional[Callable[[int, int], None]]
Job = Callable[[Callback], None]  # one transfer, given a progress callback


class CliError(Exception):
    """An expected failure: printed as one line, exit code ``code``."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


class _Redactor:
    """Removes the secrets this run knows of (and anything shaped like one) from text."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.secrets = {os.environ.get(ENV_ACCESS, "")}
        for i, word in enumerate(argv):
            if word == "--access" and i + 1 < len(argv):
                self.secrets.add(argv[i + 1])
            elif word.startswith("--access="):
                self.secrets.add(word.partition("=")[2])
        self.secrets.discard("")

    def __call__(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "<access grant>")
        return _SECRET_LIKE.sub("<redacted>", text)


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are redacted (they may quote a misplaced grant)."""

    redact: Callable[[str], str] = staticmethod(lambda text: text)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {self.redact(message)}\n")


# ---------------------------------------------------------------- locations


@dataclass(frozen=True)
class Remote:
    """``sj://bucket/key``; ``key`` may be empty or a prefix."""

    bucket: str
    key: str

    def __str__(self) -> str:
        return f"sj://{self.bucket}/{self.key}" if self.key else f"sj://{self.bucket}"

    def child(self, key: str) -> Remote:
        return Remote(self.bucket, key)

    def as_prefix(self) -> str:
        return self.key if not self.key or self.key.endswith("/") else self.key + "/"


def parse_remote(text: str, *, need_bucket: bool = True) -> Remote | None:
    """A Remote for ``sj://`` (or ``storj://``) URLs, None for anything else (a local path)."""
    for scheme in ("sj://", "storj://"):
        if text.startswith(scheme):
            bucket, _, key = text[len(scheme) :].partition("/")
            if need_bucket and not bucket:
                raise CliError(f"{text}: no bucket in the URL", EXIT_USAGE)
            return Remote(bucket, key)
    return None


def require_remote(text: str, *, key: bool | None = None) -> Remote:
    """An sj:// URL; with ``key=True`` it must name an object, with ``key=False`` only a bucket."""
    remote = parse_remote(text)
    if remote is None:
        raise CliError(f"{text}: not an sj:// URL", EXIT_USAGE)
    if key is True and not remote.key:
        raise CliError(f"{text}: the URL names a bucket, not an object", EXIT_USAGE)
    if key is False and remote.key:
        raise CliError(f"{text}: give only the bucket (sj://BUCKET)", EXIT_USAGE)
    return remote


_HINTS: dict[type[errors.StorjException], str] = {
    errors.BucketNotEmptyError: "bucket is not empty (rb --force deletes its objects too)",
    errors.PermissionDeniedError: "permission denied by the access grant",
}


@contextmanager
def about(subject: object) -> Iterator[None]:
    """Turns expected exceptions into a CliError that names ``subject``."""
    try:
        yield
    except BrokenPipeError:
        raise  # the reader of stdout went away: main() ends quietly
    except errors.StorjException as exc:
        message = _HINTS.get(type(exc)) or str(exc).removeprefix("uplink: ")
        raise CliError(f"{subject}: {message}") from exc
    except OSError as exc:
        name = exc.filename if exc.filename is not None else subject
        raise CliError(f"{name}: {exc.strerror or exc}") from exc


# ---------------------------------------------------------------- progress


def _terminal_size() -> tuple[int, int]:
    """stderr's (columns, rows); 80x24 where it reports 0 (some pseudo-terminals do, and
    tqdm then draws nothing)."""
    try:
        columns, rows = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError):
        columns = rows = 0
    return (columns if columns > 0 else 80, rows if rows > 0 else 24)


class Progress:
    """One tqdm bar (bytes) shared by every transfer of a command; off when not wanted."""

    def __init__(self, enabled: bool, total: int, description: str) -> None:
        self._bar: Any = None
        self._lock = threading.Lock()
        if enabled:
            from importlib import import_module

            try:
                tqdm = import_module("tqdm").tqdm  # imported only when a bar is shown
            except ImportError:  # the `cli` extra is not installed: transfers work without a bar
                return
            columns, rows = _terminal_size()
            self._bar = tqdm(total=total, desc=description, unit="B", unit_scale=True, unit_divisor=1024,
                             file=sys.stderr, ncols=columns, nrows=rows, leave=True)

    def callback(self) -> Callback:
        """A progress callback for one transfer (reports cumulative counts)."""
        if self._bar is None:
            return None
        last = 0

        def report(done: int, total: int) -> None:
            nonlocal last
            with self._lock:
                self._bar.update(done - last)
                last = done

        return report

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# ---------------------------------------------------------------- commands


def cmd_ls(session: Session, args: argparse.Namespace) -> None:
    project = session.project
    out = sys.stdout
    remote = parse_remote(args.url, need_bucket=False) if args.url else Remote("", "")
    if remote is None:
        raise CliError(f"{args.url}: not an sj:// URL", EXIT_USAGE)
    if not remote.bucket:
        with about("buckets"):
            for bucket in project.iter_buckets():
                out.write(f"BKT  {_when(bucket.created)}  {bucket.name}\n")
        return
    options = ListObjectsOptions(prefix=remote.as_prefix(), recursive=args.recursive, system=True)
    with about(remote):
        for obj in project.iter_objects(remote.bucket, options):
            if obj.is_prefix:
                out.write(f"PRE  {obj.key}\n")
            else:
                out.write(f"OBJ  {_when(obj.system.created)}  {obj.system.content_length:>12}  {obj.key}\n")


def _when(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if seconds else "-"


def _list_keys(project: Project, remote: Remote) -> list[tuple[str, int]]:
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


def cmd_cp(session: Session, args: argparse.Namespace) -> None:
    project = session.project
    src, dst = parse_remote(args.src), parse_remote(args.dst)
    progress_on = args.progress if args.progress is not None else sys.stderr.isatty()
    if src is None and dst is None:
        raise CliError("one of SRC and DST must be an sj:// URL (use your shell's cp for local copies)", EXIT_USAGE)
    if src is None:
        assert dst is not None
        jobs = _upload_jobs(project, args, Path(args.src) if args.src != "-" else None, dst)
    elif dst is None:
        jobs = _download_jobs(project, args, src, Path(args.dst) if args.dst != "-" else None)
    else:
        jobs = _copy_jobs(project, args, src, dst)
        progress_on = False  # server-side: no bytes pass through here
    total = sum(size for size, _, _ in jobs)
    bar = Progress(progress_on and total > 0, total, "cp")
    try:
        # A failure (or Ctrl-C) stops the rest; a transfer stopped midway commits nothing.
        engine.run_tasks([partial(job, bar.callback()) for _, _, job in jobs], args.parallelism,
                         engine.CancelScope())
    finally:
        bar.close()


def _upload_jobs(project: Project, args: argparse.Namespace, src: Path | None, dst: Remote) -> list[tuple[int, str, Job]]:
    if src is None:  # stdin, streamed
        if not dst.key or dst.key.endswith("/"):
            raise CliError("cp from stdin needs a full object URL (sj://BUCKET/KEY)", EXIT_USAGE)

        def from_stdin(progress: Callback) -> None:
            # parts go up while stdin is read (memory: up to parallelism + 1 parts); committed
            # only once it ended and every part is in. Below Storj's 5 MiB parts: one stream.
            parallel = args.parallelism if args.part_size >= engine.MIN_PART_SIZE else 1
            with about(dst), project.open_writer(dst.bucket, dst.key, max_concurrency=parallel,
                                                 part_size=args.part_size) as writer:
                _pump(sys.stdin.buffer.readinto, writer.write, progress)  # type: ignore[union-attr]  # a BufferedReader

        return [(0, "-", from_stdin)]
    if src.is_dir():
        if not args.recursive:
            raise CliError(f"{src}: is a directory (use --recursive)", EXIT_USAGE)
        prefix = dst.as_prefix()
        with about(src):
            files = sorted(p for p in src.rglob("*") if p.is_file())
        return [_upload_job(project, args, path, dst.child(prefix + path.relative_to(src).as_posix())) for path in files]
    key = dst.key + src.name if not dst.key or dst.key.endswith("/") else dst.key
    return [_upload_job(project, args, src, dst.child(key))]


def _upload_job(project: Project, args: argparse.Namespace, path: Path, target: Remote) -> tuple[int, str, Job]:
    def run(progress: Callback) -> None:
        with about(target):
            project.upload_file(target.bucket, target.key, path, part_size=args.part_size, progress=progress)

    with about(path):
        size = path.stat().st_size
    return (size, str(path), run)


def _download_jobs(project: Project, args: argparse.Namespace, src: Remote, dst: Path | None) -> list[tuple[int, str, Job]]:
    if dst is None:  # stdout
        if args.recursive:
            raise CliError("cp --recursive cannot write to stdout", EXIT_USAGE)
        return [(0, "-", lambda progress: _cat(project, src))]
    if args.recursive:
        objects = _list_keys(project, src)
        if not objects:
            raise CliError(f"{src}: no objects under this prefix")
        prefix = src.as_prefix()
        return [_download_job(project, args, src.child(key), _safe_target(dst, key[len(prefix):]), size)
                for key, size in objects]
    if not src.key or src.key.endswith("/"):
        raise CliError(f"{src}: not an object (use --recursive for a prefix)", EXIT_USAGE)
    with about(src):
        size = project.stat_object(src.bucket, src.key).system.content_length
    target = dst / src.key.rsplit("/", 1)[-1] if dst.is_dir() or args.dst.endswith(os.sep) else dst
    return [_download_job(project, args, src, target, size)]


def _download_job(project: Project, args: argparse.Namespace, src: Remote, target: Path,
                  size: int) -> tuple[int, str, Job]:
    def run(progress: Callback) -> None:
        with about(target):
            target.parent.mkdir(parents=True, exist_ok=True)
        with about(src):
            project.download_file(src.bucket, src.key, target, part_size=args.part_size, progress=progress)

    return (size, str(src), run)


def _copy_jobs(project: Project, args: argparse.Namespace, src: Remote, dst: Remote) -> list[tuple[int, str, Job]]:
    def copy(source: Remote, target: Remote) -> Job:
        def run(progress: Callback) -> None:
            with about(source):
                project.copy_object(source.bucket, source.key, target.bucket, target.key)

        return run

    if args.recursive:
        objects = _list_keys(project, src)
        if not objects:
            raise CliError(f"{src}: no objects under this prefix")
        prefix, target_prefix = src.as_prefix(), dst.as_prefix()
        return [(0, key, copy(src.child(key), dst.child(target_prefix + key[len(prefix):]))) for key, _ in objects]
    if not src.key:
        raise CliError(f"{src}: not an object (use --recursive for a prefix)", EXIT_USAGE)
    key = dst.key + src.key.rsplit("/", 1)[-1] if not dst.key or dst.key.endswith("/") else dst.key
    return [(0, str(src), copy(src, dst.child(key)))]


def _pump(readinto: Callable[[memoryview], int | None], write: Callable[[memoryview], object],
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


def _cat(project: Project, remote: Remote) -> None:
    # ranges in flight ahead of the pipe; every byte of one version (or an error, exit 1)
    with about(remote), project.open_reader(remote.bucket, remote.key) as reader:
        _pump(reader.readinto, sys.stdout.buffer.write)
    sys.stdout.buffer.flush()


def cmd_cat(session: Session, args: argparse.Namespace) -> None:
    project = session.project
    _cat(project, require_remote(args.url, key=True))


def cmd_rm(session: Session, args: argparse.Namespace) -> None:
    project = session.project
    remote = require_remote(args.url)
    if args.recursive:
        objects = _list_keys(project, remote)
        if not objects:
            raise CliError(f"{remote}: no objects under this prefix")
        for key, _ in objects:
            with about(remote.child(key)):
                project.delete_object(remote.bucket, key)
        return
    if not remote.key:
        raise CliError(f"{remote}: the URL names a bucket (use rb, or rm --recursive)", EXIT_USAGE)
    with about(remote):
        if project.delete_object(remote.bucket, remote.key) is None:
            raise CliError(f"{remote}: no such object")


def cmd_mb(session: Session, args: argparse.Namespace) -> None:
    project = session.project
    remote = require_remote(args.url, key=False)
    with about(remote):
        project.create_bucket(remote.bucket)


def cmd_rb(session: Session, args: argparse.Namespace) -> None:
    project = session.project
    remote = require_remote(args.url, key=False)
    with about(remote):
        if args.force:
            project.delete_bucket_with_objects(remote.bucket)
        else:
            project.delete_bucket(remote.bucket)


_DURATION = re.compile(r"^\+(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_time(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """``+1d2h30m``-style offsets from now, or an ISO 8601 time (UTC when no zone is given)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    match = _DURATION.match(text)
    if match and any(match.groups()):
        d, h, m, s = (int(g or 0) for g in match.groups())
        return now + dt.timedelta(days=d, hours=h, minutes=m, seconds=s)
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"{text!r}: not a time (use e.g. +2h, +7d or 2030-01-31T12:00:00Z)", EXIT_USAGE) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def cmd_share(session: Session, args: argparse.Namespace) -> None:
    permission = Permission(
        allow_download=not args.writeonly,
        allow_list=not args.writeonly,
        allow_upload=not args.readonly,
        allow_delete=not args.readonly,
        not_before=parse_time(args.not_before) if args.not_before else 0,
        not_after=parse_time(args.not_after) if args.not_after else 0,
    )
    prefixes = [require_remote(p) for p in args.prefix]
    shared = [SharePrefix(p.bucket, p.key) for p in prefixes]
    with about("share"):
        grant = session.access.share(permission, shared).serialize()
    sys.stdout.write(grant + "\n")  # the one place a grant is printed: it is what share is for


# ---------------------------------------------------------------- wiring


def build_parser(redact: Callable[[str], str] = lambda text: text) -> argparse.ArgumentParser:
    _Parser.redact = staticmethod(redact)
    common = _Parser(add_help=False)
    common.add_argument("--access", default=argparse.SUPPRESS, metavar="GRANT",
                        help=f"serialized access grant (default: ${ENV_ACCESS})")
    parser = _Parser(prog=PROG, parents=[common], description="Storj object storage from the command line.",
                     epilog=f"The access grant comes from --access or ${ENV_ACCESS}.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def command(name: str, handler: Callable[..., None], help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    ls = command("ls", cmd_ls, "list buckets, or the objects under sj://BUCKET[/PREFIX/]")
    ls.add_argument("url", nargs="?", help="sj://BUCKET[/PREFIX/]; none lists the buckets")
    ls.add_argument("-r", "--recursive", action="store_true", help="list every object under the prefix")

    cp = command("cp", cmd_cp, "copy files to or from Storj (or between objects)")
    cp.add_argument("src", help="local path, '-' for stdin, or sj://BUCKET/KEY")
    cp.add_argument("dst", help="local path, '-' for stdout, or sj://BUCKET/KEY (a trailing '/' means 'into')")
    cp.add_argument("-r", "--recursive", action="store_true", help="copy a directory or a prefix")
    cp.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="progress bar (default: on when stderr is a terminal)")
    cp.add_argument("--parallelism", type=_positive, default=engine.DEFAULT_CONCURRENCY, metavar="N",
                    help=f"files at once (default {engine.DEFAULT_CONCURRENCY})")
    cp.add_argument("--part-size", type=_positive, default=engine.DEFAULT_PART_SIZE, metavar="BYTES",
                    help=f"large files move as parallel parts of this size (default {engine.DEFAULT_PART_SIZE >> 20} MiB)")

    cat = command("cat", cmd_cat, "write an object to stdout")
    cat.add_argument("url", help="sj://BUCKET/KEY")

    rm = command("rm", cmd_rm, "delete an object, or every object under a prefix")
    rm.add_argument("url", help="sj://BUCKET/KEY, or sj://BUCKET[/PREFIX] with --recursive")
    rm.add_argument("-r", "--recursive", action="store_true", help="delete every object under the prefix")

    mb = command("mb", cmd_mb, "make a bucket")
    mb.add_argument("url", help="sj://BUCKET")

    rb = command("rb", cmd_rb, "remove a bucket")
    rb.add_argument("url", help="sj://BUCKET")
    rb.add_argument("--force", action="store_true", help="delete its objects too")

    share = command("share", cmd_share, "print a restricted access grant derived from this one")
    mode = share.add_mutually_exclusive_group()
    mode.add_argument("--readonly", action="store_true", help="download and list only")
    mode.add_argument("--writeonly", action="store_true", help="upload and delete only")
    share.add_argument("--prefix", action="append", default=[], metavar="sj://BUCKET[/PREFIX]",
                       help="limit to this bucket or prefix (repeatable; default: everything)")
    share.add_argument("--not-before", metavar="WHEN", help="valid from (ISO 8601 time, or +1h, +2d, ...)")
    share.add_argument("--not-after", metavar="WHEN", help="valid until (ISO 8601 time, or +1h, +2d, ...)")
    return parser


def _positive(text: str) -> int:
    try:
        return engine.positive_int(int(text), "the value")
    except ValueError as exc:
        message = f"{text!r} is not an integer" if "invalid literal" in str(exc) else str(exc)
        raise argparse.ArgumentTypeError(message) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; returns the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    redact = _Redactor(words)
    args = build_parser(redact).parse_args(words)  # exits 2 on bad usage
    try:
        return _run(args)
    except CliError as exc:
        sys.stderr.write(f"{PROG}: {redact(str(exc))}\n")
        return exc.code
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`uplink-py cat ... | head`)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except Exception:  # a bug: show it, but never with a secret in it
        import traceback

        sys.stderr.write(redact(traceback.format_exc()))
        return EXIT_ERROR


class Session:
    """The access of this run, and its project, opened on first use and closed at the end."""

    def __init__(self, grant: str) -> None:
        try:
            self.access: Access = Credentials(access=grant).open_access()
        except errors.StorjException as exc:
            raise CliError(f"the access grant is not valid ({str(exc).removeprefix('uplink: ')})", EXIT_USAGE) from exc
        self._project: Project | None = None

    @property
    def project(self) -> Project:
        if self._project is None:
            with about("open project"):
                self._project = self.access.open_project()
        assert self._project is not None
        return self._project

    def close(self) -> None:
        if self._project is not None:
            with about("close project"):
                self._project.close()


def _run(args: argparse.Namespace) -> int:
    grant = getattr(args, "access", None) or os.environ.get(ENV_ACCESS)
    if not grant:
        raise CliError(f"no access grant: pass --access or set {ENV_ACCESS}", EXIT_USAGE)
    session = Session(grant)
    try:
        args.handler(session, args)
    finally:
        session.close()
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
