"""What every command shares: errors and exit codes, redaction of secrets, sj:// URLs,
the progress bar, times, and machine-readable output."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn, Optional

from .. import errors

PROG = "uplink-py"
ENV_ACCESS = "STORJ_ACCESS"
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
# Long base58 runs: access grants and API keys. Redacted from every error message, so
# even a grant pasted in the wrong place is not echoed back.
_SECRET_LIKE = re.compile(r"[1-9A-HJ-NP-Za-km-z]{64,}")
NAME_MAX = 64  # a value of --access at least this long is a grant, shorter ones may be names

Callback = Optional[Callable[[int, int], None]]


class CliError(Exception):
    """An expected failure: printed as one line, exit code ``code``."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


class Redactor:
    """Removes the secrets this run knows of (and anything shaped like one) from text."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.secrets = {os.environ.get(ENV_ACCESS, ""), os.environ.get("UPLINK_ACCESS", "")}
        for i, word in enumerate(argv):
            if word == "--access" and i + 1 < len(argv):
                self._given(argv[i + 1])
            elif word.startswith("--access="):
                self._given(word.partition("=")[2])
        self.secrets.discard("")

    def _given(self, value: str) -> None:
        # a saved name (short) is no secret, and errors about it should name it
        if len(value) >= NAME_MAX:
            self.secrets.add(value)

    def add(self, secret: str) -> None:
        if secret:
            self.secrets.add(secret)

    def __call__(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "<access grant>")
        return _SECRET_LIKE.sub("<redacted>", text)


class Parser(argparse.ArgumentParser):
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
    if key is True and (not remote.key or remote.key.endswith("/")):
        raise CliError(f"{text}: the URL names a bucket or prefix, not an object", EXIT_USAGE)
    if key is False and remote.key:
        raise CliError(f"{text}: give only the bucket (sj://BUCKET)", EXIT_USAGE)
    return remote


_HINTS: dict[type[errors.StorjException], str] = {
    errors.BucketNotEmptyError: "bucket is not empty (rb --force deletes its objects too)",
    errors.PermissionDeniedError: "permission denied by the access grant",
    errors.ObjectLockedError: "protected by Object Lock (a retention period or a legal hold)",
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


def note(message: str) -> None:
    """A line on stderr that is not an error (the command goes on)."""
    sys.stderr.write(f"{PROG}: {message}\n")


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
    """One tqdm bar shared by every transfer of a command (bytes, with rate and ETA; with
    several files also how many are done); off when not wanted."""

    def __init__(self, enabled: bool, total: int, description: str, files: int = 1) -> None:
        self._bar: Any = None
        self._lock = threading.Lock()
        self._files, self._done_files = files, 0
        self._description = description
        if enabled:
            from importlib import import_module

            try:
                tqdm = import_module("tqdm").tqdm  # imported only when a bar is shown
            except ImportError:  # the `cli` extra is not installed: transfers work without a bar
                return
            columns, rows = _terminal_size()
            self._bar = tqdm(total=total, desc=self._label(), unit="B", unit_scale=True, unit_divisor=1024,
                             file=sys.stderr, ncols=columns, nrows=rows, leave=True)

    def _label(self) -> str:
        return self._description if self._files <= 1 else f"{self._description} {self._done_files}/{self._files}"

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

    def file_done(self) -> None:
        if self._bar is not None and self._files > 1:
            with self._lock:
                self._done_files += 1
                self._bar.set_description_str(self._label(), refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# ---------------------------------------------------------------- times and output


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


def parse_duration(text: str) -> dt.timedelta:
    """``7d``, ``+12h``, ``1h30m``: a positive duration."""
    match = _DURATION.match(text if text.startswith("+") else "+" + text)
    if not match or not any(match.groups()):
        raise CliError(f"{text!r}: not a duration (use e.g. 7d, 12h, 1h30m)", EXIT_USAGE)
    d, h, m, s = (int(g or 0) for g in match.groups())
    duration = dt.timedelta(days=d, hours=h, minutes=m, seconds=s)
    if duration <= dt.timedelta(0):
        raise CliError(f"{text!r}: the duration must be positive", EXIT_USAGE)
    return duration


def when(seconds: int) -> str:
    """Unix seconds as ISO 8601 UTC; "-" for 0 (not set)."""
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if seconds else "-"


def json_line(record: dict[str, Any]) -> None:
    """One JSON object per line on stdout (``--json``): keys sorted, never a grant."""
    sys.stdout.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")


def positive(text: str) -> int:
    """argparse type: an int >= 1."""
    from .. import engine

    try:
        return engine.positive_int(int(text), "the value")
    except ValueError as exc:
        message = f"{text!r} is not an integer" if "invalid literal" in str(exc) else str(exc)
        raise argparse.ArgumentTypeError(message) from None


def version_id(text: str) -> str:
    """argparse type: a version id as ``ls --versions`` prints it (hexadecimal)."""
    if not text or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a version id (hexadecimal, see ls --versions)")
    return text
