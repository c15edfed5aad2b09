"""Start and stop the real Debian programs that integration tests run.

Every wait is bounded in time; every process is stopped by its PID by the
test (fixture) that started it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def require(binary: str) -> str:
    """Absolute path of ``binary``; fails the test (never skips) when missing."""
    path = shutil.which(binary)
    if path is None:
        raise AssertionError(f"{binary} is not installed; .ci/run installs it from Debian")
    return path


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.1, what: str = "condition") -> None:
    """Poll ``predicate`` until true; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception as exc:  # noqa: BLE001 - a probe may fail while the target starts
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_exc})" if last_exc else ""))


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Proc:
    """A started program, its log file, and a way to stop it by PID."""

    def __init__(self, argv: Sequence[str], log: Path, cwd: Path | None = None, env: dict[str, str] | None = None):
        self.argv = list(argv)
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(log, "ab")
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self.popen = subprocess.Popen(
            self.argv, stdout=self._fh, stderr=subprocess.STDOUT, cwd=cwd, env=full_env, start_new_session=True
        )
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL to every process the program started, as a crashed pod
        (a container's processes all die with it; a pod script that
        supervises redis-server must not leave it running)."""
        if self.alive():
            try:
                # start_new_session: the process group id is this PID.
                os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
            except ProcessLookupError:
                pass
        self._fh.close()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.alive():
            try:
                os.kill(self.pid, sig)
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
            except ProcessLookupError:
                pass
        self._fh.close()

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


class ProcGroup:
    """Processes a test started; ``stop_all`` ends each by PID."""

    def __init__(self) -> None:
        self.procs: list[Proc] = []

    def start(self, argv: Sequence[str], log: Path, **kw) -> Proc:
        proc = Proc(argv, log, **kw)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()
