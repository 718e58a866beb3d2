"""The Go `uplink` CLI (built from the same storj pin as the network), timed per call."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass


@dataclass
class Run:
    seconds: float  # wall time of the whole process: start, dial, transfer, exit
    max_rss_bytes: int  # the process's peak RSS: its VmHWM, polled (see _HighWater)
    cpu_seconds: float  # the process's user + system CPU time


class _HighWater:
    """Polls /proc/PID/status for VmHWM (the kernel's peak-RSS mark) until the process ends.

    Not ru_maxrss from wait4: subprocess starts the child with vfork, and Linux carries
    the parent's (this benchmark's, with its big arrays) peak RSS over the exec into it.
    VmHWM belongs to the exec'd image alone; the last reading before exit is the peak
    unless the process grows in its final 10 ms.
    """

    def __init__(self, pid: int) -> None:
        self.peak_bytes = 0
        self._path = f"/proc/{pid}/status"
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._done.is_set():
            try:
                with open(self._path) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.peak_bytes = max(self.peak_bytes, int(line.split()[1]) * 1024)
                            break
            except (OSError, ValueError):
                pass
            self._done.wait(0.01)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


class GoCLI:
    def __init__(self, binary: str, access: str, config_dir: str) -> None:
        self.binary = binary
        self._access = access
        self._env = {
            **os.environ,
            "UPLINK_CONFIG_DIR": config_dir,
            "UPLINK_INTERACTIVE": "false",
            "UPLINK_ANALYTICS": "false",  # never send events off this machine
        }

    def run(self, command: str, *args: str) -> Run:
        """`uplink COMMAND ARGS...` with the grant in UPLINK_ACCESS (the CLI reads its global
        flags from UPLINK_* variables; argv is readable by other users of the machine);
        raises with its output (grant hidden) on failure."""
        cmd = [self.binary, command, *args]
        with tempfile.TemporaryFile() as output:
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, env={**self._env, "UPLINK_ACCESS": self._access}, stdin=subprocess.DEVNULL,
                                    stdout=output, stderr=output)
            watch = _HighWater(proc.pid)
            try:
                _, status, usage = os.wait4(proc.pid, 0)  # wait4, not wait: it gives this child's rusage
            except BaseException:  # Ctrl-C: stop the child too
                proc.kill()
                proc.wait()
                raise
            finally:
                watch.stop()
            seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                output.seek(0)
                text = output.read().decode(errors="replace").replace(self._access, "<access>")
                raise RuntimeError(f"uplink {command} {' '.join(args)} exited {proc.returncode}:\n{text}")
        return Run(seconds, watch.peak_bytes, usage.ru_utime + usage.ru_stime)

    def version(self) -> str:
        res = subprocess.run([self.binary, "version"], env=self._env, capture_output=True, text=True, timeout=60)
        for line in res.stdout.splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
        return "unknown"
