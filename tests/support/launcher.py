"""The real launcher (`python -m webapp.standalone`, behind `make run` and `make demo`) run
as a user runs it, in a private instance directory on a free port, and the checks that
it stopped everything it started."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

from tests.support.polling import wait_for
from webapp.standalone.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
# What a non-interactive shell does to a command started with `&`: SIGINT ignored, and
# the ignoring inherited through exec.
IGNORING_SIGINT = ["sh", "-c", 'trap "" INT; exec "$@"', "sh"]
START_TIMEOUT_S = 120  # a new PostgreSQL cluster, migrations, gunicorn and a worker


@dataclass
class Launcher:
    process: subprocess.Popen
    base: str  # the app's URL
    tmp_path: Path
    log_path: Path
    # Every process of the run seen so far: its children live in process groups of
    # their own, and outlive a killed launcher.
    seen: list[psutil.Process] = field(default_factory=list)

    @property
    def instance(self) -> Path:
        return self.tmp_path / "instance"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def serving(self) -> bool:
        try:
            return requests.get(f"{self.base}/api/v1/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def children(self, needle: str) -> list[psutil.Process]:
        """The launcher's live descendants whose command line contains `needle`."""
        found = []
        for child in self._descendants():
            try:
                if child.status() != psutil.STATUS_ZOMBIE and needle in " ".join(
                        child.cmdline()):
                    found.append(child)
            except psutil.Error:  # gone meanwhile
                continue
        return found

    def everything(self) -> list[psutil.Process]:
        """Every process of this run: the launcher's descendants, and PostgreSQL and Redis
        (daemons in sessions of their own), found by their pid files."""
        processes = self._descendants()
        for pid_file, name in ((self.instance / "postgres" / "postmaster.pid", "postgres"),
                               (self.instance / "redis" / "server.pid", "redis-server")):
            pid = _pid(pid_file)
            if pid is None:  # not started, or stopped (psutil.Process(None) is us!)
                continue
            with contextlib.suppress(psutil.Error):
                server = psutil.Process(pid)
                if server.name() == name:  # not a stale file's pid, now another's
                    processes += [server, *server.children(recursive=True)]
        self.seen += processes
        return processes

    def _descendants(self) -> list[psutil.Process]:
        try:
            found = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        self.seen += found
        return found

    def assert_all_stopped(self, processes: list[psutil.Process], timeout: float = 60) -> None:
        """The launcher exited 0 and every process in `processes` (see everything()) is
        gone, nothing else of this run lingers and the services file is removed."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the launcher did not stop:\n{self.output()}") from None
        assert code == 0, self.output()
        _, alive = psutil.wait_procs(processes, timeout=30)
        assert not alive, [_described(p) for p in alive]
        assert not _strays(self.tmp_path), [_described(p) for p in _strays(self.tmp_path)]
        assert not (self.instance / "services.json").exists()
        assert "Stopped." in self.output()


def _pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def _described(process: psutil.Process) -> str:
    with contextlib.suppress(psutil.Error):
        return f"{process.pid} {' '.join(process.cmdline())}"
    return str(process.pid)


def _strays(tmp_path: Path) -> list[psutil.Process]:
    """Processes whose command line names this run's directory: PostgreSQL's (Redis
    renames itself; everything() finds it by its pid file)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if str(tmp_path) in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


@contextlib.contextmanager
def launched(tmp_path: Path, *args: str, prefix: Sequence[str] = (),
             **settings: str) -> Iterator[Launcher]:
    """Start the launcher with `args` and extra environment `settings`, in a session of
    its own (so a test can signal its process group, as Ctrl-C does), and wait until the
    app answers; whatever is left of the run is killed at the end.

    `prefix` runs it through a wrapper, e.g. IGNORING_SIGINT.
    """
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "APP_ENV", "STANDIN_PORT")}
    env.update(INSTANCE_PATH=str(tmp_path / "instance"), PORT=str(port),
               PYTHONPATH=str(ROOT), **settings)
    log_path = tmp_path / "launcher.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([*prefix, sys.executable, "-m", "webapp.standalone", *args],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    launcher = Launcher(process, f"http://127.0.0.1:{port}", tmp_path, log_path)

    def serving() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the launcher exited:\n{launcher.output()}")
        return launcher.serving()

    try:
        wait_for(serving, START_TIMEOUT_S, lambda: f"the app to serve:\n{launcher.output()}")
        yield launcher
    finally:
        if process.poll() is None:  # noted before they are orphaned
            launcher.everything()
        process.kill()
        process.wait()
        for leftover in launcher.seen + _strays(tmp_path):
            with contextlib.suppress(psutil.Error):
                leftover.kill()
