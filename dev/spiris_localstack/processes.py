"""Subprocess plumbing shared by the local services.

Every local service (PostgreSQL, SeaweedFS, the operator under test) is a child process that must bind
127.0.0.1 on a free port, become ready within a bounded time and be stopped by its PID — never by name, so a
parallel run on the same machine is never disturbed. This module holds those few primitives and the one error
type that tells the user which package provides a missing binary.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self


class MissingBinaryError(RuntimeError):
    """A program the local stack needs is not installed; the message names what to install."""

    def __init__(self, *, binary: str, install_hint: str) -> None:
        super().__init__(f"{binary} not found: install {install_hint}")
        self.binary = binary
        self.install_hint = install_hint


class ServiceStartError(RuntimeError):
    """A service did not become ready in time or exited while starting."""


class Service:
    """Something started and stopped by PID; usable as a context manager (`with X() as x:` starts it)."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ChildService(Service):
    """A Service that is one child process on 127.0.0.1 with a private temp dir (removed on stop)."""

    first_signal: signal.Signals = signal.SIGTERM
    signal_whole_group = True
    stop_grace = 15.0

    def __init__(self, *, start_timeout: float) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.start_timeout = start_timeout
        self.base_dir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def stop(self) -> None:
        """Stop the child by PID (SIGKILL after `stop_grace`), then remove the temp dir."""
        if self.process is not None:
            stop_process(self.process, first=self.first_signal, whole_group=self.signal_whole_group,
                         grace=self.stop_grace)
            self.process = None
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None

    def _base(self) -> Path:
        if self.base_dir is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self.base_dir


def require_binary(path: str | Path, *, install_hint: str) -> Path:
    """Return `path` (or the PATH lookup of a bare name) if it is an executable file, else raise.

    The error names the package to install (`install_hint`) so a fresh machine tells its user what is missing.
    """
    candidate = Path(path)
    if candidate.parent == Path("."):
        found = shutil.which(str(path))
        if found is not None:
            return Path(found)
    elif candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    raise MissingBinaryError(binary=str(path), install_hint=install_hint)


def free_port(*, host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free on `host` a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_pair(*, offset: int, host: str = "127.0.0.1", attempts: int = 200) -> int:
    """Return a port P such that both P and P+`offset` are free (SeaweedFS binds P+10000 for gRPC)."""
    for _ in range(attempts):
        port = free_port(host=host)
        if port + offset > 65535:
            continue
        if port_is_free(port + offset, host=host):
            return port
    raise ServiceStartError(f"no free port pair with offset {offset} on {host}")


def port_is_free(port: int, *, host: str = "127.0.0.1") -> bool:
    """Whether binding `host:port` succeeds right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def start_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    log_path: str | Path | None = None,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start `argv` in its own session (so its children can be signalled with it), output to `log_path`.

    `user` runs the child as that OS user (we run as root; PostgreSQL refuses root) while keeping it our
    direct child, so it is stopped and reaped by PID.
    """
    stdout: int | IO[bytes] = subprocess.DEVNULL
    if log_path is not None:
        stdout = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        return subprocess.Popen(
            list(argv),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=user,
            group=_primary_group(user) if user is not None else None,
        )
    finally:
        if not isinstance(stdout, int):
            stdout.close()


def log_tail(path: Path, *, since: int = 0, chars: int = 2000) -> str:
    """The last `chars` characters a child wrote to its log after byte `since` (one start attempt's words),
    for a start failure's message; "(no log)" when there is none."""
    try:
        with path.open("rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return text[-chars:]


def wait_until_ready(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
    interval: float = 0.1,
) -> None:
    """Poll `check` until it returns True; fail after `timeout` seconds or as soon as `process` exits."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServiceStartError(f"{what} exited with code {process.returncode} while starting")
        try:
            if check():
                return
        except Exception as exc:  # readiness probes fail in many ways until the service is up
            last_error = exc
        time.sleep(interval)
    detail = f": {type(last_error).__name__}: {last_error}" if last_error is not None else ""
    raise ServiceStartError(f"{what} not ready after {timeout:.0f}s{detail}")


def stop_process(process: subprocess.Popen[bytes], *, grace: float = 10.0,
                 first: signal.Signals = signal.SIGTERM, whole_group: bool = True) -> None:
    """Stop a child by PID: `first` (to its process group unless `whole_group` is off), SIGKILL to the group
    after `grace` seconds; reap it. PostgreSQL wants SIGINT (fast shutdown) to the postmaster alone."""
    if process.poll() is not None:
        return
    if whole_group:
        _signal_group(process.pid, first)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, first)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a child and its process group at once (a crash, no shutdown) and reap it."""
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def pid_alive(pid: int) -> bool:
    """Whether `pid` names a live (not zombie) process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _primary_group(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_gid


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
