"""The standalone mode's private servers ask for passwords (issue 11): PostgreSQL with
SCRAM only and a non-superuser app role owning its database, Redis with requirepass;
the credentials and the launcher's services file are readable by their owner only, and
the banner never prints a password. These tests start servers of their own."""

from __future__ import annotations

import json
import socket
import stat
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import psycopg
import pytest
from redis import Redis

from webapp.standalone import embedded, launcher


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _port(url: str) -> int:
    return urlsplit(url).port


@pytest.fixture(scope="module")
def upgraded_postgres(tmp_path_factory):
    """A cluster made the way older versions did (trust auth, tables owned by the
    superuser), then started by start_postgres: it must come back password-protected."""
    data_dir = tmp_path_factory.mktemp("legacy") / "pg"
    data_dir.mkdir()
    run_as = embedded._prepare_for_system_user(data_dir)
    subprocess.run([embedded._pg_bin("initdb"), "-D", str(data_dir), "-U", "postgres",
                    "--auth=trust", "--no-instructions"], check=True, capture_output=True,
                   user=run_as)
    port = embedded.free_port()
    subprocess.run([embedded._pg_bin("pg_ctl"), "-D", str(data_dir), "-l",
                    str(data_dir / "server.log"), "-o",
                    f"-h 127.0.0.1 -p {port} -c unix_socket_directories=''", "-w", "start"],
                   check=True, capture_output=True, user=run_as)
    trust = f"postgresql://postgres@127.0.0.1:{port}"
    with psycopg.connect(f"{trust}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE legacy")
    with psycopg.connect(f"{trust}/legacy", autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id serial PRIMARY KEY, note text)")
        conn.execute("INSERT INTO kept (note) VALUES ('from before')")
    server = embedded.start_postgres(data_dir, "legacy")  # stops the trusting one first
    yield server, data_dir
    server.stop()


def test_postgres_refuses_the_superuser_without_its_password(upgraded_postgres):
    server, data_dir = upgraded_postgres
    port = _port(server.url)
    for url in (f"postgresql://postgres@127.0.0.1:{port}/postgres",
                f"postgresql://postgres:wrong@127.0.0.1:{port}/postgres",
                f"postgresql://carbonsync@127.0.0.1:{port}/legacy"):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(url, connect_timeout=5)
    hba = [line for line in (data_dir / "pg_hba.conf").read_text().splitlines()
           if line.strip() and not line.startswith("#")]
    assert hba and all(line.split()[-1] == "scram-sha-256" for line in hba)
    with psycopg.connect(server.admin_url) as conn:  # the superuser, with its password
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
                            ).fetchone() == (True,)


def test_the_app_role_is_no_superuser_and_owns_its_database(upgraded_postgres):
    server, _ = upgraded_postgres
    assert urlsplit(server.url).username == "carbonsync"
    with psycopg.connect(server.url) as conn:
        role = conn.execute("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles "
                            "WHERE rolname = current_user").fetchone()
        assert role == (False, False, False)
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database "
                             "WHERE datname = current_database()").fetchone()
        assert owner == ("carbonsync",)
        # The older version's table is handed over with its data; migrations can alter it.
        assert conn.execute("SELECT note FROM kept").fetchall() == [("from before",)]
        conn.execute("ALTER TABLE kept ADD COLUMN extra int")
        conn.execute("INSERT INTO kept (note) VALUES ('now')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE ROLE intruder SUPERUSER")


def test_postgres_passwords_are_kept_private_and_reused(upgraded_postgres):
    server, data_dir = upgraded_postgres
    credentials = data_dir / embedded.CREDENTIALS
    assert _mode(credentials) == 0o600
    assert urlsplit(server.url).password in credentials.read_text()
    again = embedded.start_postgres(data_dir, "legacy")  # a second `make run`: reused
    assert (again.url, again.admin_url) == (server.url, server.admin_url)


