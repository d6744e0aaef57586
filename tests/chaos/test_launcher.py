"""`make run` and `make demo` end to end, each in a private instance directory: it serves,
a SIGKILLed worker and a SIGKILLed Redis come back by themselves (the same Redis port, so
every URL stays right), `make demo` shows the demo university, syncs from its Tableau
stand-in (on a free port when the default one is taken) and signs people in through its
own OpenID Connect provider, and SIGINT (Ctrl-C, even when the shell made the launcher
ignore it), SIGTERM or SIGHUP stops everything it started, restarting nothing."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket

import psycopg
import pytest
import requests
from redis import Redis
from rq import Worker

from tests.support.launcher import IGNORING_SIGINT, launched
from tests.support.polling import wait_for
from tests.support.sso import authorize
from tests.support.web import CSRF_META
from webapp.standalone.embedded import free_port
from webapp.standalone.launcher import DEFAULT_STANDIN_PORT
from webapp.standalone.tableau_standin.dataset import CENTRES

ADMIN = {"email": "demo-admin@example.org", "password": "demo-admin-password-1"}


def test_dead_children_come_back_and_sigterm_stops_everything_even_frozen(tmp_path):
    with launched(tmp_path) as run:
        worker = wait_for(lambda: run.children("worker.py"), 30, "the worker")[0]
        worker.kill()
        wait_for(lambda: [w for w in run.children("worker.py") if w.pid != worker.pid],
                 30, "a new worker")
        assert "worker standalone-worker-1 exited (code -9)" in run.output()

        pid_file = run.instance / "redis" / "server.pid"
        redis_pid, redis_port = map(int, pid_file.read_text().split())
        os.kill(redis_pid, signal.SIGKILL)
        wait_for(lambda: pid_file.read_text().split()[0] != str(redis_pid), 30, "a new Redis")
        new_pid, new_port = map(int, pid_file.read_text().split())
        assert new_port == redis_port
        wait_for(run.serving, 30, "healthz to see Redis again")
        assert "Redis restarted." in run.output()
        redis_url = json.loads((run.instance / "services.json").read_text())["redis_url"]
        wait_for(lambda: "standalone-worker-1" in {
            worker.name for worker in Worker.all(connection=Redis.from_url(redis_url))},
            60, "the worker to listen on the new Redis")

        # A web worker that cannot stop (frozen) is killed, not left behind.
        frozen = wait_for(lambda: [p for p in run.children("gunicorn")
                                   if p.parent().pid != run.process.pid], 30, "a web worker")[0]
        frozen.suspend()
        everything = run.everything()
        assert new_pid in {process.pid for process in everything}
        assert "Sign-on:" not in run.output()  # `make run` has no sign-on provider
        assert requests.get(f"{run.base}/login/sso", timeout=5).status_code == 404
        run.process.terminate()  # SIGTERM to the launcher alone, as `kill` or systemd sends
        run.assert_all_stopped(everything)
        with pytest.raises(requests.RequestException):
            requests.get(f"{run.base}/login", timeout=2)


def test_ctrl_c_stops_make_run_started_in_the_background(tmp_path):
    """A script starts `make run &` with SIGINT ignored; a SIGINT to the process group
    must still stop everything, not stop the children for the launcher to restart."""
    with launched(tmp_path, prefix=IGNORING_SIGINT) as run:
        wait_for(lambda: run.children("worker.py"), 30, "the worker")
        everything = run.everything()
        os.killpg(run.process.pid, signal.SIGINT)
        run.assert_all_stopped(everything)
        assert "restart" not in run.output()


def test_closing_the_terminal_stops_everything(tmp_path):
    """The hangup reaches only the launcher (its children have process groups of their
    own), which stops them all."""
    with launched(tmp_path) as run:
        everything = run.everything()
        os.killpg(run.process.pid, signal.SIGHUP)
        run.assert_all_stopped(everything)


@pytest.fixture
def default_standin_port_taken():
    """Something else listens on the stand-in's default port (if something already
    does, another demo say, so much the better)."""
    with socket.socket() as blocker:
        with contextlib.suppress(OSError):
            blocker.bind(("127.0.0.1", DEFAULT_STANDIN_PORT))
            blocker.listen()
        yield


def test_make_demo_syncs_from_the_standin_and_ctrl_c_stops_it(
        tmp_path, default_standin_port_taken):
    settings = {"ADMIN_EMAIL": ADMIN["email"], "ADMIN_PASSWORD": ADMIN["password"],
                "SSO_PORT": str(free_port()), "HR_STANDIN_PORT": str(free_port())}
    with launched(tmp_path, "--demo", **settings) as run:
        banner = re.search(r"\n  Tableau: +(http://127\.0\.0\.1:(\d+)) ", run.output())
        assert banner, run.output()
        standin, port = banner.group(1), int(banner.group(2))
        assert port != DEFAULT_STANDIN_PORT
        # The first start loads eleven labs' flights: real jobs, through the stand-in.
        first_loads = wait_for(lambda: _demo_loads_done(run.instance), 90,
                               "the demo's first loads")
        assert first_loads == {"completed": 11}, first_loads
        before = requests.get(f"{standin}/_standin/state", timeout=5).json()["requests"]
        assert before > 0

        browser = _logged_in(run.base)
        _assert_the_demo_university(browser, run.base)
        issuer = f"http://localhost:{settings['SSO_PORT']}"
        assert f"\n  Sign-on:    {issuer}, " in run.output()
        _assert_sign_on_gives_the_claimed_membership(run.base, issuer)
        job_id = _sync_now(browser, run.base, _module(run.instance))
        job = wait_for(lambda: (body := browser.get(
            f"{run.base}/api/v1/sync/status/{job_id}", timeout=5).json())["status"]
            not in ("pending", "processing") and body, 60, f"job {job_id} to end")
        assert job["status"] == "completed", job
        assert job["counts"]["inserted"] > 0, job
        assert requests.get(f"{standin}/_standin/state", timeout=5).json()["requests"] > before
        # The HR stand-in answers the headcount module's HR sync, with its bad records.
        hr = f"http://127.0.0.1:{settings['HR_STANDIN_PORT']}"
        assert f"\n  HR API:     {hr} " in run.output()
        job_id = _sync_now(browser, run.base, _module(run.instance, "headcount"), "hr_api",
                           "filter_unit_code")
        job = wait_for(lambda: (body := browser.get(
            f"{run.base}/api/v1/sync/status/{job_id}", timeout=5).json())["status"]
            not in ("pending", "processing") and body, 60, f"job {job_id} to end")
        assert job["status"] == "completed" and job["counts"]["inserted"] > 0, job
        assert job["errors_total"] > 0, job  # F0892 always has a bad record

        everything = run.everything()
        os.killpg(run.process.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        run.assert_all_stopped(everything)
        with pytest.raises(requests.RequestException):
            requests.get(f"{standin}/_standin/state", timeout=2)
        with pytest.raises(requests.RequestException):
            requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2)
        with pytest.raises(requests.RequestException):
            requests.post(f"{hr}/oauth/token", timeout=2)


def _demo_loads_done(instance) -> dict[str, int] | None:
    """The demo's Tableau jobs by status, once none is pending or processing."""
    url = json.loads((instance / "services.json").read_text())["database_url"]
    with psycopg.connect(url) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM data_ingestion_jobs "
                                     "WHERE provider_type = 'tableau_api' GROUP BY status"
                                     ).fetchall())
    return statuses if statuses and not {"pending", "processing"} & set(statuses) else None


