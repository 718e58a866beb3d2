"""The ``uplink-py`` command line (also ``python -m uplink_py``).

::

    uplink-py ls [sj://BUCKET[/PREFIX]] [-r] [--versions] [--json]
    uplink-py cp SRC DST [-r] [-t N] [-p N] [--no-clobber] [--version-id ID] [--metadata JSON] [--expires WHEN]
    uplink-py mv sj://SRC sj://DST [-r]           on the satellite: no bytes move
    uplink-py cat sj://BUCKET/KEY [--version-id ID]
    uplink-py stat sj://BUCKET[/KEY] [--version-id ID] [--json]
    uplink-py meta get sj://BUCKET/KEY [NAME]
    uplink-py rm sj://BUCKET/KEY [--version-id ID] | -r sj://BUCKET[/PREFIX]
    uplink-py mb sj://BUCKET [--versioning | --object-lock]
    uplink-py rb sj://BUCKET [--force]
    uplink-py share [--readonly|--writeonly] [--prefix sj://B[/P]]... [--not-after WHEN]
    uplink-py access list | import NAME FILE|- [--use] | use NAME | remove NAME

The access grant: ``--access`` (a grant, a saved name, or a file holding a grant), else
``$STORJ_ACCESS``, else the Go CLI's ``$UPLINK_ACCESS``, else the default saved name
(uplink-py's own, then the Go ``uplink`` CLI's: an existing setup works as it is; see
:mod:`.accesses`). Prefer names or the variable: command lines are visible to other
users of the machine. Exit codes: 0 success, 1 an operation failed, 2 bad usage, 130
interrupted. Errors are one line on stderr, never a traceback, and never show a grant:
only ``share`` prints one, the new one, because that is its job. Transfers show one
progress bar (bytes, rate, ETA, files done) on a terminal; ``--progress`` /
``--no-progress`` override.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .. import _native, engine, errors
from .._version import __version__
from ..credentials import Credentials
from .accesses import Accesses, cmd_access
from .common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CliError,
    Parser,
    Redactor,
    about,
    positive,
    version_id,
)
from .objects import cmd_ls, cmd_mb, cmd_meta, cmd_rb, cmd_rm, cmd_share, cmd_stat
from .transfers import cmd_cat, cmd_cp, cmd_mv

if TYPE_CHECKING:
    from ..access import Access
    from ..project import Project

__all__ = ["main"]


def build_parser(redact: Callable[[str], str] = lambda text: text) -> argparse.ArgumentParser:
    Parser.redact = staticmethod(redact)
    common = Parser(add_help=False)
    common.add_argument("--access", default=argparse.SUPPRESS, metavar="GRANT|NAME",
                        help="access grant, or a saved name (default: $STORJ_ACCESS, then the default name)")
    parser = Parser(prog=PROG, parents=[common], description="Storj object storage from the command line.",
                    epilog="The access grant comes from --access, $STORJ_ACCESS, $UPLINK_ACCESS or a saved name.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    def command(name: str, handler: Callable[..., None], help: str,
                into: argparse._SubParsersAction = commands) -> argparse.ArgumentParser:  # type: ignore[type-arg]
        sub: argparse.ArgumentParser = into.add_parser(name, parents=[common], help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    def json_flag(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--json", action="store_true", help="one JSON object per line")

    def version_flag(sub: argparse.ArgumentParser, what: str) -> None:
        sub.add_argument("--version-id", type=version_id, metavar="ID", help=f"{what} this version (see ls --versions)")

    ls = command("ls", cmd_ls, "list buckets, or the objects under sj://BUCKET[/PREFIX/]")
    ls.add_argument("url", nargs="?", help="sj://BUCKET[/PREFIX/]; none lists the buckets")
    ls.add_argument("-r", "--recursive", action="store_true", help="list every object under the prefix")
    ls.add_argument("--versions", action="store_true", help="every version, delete markers too")
    json_flag(ls)

    cp = command("cp", cmd_cp, "copy files to or from Storj (or between objects)")
    cp.add_argument("src", help="local path, '-' for stdin, or sj://BUCKET/KEY")
    cp.add_argument("dst", help="local path, '-' for stdout, or sj://BUCKET/KEY (a trailing '/' means 'into')")
    cp.add_argument("-r", "--recursive", action="store_true", help="copy a directory or a prefix")
    cp.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="progress bar (default: on when stderr is a terminal)")
    cp.add_argument("-t", "--transfers", type=positive, default=engine.DEFAULT_CONCURRENCY, metavar="N",
                    help=f"files at once (default {engine.DEFAULT_CONCURRENCY})")
    cp.add_argument("-p", "--parallelism", type=positive, default=engine.DEFAULT_CONCURRENCY, metavar="N",
                    help=f"parts of one large file at once (default {engine.DEFAULT_CONCURRENCY})")
    cp.add_argument("--part-size", type=positive, default=engine.DEFAULT_PART_SIZE, metavar="BYTES",
                    help=f"large files move as parallel parts of this size (default {engine.DEFAULT_PART_SIZE >> 20} MiB)")
    cp.add_argument("--no-clobber", action="store_true",
                    help="never replace an existing destination (atomic on Storj: only if the key is free)")
    version_flag(cp, "copy")
    cp.add_argument("--retain-until", metavar="WHEN", help="lock what is written until then (bucket with Object Lock)")
    cp.add_argument("--retention-mode", choices=("governance", "compliance"),
                    help="of --retain-until (default governance)")
    cp.add_argument("--legal-hold", action="store_true", help="put a legal hold on what is written")
    cp.add_argument("--expires", metavar="WHEN", help="uploaded objects expire then (ISO 8601 time, or +1h, +7d, ...)")
    cp.add_argument("--metadata", metavar="JSON", help='custom metadata of uploaded objects, e.g. \'{"k": "v"}\'')

    mv = command("mv", cmd_mv, "move objects on the satellite (sj:// to sj://; no bytes move)")
    mv.add_argument("src", help="sj://BUCKET/KEY, or a prefix with --recursive")
    mv.add_argument("dst", help="sj://BUCKET/KEY (a trailing '/' means 'into')")
    mv.add_argument("-r", "--recursive", action="store_true", help="move every object under the prefix")
    mv.add_argument("-t", "--transfers", type=positive, default=engine.DEFAULT_MANY_CONCURRENCY, metavar="N",
                    help=f"moves at once (default {engine.DEFAULT_MANY_CONCURRENCY})")

    cat = command("cat", cmd_cat, "write an object to stdout")
    cat.add_argument("url", help="sj://BUCKET/KEY")
    version_flag(cat, "write")

    stat = command("stat", cmd_stat, "an object's metadata, version and lock state, or a bucket's settings")
    stat.add_argument("url", help="sj://BUCKET/KEY or sj://BUCKET")
    version_flag(stat, "describe")
    json_flag(stat)

    meta = commands.add_parser("meta", help="object metadata", description="object metadata")
    meta_commands = meta.add_subparsers(dest="meta_command", required=True, metavar="ACTION", parser_class=Parser)
    get = command("get", cmd_meta, "print an object's custom metadata as JSON, or one value", into=meta_commands)
    get.add_argument("url", help="sj://BUCKET/KEY")
    get.add_argument("key", nargs="?", help="print only this entry's value")
    version_flag(get, "read")

    rm = command("rm", cmd_rm, "delete an object (or one version), or every object under a prefix")
    rm.add_argument("url", help="sj://BUCKET/KEY, or sj://BUCKET[/PREFIX] with --recursive")
    rm.add_argument("-r", "--recursive", action="store_true", help="delete every object under the prefix")
    version_flag(rm, "delete")
    rm.add_argument("--bypass-governance", action="store_true",
                    help="delete despite a governance retention (the access needs the permission)")

    mb = command("mb", cmd_mb, "make a bucket")
    mb.add_argument("url", help="sj://BUCKET")
    kind = mb.add_mutually_exclusive_group()
    kind.add_argument("--versioning", action="store_true", help="keep every version of every object")
    kind.add_argument("--object-lock", action="store_true", help="with Object Lock (and versioning)")

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
    share.add_argument("--object-lock", action="store_true", help="allow reading and setting Object Lock")
    share.add_argument("--bypass-governance", action="store_true", help="allow bypassing governance retention")
    share.add_argument("--max-object-ttl", metavar="DURATION", help="new objects expire at most this long after "
                                                                    "their upload (e.g. 7d, 12h)")

    access = commands.add_parser("access", help="saved access grants (uplink-py's and the Go uplink CLI's)",
                                 description="saved access grants (uplink-py's and the Go uplink CLI's)")
    access_commands = access.add_subparsers(dest="access_command", required=True, metavar="ACTION",
                                            parser_class=Parser)
    listing = command("list", cmd_access, "list saved names (* marks the default); never prints grants",
                      into=access_commands)
    json_flag(listing)
    imported = command("import", cmd_access, "save a grant under a name", into=access_commands)
    imported.add_argument("name")
    imported.add_argument("source", help="a file holding the grant, or '-' to read it from stdin")
    imported.add_argument("--use", action="store_true", help="make it the default")
    imported.add_argument("--force", action="store_true", help="replace a saved one of that name")
    use = command("use", cmd_access, "make a saved name the default", into=access_commands)
    use.add_argument("name")
    remove = command("remove", cmd_access, "forget a name uplink-py saved", into=access_commands)
    remove.add_argument("name")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; returns the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    redact = Redactor(words)
    args = build_parser(redact).parse_args(words)  # exits 2 on bad usage
    try:
        return _run(args, redact)
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
    """The access of this run, and its project, both opened on first use and closed at the end."""

    def __init__(self, given: str | None, redact: Redactor) -> None:
        self._given = given
        self.redact = redact
        self._access: Access | None = None
        self._project: Project | None = None

    @property
    def access(self) -> Access:
        if self._access is None:
            grant = Accesses().resolve(self._given)
            self.redact.add(grant)
            self._access = self.check_grant(grant)
        return self._access

    def check_grant(self, grant: str) -> Access:
        try:
            return Credentials(access=grant).open_access()
        except errors.StorjException as exc:
            raise CliError(f"the access grant is not valid ({str(exc).removeprefix('uplink: ')})", EXIT_USAGE) from exc

    def satellite_of(self, grant: str) -> str:
        try:
            return Credentials(access=grant).open_access().satellite_address()
        except errors.StorjException:
            return "(not a valid grant)"

    @property
    def project(self) -> Project:
        if self._project is None:
            access = self.access
            # SIGTERM (timeout, kill, a service manager) and SIGHUP (a closed terminal) stop
            # what the project does as Ctrl-C does: aborted upload, no temporary file, exit 130.
            for name in ("SIGTERM", "SIGHUP"):
                if hasattr(signal, name):
                    _native.core()._interrupt_on(getattr(signal, name))
            with about("open project"):
                self._project = access.open_project()
        assert self._project is not None
        return self._project

    def close(self) -> None:
        if self._project is not None:
            with about("close project"):
                self._project.close()


def _run(args: argparse.Namespace, redact: Redactor) -> int:
    session = Session(getattr(args, "access", None), redact)
    try:
        args.handler(session, args)
    finally:
        session.close()
    return EXIT_OK
