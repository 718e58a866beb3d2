"""Access grants by name: uplink-py's own saved names, and the ones the Go ``uplink`` CLI
saved (its ``access.json``: ``{"Default": name, "Accesses": {name: grant}}``), so an
existing setup works as it is. uplink-py never writes the Go CLI's file.

Which grant a command uses: ``--access`` (a grant, a saved name, or a file holding a
grant), else ``$STORJ_ACCESS``, else ``$UPLINK_ACCESS`` (the Go CLI's variable, a grant or
a name), else uplink-py's default name, else the Go CLI's default name.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .common import ENV_ACCESS, EXIT_USAGE, NAME_MAX, CliError, about, json_line

if TYPE_CHECKING:
    import argparse

    from . import Session

ENV_CONFIG_DIR = "UPLINK_PY_CONFIG_DIR"
ENV_GO_CONFIG_DIR = "UPLINK_CONFIG_DIR"  # the Go CLI's --config-dir, as an environment variable
ENV_GO_ACCESS = "UPLINK_ACCESS"


def _app_dir(*subdir: str) -> Path:
    """Where the Go CLI keeps its configuration on this system (its appDir)."""
    home = os.environ.get("HOME", "")
    if sys.platform == "win32":
        base = next((os.environ[v] for v in ("AppData", "AppDataLocal", "UserProfile", "Home") if os.environ.get(v)), "")
    elif sys.platform == "darwin":
        base = os.path.join(home, "Library", "Application Support")
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or (os.path.join(home, ".config") if home else "")
    return Path(base, *subdir)


def go_config_dir() -> Path:
    if os.environ.get(ENV_GO_CONFIG_DIR):
        return Path(os.environ[ENV_GO_CONFIG_DIR])
    return _app_dir(*(("Storj", "Uplink") if sys.platform in ("win32", "darwin") else ("storj", "uplink")))


def our_config_dir() -> Path:
    if os.environ.get(ENV_CONFIG_DIR):
        return Path(os.environ[ENV_CONFIG_DIR])
    return _app_dir("uplink-py")


@dataclass
class AccessFile:
    """One ``access.json`` in the Go CLI's format."""

    path: Path

    def load(self) -> tuple[str, dict[str, str]]:
        """(default name, {name: grant}); empty when the file does not exist."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return "", {}
        except (OSError, ValueError) as exc:
            raise CliError(f"{self.path}: cannot read saved accesses ({exc})") from None
        accesses = data.get("Accesses") if isinstance(data, dict) else None
        if not isinstance(accesses, dict) or not all(isinstance(v, str) for v in accesses.values()):
            raise CliError(f"{self.path}: not an access file (expected Default and Accesses)")
        default = data.get("Default")
        return default if isinstance(default, str) else "", dict(accesses)

    def save(self, default: str, accesses: dict[str, str]) -> None:
        """Atomically, readable by the owner only (it holds secrets)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".access.", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"Default": default, "Accesses": accesses}, f, indent="\t", sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise


class Accesses:
    """uplink-py's saved names and the Go CLI's, looked up in that order."""

    def __init__(self) -> None:
        self.ours = AccessFile(our_config_dir() / "access.json")
        self.go = AccessFile(go_config_dir() / "access.json")

    def lookup(self, name: str) -> str | None:
        for store in (self.ours, self.go):
            grant = store.load()[1].get(name)
            if grant is not None:
                return grant
        return None

    def default_grant(self) -> tuple[str, str] | None:
        """(name, grant) of the default: ours (which may name one of the Go CLI's), else
        the Go CLI's."""
        for store in (self.ours, self.go):
            name = store.load()[0]
            grant = self.lookup(name) if name else None
            if grant is not None:
                return name, grant
        return None

    def resolve(self, given: str | None) -> str:
        """The grant a command uses (see the module docs)."""
        # STORJ_ACCESS holds a grant; --access and the Go CLI's variable a grant or a name
        for value, may_be_name in ((given, True), (os.environ.get(ENV_ACCESS), False),
                                   (os.environ.get(ENV_GO_ACCESS), True)):
            if value:
                return self._grant_of(value, may_be_name)
        found = self.default_grant()
        if found is None:
            raise CliError(f"no access grant: pass --access, set {ENV_ACCESS}, or save one with "
                           "'uplink-py access import NAME FILE --use'", EXIT_USAGE)
        return found[1]

    def _grant_of(self, value: str, may_be_name: bool) -> str:
        if may_be_name and len(value) < NAME_MAX:  # grants are hundreds of characters; names are short
            grant = self.lookup(value)
            if grant is not None:
                return grant
            if _is_file(value):
                with about(value):
                    return Path(value).read_text(encoding="utf-8").strip()
            # a cut-off grant is no name: not echoed, a part of a secret is still one
            shown = "of that name" if _BASE58_RUN.fullmatch(value) else f"named {value!r}"
            raise CliError(f"no saved access {shown} (see 'uplink-py access list')", EXIT_USAGE)
        return value


_BASE58_RUN = re.compile(r"[1-9A-HJ-NP-Za-km-z]{32,}")  # the alphabet of serialized grants


def _is_file(path: str) -> bool:
    try:  # os.stat of a grant-long "path" can fail with ENAMETOOLONG
        return os.path.isfile(path)
    except (OSError, ValueError):
        return False


def _read_grant(source: str) -> str:
    """A grant from a file, from stdin ("-"), or given as it is (a long value that is no
    file: a grant)."""
    if source == "-":
        text = sys.stdin.read()
    elif len(source) < NAME_MAX or _is_file(source):
        with about(source):
            text = Path(source).read_text(encoding="utf-8")
    else:
        text = source
    grant = text.strip()
    if not grant:
        raise CliError("no access grant in the input", EXIT_USAGE)
    return grant


def cmd_access(session: Session, args: argparse.Namespace) -> None:
    accesses = Accesses()
    action = args.access_command
    if action == "list":
        _list(session, accesses, args.json)
        return
    default, ours = accesses.ours.load()
    if action == "import":
        if len(args.source) >= NAME_MAX:  # a grant on the command line: never echo it
            session.redact.add(args.source)
        grant = _read_grant(args.source)
        session.redact.add(grant)
        session.check_grant(grant)
        if args.name in ours and not args.force:
            raise CliError(f"an access named {args.name!r} exists (--force replaces it)")
        ours[args.name] = grant
        accesses.ours.save(args.name if args.use else default, ours)
    elif action == "use":
        if accesses.lookup(args.name) is None:
            raise CliError(f"no saved access named {args.name!r} (see 'uplink-py access list')")
        accesses.ours.save(args.name, ours)
    elif action == "remove":
        if args.name not in ours:
            raise CliError(f"no access named {args.name!r} saved by uplink-py (the Go CLI's are never changed)")
        del ours[args.name]
        accesses.ours.save("" if default == args.name else default, ours)


def _list(session: Session, accesses: Accesses, as_json: bool) -> None:
    default = accesses.default_grant()
    rows = []
    seen: set[str] = set()
    for source, store in (("uplink-py", accesses.ours), ("uplink", accesses.go)):
        for name, grant in sorted(store.load()[1].items()):
            if name in seen:
                continue  # ours hides the Go CLI's of the same name
            seen.add(name)
            session.redact.add(grant)
            rows.append({"name": name, "source": source, "default": default is not None and default[0] == name,
                         "satellite": session.satellite_of(grant)})
    for row in rows:
        if as_json:
            json_line(row)
        else:
            sys.stdout.write(f"{'*' if row['default'] else ' '} {row['name']:<20} {row['source']:<10} "
                             f"{row['satellite']}\n")
