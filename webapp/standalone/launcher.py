"""`make run`: one command that starts everything on a machine with only Python.

Starts a private PostgreSQL and Redis from pip wheels (data under instance/) unless
DATABASE_URL / REDIS_URL are set, runs migrations, seeds the demo university and an
admin account, then serves the app with gunicorn and one RQ worker. Ctrl-C (SIGINT),
SIGTERM or closing the terminal stops everything it started. `--tableau-standin` also
starts the Tableau stand-in and points the app at it, to click "Sync now" without
Tableau; `--demo` (`make demo`) adds a local single sign-on provider, the HR stand-in and demo
accounts.

The servers' URLs carry passwords: they go to instance/services.json (mode 600),
never to the screen; `--print-url redis` prints one for tools such as `rq info`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from webapp.config import INSTANCE, ROOT, SERVICES_FILE
from webapp.standalone.hr_standin.launch import start_hr_standin
from webapp.standalone.ports import start_on_port
from webapp.standalone.supervisor import GaveUp, Running, Supervisor

if TYPE_CHECKING:  # imported where used: `--print-url` needs none of them
    from webapp.standalone.embedded import EmbeddedServer
    from webapp.standalone.hr_standin.server import HrStandIn
    from webapp.standalone.sign_on import SignOnProvider
    from webapp.standalone.tableau_standin.server import StandIn

DEFAULT_STANDIN_PORT = 8765  # `make demo`'s stand-in, unless STANDIN_PORT or taken
# `make demo`'s sign-on provider, unless SSO_PORT or taken. Better the same at each run:
# the app knows a signed-in person by the provider's URL, port included.
DEFAULT_SSO_PORT = 8766
STOP_GRACE_S = 15  # for a worker to finish its job, gunicorn its requests


@dataclass
class PrivateServers:
    """The servers this run started (none for a URL given in the environment); kept by
    name so the Redis one can be replaced when it is restarted."""

    postgres: EmbeddedServer | None = None
    redis: EmbeddedServer | None = None

    def stop(self) -> None:
        for server in (self.redis, self.postgres):  # the reverse of their start
            if server is not None:
                server.stop()


def _start_services(servers: PrivateServers) -> dict[str, str]:
    from webapp.standalone.embedded import start_postgres, start_redis, write_private

    urls = {"database_url": os.environ.get("DATABASE_URL"),
            "redis_url": os.environ.get("REDIS_URL")}
    if not urls["database_url"]:
        print("Starting the private PostgreSQL (instance/postgres)...", flush=True)
        servers.postgres = start_postgres(INSTANCE / "postgres")
        urls["database_url"] = servers.postgres.url
    if not urls["redis_url"]:
        print("Starting the private Redis (instance/redis)...", flush=True)
        servers.redis = start_redis(INSTANCE / "redis")
        urls["redis_url"] = servers.redis.url
    # So that `.venv/bin/flask --app wsgi ...` reaches the same servers while we run.
    write_private(SERVICES_FILE, json.dumps(urls))
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = urls["database_url"], urls["redis_url"]
    return urls


def _prepare_database(demo: bool = False) -> tuple[str | None, bool]:
    """Migrate, seed the demo university (and, for `make demo`, its accounts and first
    loads), ensure an admin. Returns the admin's generated password, if any, and whether
    the demo university is there."""
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.standalone.demo_data import seed_demo_university_for

    app = create_app()
    with app.app_context():
        upgrade()
        university = seed_demo_university_for(demo)
        return _ensure_admin(), university


def _ensure_admin() -> str | None:
    """The ADMIN_EMAIL account, an admin; returns its password when generated here."""
    from webapp.cli import create_user
    from webapp.extensions import db
    from webapp.models import User

    email = os.environ.get("ADMIN_EMAIL", "admin@example.org").strip().lower()
    password = os.environ.get("ADMIN_PASSWORD")
    user = db.session.execute(db.select(User).filter_by(email=email)).scalar()
    if user is not None:
        if password:  # the operator asked for this password: make it true
            user.set_password(password)
            user.admin, user.active = True, True
            db.session.commit()
        return None
    generated = None if password else secrets.token_urlsafe(12)
    create_user(email, password or generated, "Administrator", admin=True)
    return generated


def _start_tableau_standin() -> StandIn:
    """The stand-in on STANDIN_PORT if set, else on DEFAULT_STANDIN_PORT or, when that is
    taken (say by another `make demo`), on any free port; the app is pointed at it.

    Raises:
        SystemExit: STANDIN_PORT is not a port number, or is taken.
    """
    from webapp.standalone.tableau_standin.server import StandIn

    return start_on_port("Tableau stand-in", "STANDIN_PORT", DEFAULT_STANDIN_PORT,
                          lambda port: StandIn(port=port))


def _start_sign_on() -> SignOnProvider:
    """The single sign-on provider, on SSO_PORT or DEFAULT_SSO_PORT like the stand-in;
    the app (and its workers) sign in with it.

    Raises:
        SystemExit: SSO_PORT is not a port number, or is taken.
    """
    from webapp.standalone.sign_on import SignOnProvider

    if importlib.util.find_spec("oidc_provider_mock") is None:
        raise SystemExit("The demo's sign-on provider (oidc-provider-mock) is not installed: "
                         "`make demo` installs it, or `.venv/bin/pip install -r "
                         "requirements-demo.txt`.")
    return start_on_port(
        "sign-on provider", "SSO_PORT", DEFAULT_SSO_PORT, SignOnProvider,
        caveat=f" People who signed in through port {DEFAULT_SSO_PORT} before are refused "
               "on this one: the app knows them by the provider's URL.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tableau-standin", action="store_true",
                        help="also start the Tableau stand-in and sync from it")
    parser.add_argument("--demo", action="store_true",
                        help="`make demo`: the Tableau stand-in, a single sign-on provider "
                             "and demo accounts")
    parser.add_argument("--workers", type=int, default=1, help="RQ workers to start")
    parser.add_argument("--print-url", choices=("database", "redis"),
                        help="print that URL of the running `make run`, with its password")
    args = parser.parse_args(argv)
    if args.print_url:
        print_url(args.print_url)
        return

    INSTANCE.mkdir(parents=True, exist_ok=True)
    servers = PrivateServers()
    supervisor = Supervisor(log=lambda line: print(line, flush=True))
    # A script that starts us in the background (`make run &`) hands SIGINT down
    # ignored: take it back. Each of these signals ends the run wherever it is, start-up
    # included; our children, in process groups of their own, never see the terminal's.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # nohup's is meant
        signal.signal(signal.SIGHUP, _interrupt)  # the terminal closed
    # First, so that a taken STANDIN_PORT or SSO_PORT is said before anything is started
    # (both serve from daemon threads: a refusal of the second ends the first with us).
    standin = _start_tableau_standin() if args.tableau_standin or args.demo else None
    sign_on = _start_sign_on() if args.demo else None
    hr_standin = start_hr_standin() if args.demo else None
    try:
        urls = _start_services(servers)
        generated, university = _prepare_database(demo=args.demo)
        port = os.environ.get("PORT", "5000")
        _supervise_redis(supervisor, servers, urls["redis_url"])
        python = sys.executable
        for n in range(1, args.workers + 1):
            supervisor.add(f"worker standalone-worker-{n}", _child(
                [python, str(ROOT / "worker.py"), "--name", f"standalone-worker-{n}"]))
        supervisor.add("web server", _child([
            python, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
            "--threads", "8", "--timeout", "300", "--access-logfile", "-", "wsgi:app"]))
        _banner(port, urls, generated, standin.base_url if standin else None, sign_on,
                demo_accounts=args.demo and university,
                hr_url=hr_standin.base_url if hr_standin else None)
        while True:
            time.sleep(0.5)
            supervisor.check()
    except KeyboardInterrupt:
        pass
    except GaveUp as error:
        print(error, flush=True)
    finally:
        _stop_everything(supervisor, [standin, sign_on, hr_standin], servers)


def _stop_everything(supervisor: Supervisor,
                     threaded: list[StandIn | SignOnProvider | HrStandIn | None],
                     servers: PrivateServers) -> None:
    # A second Ctrl-C must not cut the stop short and leave PostgreSQL and Redis running.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    print("\nStopping...", flush=True)
    # Redis goes last, with the servers below: workers finishing a job still need it.
    children = [process.handle for process in supervisor.processes
                if process.name != "Redis" and isinstance(process.handle, subprocess.Popen)
                and process.handle.poll() is None]
    for child in children:
        # Once: gunicorn stops its workers, an RQ worker finishes its job and exits.
        child.send_signal(signal.SIGINT)
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(STOP_GRACE_S)
        # Then whatever is left of its group: a gunicorn worker that did not stop, a
        # work horse still busy.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    for server in threaded:  # the stand-in and the sign-on provider: threads of ours
        if server is not None:
            server.stop()
    servers.stop()
    SERVICES_FILE.unlink(missing_ok=True)
    print("Stopped. Data is kept under instance/ for the next run.", flush=True)


def _child(command: list[str]) -> Callable[[], subprocess.Popen]:
    """How to start a child: in a process group of its own, so that Ctrl-C reaches only
    the launcher, which stops each child once and can then kill all that is left of it."""
    return functools.partial(subprocess.Popen, command, cwd=ROOT, process_group=0)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM and SIGHUP stop the run the way Ctrl-C does


class _Pid:
    """A process we did not start (a Redis left by an earlier run), watched by its pid."""

    def __init__(self, pid: int):
        self.pid = pid

    def poll(self) -> int | None:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return -1
        except PermissionError:
            pass
        return None


def _supervise_redis(supervisor: Supervisor, servers: PrivateServers, url: str) -> None:
    """The private Redis, if we run one, is restarted on the same port, so every URL stays
    right; workers and the web app reconnect on their own."""
    from webapp.standalone.embedded import start_redis

    if servers.redis is None:
        return  # REDIS_URL was given: not ours to restart
    started_once = False  # the first call takes the server _start_services started

    def start() -> Running:
        nonlocal started_once
        if started_once:  # it died
            servers.redis = start_redis(INSTANCE / "redis", port=urlsplit(url).port)
        started_once = True
        return servers.redis.process or _Pid(servers.redis.pid)

    supervisor.add("Redis", start)


def print_url(service: str) -> None:
    try:
        urls = json.loads(SERVICES_FILE.read_text())
    except FileNotFoundError:
        sys.exit(f"{SERVICES_FILE} is missing: is `make run` running?")
    print(urls[f"{service}_url"])


def masked(url: str) -> str:
    """The URL with its password, if any, replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _banner(port: str, urls: dict[str, str], generated: str | None,
            standin_url: str | None = None, sign_on: SignOnProvider | None = None,
            demo_accounts: bool = False, hr_url: str | None = None) -> None:
    email = os.environ.get("ADMIN_EMAIL", "admin@example.org")
    lines = ["", f"Carbon Sync is running on http://127.0.0.1:{port}",
             f"  PostgreSQL: {masked(urls['database_url'])}",
             f"  Redis:      {masked(urls['redis_url'])}",
             *([f"  Tableau:    {standin_url} (the stand-in: fake flights for 2023-2025)"]
               if standin_url else []),
             *([f"  HR API:     {hr_url} (the stand-in: people of 14 units, 2023-2025)"]
               if hr_url else []),
             f"  Passwords:  in {SERVICES_FILE} (readable by you only)",
             '  Queues:     .venv/bin/rq info -u "$(.venv/bin/python -m webapp.standalone '
             '--print-url redis)"']
    if generated:
        lines += [f"  Admin:      {email} / {generated}   (shown once: write it down)"]
    else:
        lines += [f"  Admin:      {email}"]
    if sign_on is not None:
        lines += _demo_lines(sign_on, demo_accounts)
    lines += ["Ctrl-C stops everything.", ""]
    print("\n".join(lines), flush=True)


def _demo_lines(sign_on: SignOnProvider, demo_accounts: bool) -> list[str]:
    """Who a visitor can be in `make demo`: the demo accounts (password login), and the
    people of the sign-on provider ("Log in with your university account")."""
    from webapp.standalone.demo_accounts import DEMO_ACCOUNTS
    from webapp.standalone.sign_on import DEMO_PEOPLE

    lines = [f"  Sign-on:    {sign_on.issuer}, a local OpenID Connect provider: "
             '"Log in with your university account" and pick']
    lines += [f"    {person.described()}" for person in DEMO_PEOPLE]
    if demo_accounts:  # not made beside units of the operator's own
        lines += ["  Demo users: password login; each sees its unit and the units below it"]
        lines += [f"    {account.described()}" for account in DEMO_ACCOUNTS]
    return lines
