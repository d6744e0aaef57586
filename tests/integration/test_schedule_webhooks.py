"""The failure webhook (SPEC §11) and where it may go (§12 continued), with real HTTP(S)
listeners on 127.0.0.1 as receivers: inside addresses refused when a schedule is stored
and again when a notice is sent (unless WEBHOOK_ALLOW_PRIVATE), the POST sent to the
address that was checked, redirects never followed, and a real worker's loop announcing
a failed job; webhook URLs masked for those who may not change the schedule. DNS is
faked only by a stand-in resolver for names a test makes up."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest

from tests.support.listeners import TEST_CA, Listener
from tests.support.polling import wait_for
from tests.support.schedules import (
    DAILY,
    TRAVEL,
    create,
    make_due,
    scheduled_jobs,
    start_workers,
)
from tests.support.web import logged_in_client
from webapp.schedules.webhook import check_url, deliver

NOTICE = {"job_id": 7, "status": "failed", "message": "boom"}
HOOK = "https://hooks.example.org/services/T00/B00/s3cr3t-token?channel=carbon"
REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def listeners():
    """Factory: listeners(answers=..., tls=...) -> a running Listener; all stopped after."""
    started: list[Listener] = []

    def start(**kwargs) -> Listener:
        started.append(Listener(**kwargs))
        return started[-1]

    yield start
    for listener in started:
        listener.stop()


class StandInDNS:
    """Answers each lookup of a name in `answers` with the next list of addresses, and
    fails lookups past the last; other hosts go to the real resolver as numeric hosts
    only, so no query leaves the machine. `lookups` lists every host asked for."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def getaddrinfo(self, host, port, *args, **kwargs):
        self.lookups.append(host)
        if host not in self.answers:
            return REAL_GETADDRINFO(host, port, *args, flags=socket.AI_NUMERICHOST)
        if not self.answers[host]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
                for address in self.answers[host].pop(0)]


@pytest.fixture
def dns(monkeypatch) -> StandInDNS:
    stand_in = StandInDNS()
    monkeypatch.setattr(socket, "getaddrinfo", stand_in.getaddrinfo)
    return stand_in


# -- stored: refused at request ----------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "2130706433",
                                  "0x7f000001", "0177.0.0.1", "169.254.169.254", "10.0.0.1"])
def test_a_schedule_with_an_inside_webhook_is_422_on_create_and_patch(api, host):
    url = f"http://{host}:9/hooks/carbon?token=abc"
    refused = api.post("/schedules", json={**DAILY, "webhook_url": url})
    assert refused.status_code == 422 and refused.get_json()["field"] == "webhook_url"
    assert "public addresses" in refused.get_json()["message"]
    created = create(api)
    patched = api.client.patch(f"/api/v1/schedules/{created['id']}", headers=api.headers,
                               json={"webhook_url": url})
    assert patched.status_code == 422 and "public addresses" in patched.get_json()["message"]
    assert api.get("/schedules").get_json()["total"] == 1


def test_userinfo_in_a_webhook_is_422_and_the_opt_in_admits_inside_receivers(
        app, api, monkeypatch):
    refused = api.post("/schedules", json={
        **DAILY, "webhook_url": "http://user:hunter2@127.0.0.1:9/hook"})
    assert refused.status_code == 422
    assert "user name or password" in refused.get_json()["message"]
    assert "hunter2" not in refused.get_data(as_text=True)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    assert create(api, webhook_url="http://127.0.0.1:9/hook")["webhook_url"] \
        == "http://127.0.0.1:9/hook"


# -- shown: in full to those who may change the schedule ---------------------------------

def test_webhook_urls_are_masked_for_viewers_in_the_api_and_on_the_page(
        app, api, create_user, api_token, dns):
    from tests.support.accounts import ApiClient

    dns.answers["hooks.example.org"] = [["93.184.215.14"]]  # checked, never connected to
    created = create(api, webhook_url=HOOK)
    assert created["webhook_url"] == HOOK  # its editor, who just sent it
    viewer_user = create_user("viewer")
    viewer = ApiClient(app.test_client(), api_token(viewer_user))
    masked = "https://hooks.example.org/…"
    assert viewer.get(f"/schedules/{created['id']}").get_json()["webhook_url"] == masked
    assert viewer.get("/schedules").get_json()["items"][0]["webhook_url"] == masked
    assert api.get(f"/schedules/{created['id']}").get_json()["webhook_url"] == HOOK
    assert api.get("/schedules").get_json()["items"][0]["webhook_url"] == HOOK

    page = logged_in_client(app, viewer_user).get(f"/modules/{TRAVEL}").get_data(as_text=True)
    assert masked in page and "s3cr3t" not in page
    for role in ("editor", "admin"):
        page = logged_in_client(app, create_user(role)).get(f"/modules/{TRAVEL}")
        assert HOOK.replace("&", "&amp;") in page.get_data(as_text=True), role


# -- sent: checked again, to the checked address, no redirects ---------------------------

def test_an_inside_receiver_gets_nothing_unless_the_opt_in_is_set(listeners):
    receiver = listeners()
    assert deliver(receiver.url(), NOTICE, allow_private=False) is False
    assert receiver.hits == []
    assert deliver(receiver.url("/hooks/carbon?token=abc"), NOTICE, allow_private=True)
    [hit] = receiver.hits
    assert (hit.method, hit.path, hit.body) == ("POST", "/hooks/carbon?token=abc", NOTICE)
    assert hit.headers["Content-Type"] == "application/json"
    assert "Authorization" not in hit.headers


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_not_followed(listeners, status):
    inside = listeners()
    redirecting = listeners(answers=[(status, {"Location": inside.url("/metadata")})])
    assert deliver(redirecting.url(), NOTICE, allow_private=True) is False
    assert len(redirecting.hits) == 1
    assert inside.hits == []


