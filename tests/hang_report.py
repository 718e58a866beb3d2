"""A test about to time out says where it is stuck.

pytest-timeout dumps Python's stacks, which end at the native call that blocks. This
reports, HANG_REPORT_MARGIN s before that limit, the Go side too: where each uplink-c call
in flight waits in this process, and the network's RPCs and TLS handshakes in flight (a
stuck satellite looks like a stuck client from Python). The compact report goes to
stderr, last (after the test's captured output and every Python thread's stack), as CI
shows the end of the output; the full dumps to build/hang-reports/. Then the run ends,
as pytest-timeout would have ended it 30 s later. conftest.py imports the hook.
"""

from __future__ import annotations

import faulthandler
import json
import os
import re
import sys
import threading
import time
import traceback
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent

HANG_REPORT_MARGIN = 30.0


def _test_timeout(item: pytest.Item) -> float | None:
    """pytest-timeout's limit for item (None: none), found as it finds it: the marker
    (positional or ``timeout=``), else --timeout, else PYTEST_TIMEOUT, else the ini value."""
    marker = item.get_closest_marker("timeout")
    if marker is not None and (marker.args or "timeout" in marker.kwargs):
        value: Any = marker.args[0] if marker.args else marker.kwargs["timeout"]
    else:
        value = item.config.getoption("timeout", None)
        if value is None:
            value = os.environ.get("PYTEST_TIMEOUT") or item.config.getini("timeout")
    try:
        seconds = float(value) if value not in (None, "") else 0.0
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


def _goroutines(dump: str, keep: Callable[[str], bool]) -> list[str]:
    """The goroutines of a Go stack dump that `keep` accepts, grouped by their functions:
    a count, the header of one, and each frame as function @ file:line. A note in place
    of a dump (it could not be read) is returned as it is."""
    if not dump.startswith("goroutine "):
        return [dump]
    groups: dict[tuple[str, ...], list[Any]] = {}
    for text in dump.strip().split("\n\n"):
        lines = text.splitlines()
        if not lines or not lines[0].startswith("goroutine ") or not keep(text):
            continue
        frames = []
        for call, where in zip(lines[1::2], lines[2::2]):
            path = where.strip().split(" ")[0]
            frames.append(f"  {call.split('(0x')[0]} @ {'/'.join(path.rsplit('/', 2)[-2:])}")
        group = groups.setdefault(tuple(f.split(" @ ")[0] for f in frames), [0, lines[0], frames])
        group[0] += 1
    out = []
    for count, header, frames in sorted(groups.values(), key=lambda g: -g[0])[:6]:
        out.append(f"{count} x {header}")
        out.extend(frames[:18] + (["  ..."] if len(frames) > 18 else []))
    return out or ["(none)"]


def _count(dump: str) -> int:
    return len(re.findall(r"^goroutine \d+ ", dump, re.MULTILINE))


def _with_deadline(fn: Callable[[], str], seconds: float) -> str:
    """fn() run in a thread, or a note if it did not return in time (a wedged runtime)."""
    result = [f"(no answer in {seconds:.0f} s)"]

    def run() -> None:
        try:
            result[0] = fn()
        except Exception as exc:  # a report must not fail on what it reports
            result[0] = f"(failed: {type(exc).__name__}: {exc})"

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    return result[0]


def _network_stacks() -> str:
    directory = os.environ.get("STORJ_TEST_NETWORK_DIR") or str(REPO / ".testnet" / "run")
    control = json.loads((Path(directory) / "state.json").read_text())["control"]
    with urllib.request.urlopen(control + "/stacks", timeout=10) as resp:
        return str(resp.read().decode())


def _client_stacks() -> str:
    from uplink_py import _core

    return str(_core._debug_stacks())


def _report_hang(item: pytest.Item, after: float) -> None:
    client = _with_deadline(_client_stacks, 10)
    network = _with_deadline(_network_stacks, 15)
    main = sys._current_frames().get(threading.main_thread().ident or 0)
    python = "".join(traceback.format_stack(main)[-10:]) if main is not None else "(no main thread)\n"
    where = REPO / "build" / "hang-reports" / time.strftime("%Y%m%d-%H%M%S")
    try:
        where.mkdir(parents=True, exist_ok=True)
        (where / "client-goroutines.txt").write_text(client)
        (where / "network-goroutines.txt").write_text(network)
    except OSError as exc:
        where = Path(f"(not written: {exc})")
    report = [
        f"=== hang report: {item.nodeid} still running after {after:.0f} s; full dumps in {where} ===",
        f"--- the network's RPCs and TLS handshakes in flight, of its {_count(network)} goroutines ---",
        *_goroutines(network, lambda g: "HandleRPC" in g or "Handshake" in g),
        "--- the main thread (Python) ---",
        python.rstrip(),
        f"--- uplink-c calls in flight, of this process's {_count(client)} goroutines (Go) ---",
        *_goroutines(client, lambda g: "main.uplink_" in g and "uplink_py_debug_stacks" not in g),
        "=== end of hang report: ending the run ===",
    ]
    captured = ""
    capture = item.config.pluginmanager.getplugin("capturemanager")
    if capture is not None:  # else the report goes to pytest's capture file, lost at the exit
        capture.suspend_global_capture(in_=True)
        out, err = capture.read_global_capture()
        captured = (out + err)[-4000:]
    if captured:
        sys.stderr.write(f"--- the test's captured output (its end) ---\n{captured}\n")
    sys.stderr.write("--- every Python thread ---\n")
    sys.stderr.flush()
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    sys.stderr.write("\n".join(report) + "\n")
    sys.stderr.flush()
    os._exit(1)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    limit = _test_timeout(item)
    timer = None
    if limit is not None and limit > 2 * HANG_REPORT_MARGIN:
        timer = threading.Timer(limit - HANG_REPORT_MARGIN, _report_hang, (item, limit - HANG_REPORT_MARGIN))
        timer.daemon = True
        timer.start()
    try:
        return (yield)
    finally:
        if timer is not None:
            timer.cancel()