def _assert_the_demo_university(browser: requests.Session, base: str) -> None:
    """A school, three institutes, twelve labs (the stand-in's centres), two open years."""
    units = browser.get(f"{base}/api/v1/units?limit=100", timeout=10).json()["items"]
    parents = {unit["code"]: unit["parent_code"] for unit in units}
    roots = [code for code, parent in parents.items() if parent is None]
    institutes = [code for code, parent in parents.items() if parent in roots]
    labs = sorted(code for code, parent in parents.items() if parent in institutes)
    assert (len(roots), len(institutes), labs) == (1, 3, sorted(CENTRES[:12])), parents
    years = browser.get(f"{base}/api/v1/years", timeout=10).json()["items"]
    assert [(y["year"], y["open"], y["inventories"]) for y in years] == [
        (2024, True, 16), (2025, True, 16)]


def _assert_sign_on_gives_the_claimed_membership(base: str, issuer: str) -> None:
    """The provider answers its discovery document; "Log in with your university
    account" goes to it, and back in as its lab editor, a member of that lab."""
    discovery = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=5)
    assert discovery.json()["issuer"] == issuer
    visitor = requests.Session()
    assert "Log in with your university account" in visitor.get(f"{base}/login",
                                                                timeout=5).text
    to_provider = visitor.get(f"{base}/login/sso", allow_redirects=False, timeout=5)
    assert to_provider.status_code == 302
    assert to_provider.headers["Location"].startswith(f"{issuer}/oauth2/authorize?")
    back = visitor.get(authorize(to_provider.headers["Location"], "lab-editor"),
                       allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text[:500]
    me = visitor.get(f"{base}/api/v1/me", timeout=5).json()
    assert me["memberships"] == [{"unit_code": CENTRES[5], "role": "editor", "source": "sso"}]


def _logged_in(base: str) -> requests.Session:
    browser = requests.Session()
    token = CSRF_META.search(browser.get(f"{base}/login", timeout=5).text).group(1)
    response = browser.post(f"{base}/login", data={**ADMIN, "csrf_token": token},
                            allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:500]
    return browser


def _module(instance, module_type: str = "travel") -> int:
    """F0892's module of that type in 2025."""
    url = json.loads((instance / "services.json").read_text())["database_url"]
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT m.id FROM modules m JOIN inventories i "
                            "ON i.id = m.inventory_id WHERE m.module_type = %s "
                            "AND i.year = 2025 AND i.unit_code = 'F0892'",
                            (module_type,)).fetchone()[0]


def _sync_now(browser: requests.Session, base: str, module_id: int,
              provider_type: str = "tableau_api",
              unit_filter: str = "filter_centre_financier") -> int:
    """Send the module page's Sync form for F0892; the started job's id."""
    page = browser.get(f"{base}/modules/{module_id}", timeout=10).text
    token = CSRF_META.search(page).group(1)
    response = browser.post(f"{base}/modules/{module_id}/sync", data={
        "provider_type": provider_type, "year": "2025", unit_filter: "F0892",
        "csrf_token": token}, allow_redirects=False, timeout=10)
    assert response.status_code == 303, response.text[:1000]
    return int(re.search(r"#job-(\d+)$", response.headers["Location"]).group(1))