def test_the_post_goes_to_the_address_checked_not_to_a_second_lookup(listeners, dns):
    receiver = listeners()
    dns.answers["receiver.test"] = [["127.0.0.1"]]  # one answer; a second lookup fails
    url = f"http://receiver.test:{receiver.port}/hook"
    assert deliver(url, NOTICE, allow_private=True) is True
    [hit] = receiver.hits
    assert hit.headers["Host"] == f"receiver.test:{receiver.port}"
    assert dns.lookups.count("receiver.test") == 1


def test_a_name_rebound_inside_after_the_check_is_refused_at_send_time(listeners, dns):
    receiver = listeners()
    url = f"http://rebinding.test:{receiver.port}/hook"
    # Public when the schedule is stored (nothing connects then), loopback when sent.
    dns.answers["rebinding.test"] = [["93.184.215.14"], ["127.0.0.1"]]
    assert check_url(url, allow_private=False) == url
    assert deliver(url, NOTICE, allow_private=False) is False
    assert receiver.hits == []


def test_https_sends_the_urls_host_as_server_name_and_checks_its_certificate(listeners):
    receiver = listeners(tls=True)
    # The connection goes to 127.0.0.1 (the checked address); SNI, Host and the
    # certificate check use "localhost", the name the certificate holds.
    assert deliver(receiver.url(host="localhost"), NOTICE, allow_private=True,
                   ca_certs=str(TEST_CA)) is True
    [hit] = receiver.hits
    assert hit.server_name == "localhost"
    assert hit.headers["Host"] == f"localhost:{receiver.port}"
    # The certificate names no IP address: verification is on, so this one fails.
    assert deliver(receiver.url(host="127.0.0.1"), NOTICE, allow_private=True,
                   ca_certs=str(TEST_CA)) is False
    # An unknown CA fails too (the default bundle does not hold the test CA).
    assert deliver(receiver.url(host="localhost"), NOTICE, allow_private=True) is False
    assert len(receiver.hits) == 1


# -- a worker's loop ---------------------------------------------------------------------

def _failing_schedule(app, api, monkeypatch, tableau_standin, url: str) -> dict:
    """A Tableau schedule whose sign-in is refused, stored with the opt-in on."""
    tableau_standin.reset()
    tableau_standin.configure(refuse_signin=True)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    return create(api, provider_type="tableau_api", config={}, webhook_url=url)


def _fire_with_a_worker(db_url, worker_env, service_urls, tableau_standin, schedule: dict,
                        until, waiting_for: str, **env) -> str:
    """Make `schedule` due, let one real worker's loop fire it, wait until `until(output)`
    holds; the worker's output. The worker has a queue of its own: on the shared one the
    session worker, which has not `env`, could take the job and send (or not) its notice."""
    [worker] = start_workers(worker_env, service_urls, 1,
                             RQ_QUEUE=f"webhooks-{time.monotonic_ns()}", **env)
    try:
        make_due(db_url, schedule["id"], timedelta(seconds=1))
        wait_for(lambda: until(worker.output()), 45,
                 lambda: f"{waiting_for}:\n{worker.output()[-3000:]}", interval=0.2)
        return worker.output()
    finally:
        worker.stop()
        tableau_standin.reset()


def test_a_workers_loop_fires_a_due_schedule_and_announces_its_failure(
        app, api, db_url, worker_env, service_urls, tableau_standin, listeners, monkeypatch):
    receiver = listeners(answers=[(503, {}), (204, {})])
    created = _failing_schedule(app, api, monkeypatch, tableau_standin,
                                receiver.url("/hooks/carbon?token=abc"))
    output = _fire_with_a_worker(
        db_url, worker_env, service_urls, tableau_standin, created,
        lambda _: len(receiver.hits) >= 2,
        "the notice refused with 503 to be sent again", WEBHOOK_ALLOW_PRIVATE="1")
    [(job_id, status)] = scheduled_jobs(db_url, created["id"])
    assert status == "failed"
    assert len(receiver.hits) == 2, output[-3000:]  # the 503 was retried once, then 204
    assert receiver.hits[0].body == receiver.hits[1].body
    notice = receiver.hits[0].body
    assert notice["job_id"] == job_id and notice["status"] == "failed"
    assert notice["status_code"] == 401 and "401001" in notice["message"]
    assert notice["module"] == "Professional travel" and notice["schedule_id"] == created["id"]
    assert notice["url"].endswith(f"/jobs/{job_id}")
    assert "token=abc" not in output  # the webhook's query may hold a secret
    body = api.get(f"/schedules/{created['id']}").get_json()
    assert body["last_outcome"] == "failed" and body["last_job_id"] == job_id
    assert api.get(f"/sync/status/{job_id}").get_json()["schedule_id"] == created["id"]


def test_without_the_opt_in_a_worker_never_reaches_an_inside_receiver(
        app, api, db_url, worker_env, service_urls, tableau_standin, listeners, monkeypatch):
    receiver = listeners()
    created = _failing_schedule(app, api, monkeypatch, tableau_standin,
                                receiver.url("/hooks/carbon?token=abc"))
    output = _fire_with_a_worker(  # WEBHOOK_ALLOW_PRIVATE unset
        db_url, worker_env, service_urls, tableau_standin, created,
        lambda output: "not sent" in output, "the worker to log the notice it did not send")
    [(_, status)] = scheduled_jobs(db_url, created["id"])
    assert status == "failed"
    assert "a loopback address" in output and "token=abc" not in output, output[-3000:]
    assert receiver.hits == []