def test_redis_refuses_commands_without_the_password(tmp_path):
    server = embedded.start_redis(tmp_path)
    try:
        with socket.create_connection(("127.0.0.1", _port(server.url)), timeout=5) as sock:
            sock.sendall(b"SET stolen 1\r\n")
            assert sock.recv(200).startswith(b"-NOAUTH")
        assert Redis.from_url(server.url).ping()
        password = urlsplit(server.url).password
        assert _mode(tmp_path / embedded.CREDENTIALS) == 0o600
        assert _mode(tmp_path / "redis.conf") == 0o600
        assert password not in " ".join(psutil.Process(server.process.pid).cmdline())
        again = embedded.start_redis(tmp_path)  # reused, same password
        assert again.url == server.url and again.pid == server.process.pid
    finally:
        server.stop()


def test_the_services_file_is_private_and_the_banner_masks_passwords(
        tmp_path, monkeypatch, capsys):
    urls = {"database_url": "postgresql://carbonsync:pg-secret-1@127.0.0.1:5432/carbonsync",
            "redis_url": "redis://:redis-secret-2@127.0.0.1:6379/0"}
    services = tmp_path / "services.json"
    services.write_text("{}")
    services.chmod(0o644)  # a file left by an older version
    monkeypatch.setattr(launcher, "SERVICES_FILE", services)
    monkeypatch.setenv("DATABASE_URL", urls["database_url"])  # no servers to start, and
    monkeypatch.setenv("REDIS_URL", urls["redis_url"])  # the launcher's writes are undone
    assert launcher._start_services(launcher.PrivateServers()) == urls
    assert _mode(services) == 0o600 and json.loads(services.read_text()) == urls

    launcher._banner("5000", urls, None, "http://127.0.0.1:8765")
    banner = capsys.readouterr().out
    assert "pg-secret-1" not in banner and "redis-secret-2" not in banner
    assert "postgresql://carbonsync:***@127.0.0.1:5432/carbonsync" in banner
    assert "redis://:***@127.0.0.1:6379/0" in banner
    assert "\n  Tableau:    http://127.0.0.1:8765 (the stand-in" in banner
    assert 'rq info -u "$(.venv/bin/python -m webapp.standalone --print-url redis)"' in banner

    launcher.main(["--print-url", "redis"])
    assert capsys.readouterr().out.strip() == urls["redis_url"]


def test_a_taken_standin_port_asked_for_is_refused_with_a_sentence(monkeypatch):
    """STANDIN_PORT is the operator's choice: taken, the demo stops before starting
    anything, rather than move the stand-in elsewhere (unset, it would move)."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        monkeypatch.setenv("STANDIN_PORT", str(port))
        with pytest.raises(SystemExit, match=f"STANDIN_PORT={port} is in use by another "
                                             "program: stop it, choose another port, or "
                                             "unset STANDIN_PORT"):
            launcher._start_tableau_standin()


def test_a_taken_sso_port_asked_for_is_refused_with_a_sentence(monkeypatch):
    """SSO_PORT, like STANDIN_PORT: taken, `make demo` stops before starting anything."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        monkeypatch.setenv("SSO_PORT", str(port))
        with pytest.raises(SystemExit, match=f"SSO_PORT={port} is in use by another "
                                             "program: stop it, choose another port, or "
                                             "unset SSO_PORT"):
            launcher._start_sign_on()


def test_the_demo_banner_shows_who_a_visitor_can_be(monkeypatch, capsys):
    from webapp.standalone.demo_accounts import DEMO_ACCOUNTS
    from webapp.standalone.sign_on import DEMO_PEOPLE, SignOnProvider

    provider = SignOnProvider(port=8766)  # not started: the banner reads its settings only
    urls = {"database_url": "postgresql://carbonsync:x@127.0.0.1:5432/c",
            "redis_url": "redis://:y@127.0.0.1:6379/0"}
    launcher._banner("5000", urls, None, "http://127.0.0.1:8765", provider, demo_accounts=True)
    banner = capsys.readouterr().out
    assert "\n  Sign-on:    http://localhost:8766, a local OpenID Connect provider" in banner
    assert "    lab-editor         editor of F1150 (lab.editor@university.example.org)" in banner
    for account in DEMO_ACCOUNTS:  # password logins, with the passwords to type
        assert f"    {account.email} / {account.password}   {account.role} of " in banner
    assert len(DEMO_PEOPLE) == 3 and provider.client_secret not in banner
    launcher._banner("5000", urls, None, None, provider)  # the operator's own units
    assert "Demo users" not in capsys.readouterr().out
