"""Who may call what. Every route in the URL map must be classified in EXPECTED (or belong
to a page blueprint handled generically), so a new route cannot ship unclassified; the
walk calls each one as members of different units with different roles (SPEC §13)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import pytest

from tests.support.web import csrf_token, logged_in_client, login

PUBLIC, ANY_USER, VIEWER, EDITOR, ADMIN = "public", "any user", "viewer", "editor", "admin"
# People rather than one unit: MANAGER routes are for admins and the managers of any unit
# (each sees the users of the units they manage); OWNER routes (a user's API tokens) for
# the user themself and admins.
MANAGER, OWNER = "manager of some unit", "the user or an admin"
EXPECTED: dict[str, dict[str, str]] = {
    "static": {"GET": PUBLIC},
    "favicon": {"GET": PUBLIC},
    "auth.login": {"GET": PUBLIC, "POST": PUBLIC},
    "auth.logout": {"POST": ANY_USER},
    "dashboard.index": {"GET": VIEWER},
    "api.healthz": {"GET": PUBLIC},
    "api.openapi_json": {"GET": VIEWER},
    "api.modules_list": {"GET": VIEWER},
    "api.modules_one": {"GET": VIEWER},
    "api.module_entries": {"GET": VIEWER},
    "api.factor_types_list": {"GET": VIEWER},
    "api.factors_list": {"GET": VIEWER},
    "api.providers_list": {"GET": VIEWER},
    "api.entry_template": {"GET": VIEWER},
    "api.factor_template": {"GET": VIEWER},
    "api.entry_template_xlsx": {"GET": VIEWER},
    "api.factor_template_xlsx": {"GET": VIEWER},
    "api.institution_template": {"GET": VIEWER},  # a template holds no unit's data
    "api.institution_template_xlsx": {"GET": VIEWER},
    "api.units_template": {"GET": VIEWER},
    "api.units_template_xlsx": {"GET": VIEWER},
    "api.sync_status": {"GET": VIEWER},
    "api.sync_history": {"GET": VIEWER},
    "api.sync_errors_csv": {"GET": VIEWER},
    "api.sync_data_entries": {"POST": EDITOR},
    "api.module_emissions": {"GET": VIEWER},
    "api.inventory_emissions": {"GET": VIEWER},
    "api.entries_csv": {"GET": VIEWER},
    "api.report_xlsx": {"GET": VIEWER},  # SPEC §15: the units the caller sees
    "reports.unit_report_page": {"GET": VIEWER},
    "api.sync_emissions": {"POST": EDITOR},
    "api.sync_factors": {"POST": ADMIN},  # SPEC §8: admins manage factors
    "api.sync_institution": {"POST": ADMIN},  # SPEC §14: every unit's rows at once
    "modules.upload_factors": {"POST": ADMIN},
    "api.sync_retry": {"POST": EDITOR},
    "api.sync_cancel": {"POST": EDITOR},
    "api.sync_apply": {"POST": EDITOR},  # the role the job's target needs, as retry
    "api.sync_undo": {"POST": EDITOR},
    "jobs.confirm_undo": {"GET": EDITOR},  # the confirmation holds the Undo button
    "audit.index": {"GET": ADMIN},
    "api.audit_list": {"GET": ADMIN},
    "api.schedules_list": {"GET": VIEWER},
    "api.schedules_one": {"GET": VIEWER},
    "api.schedules_create": {"POST": EDITOR},  # admin for factors (test_schedules.py)
    "api.schedules_update": {"PATCH": EDITOR},
    "api.schedules_delete": {"DELETE": EDITOR},
    "api.schedules_run": {"POST": EDITOR},
    "schedules.confirm_delete": {"GET": EDITOR},  # the confirmation holds the Delete button
    "api.years_list": {"GET": VIEWER},
    "api.units_list": {"GET": VIEWER},
    "api.me": {"GET": ANY_USER},
    # Admins, and managers of the unit (or above it): UNIT_MANAGED.
    "api.unit_members": {"GET": EDITOR},
    "api.unit_member_set": {"PUT": EDITOR},
    "api.unit_member_remove": {"DELETE": EDITOR},
    "api.years_create": {"POST": ADMIN},  # SPEC §13: admins create and open years
    "api.years_open": {"POST": ADMIN},
    "api.units_import": {"POST": ADMIN},  # SPEC §13: the unit tree is the admins'
    "api.units_sync": {"POST": ADMIN},
    "api.units_jobs_list": {"GET": VIEWER},  # like a module's history
    "api.users_list": {"GET": MANAGER},
    "api.users_create": {"POST": MANAGER},  # only admins create admins (test_users_api.py)
    "api.users_deactivate": {"POST": ADMIN},
    "users_admin.index": {"GET": MANAGER},
    "users_admin.create": {"POST": MANAGER},
    "users_admin.user": {"GET": MANAGER},
    "users_admin.membership_add": {"POST": MANAGER},
    "users_admin.deactivate": {"POST": ADMIN},
    "sync_admin.form": {"GET": ADMIN},  # SPEC §14: "Sync every unit"
    "sync_admin.run": {"POST": ADMIN},
    "units_admin.tree": {"GET": MANAGER},
    "units_admin.import_file": {"POST": ADMIN},
    "units_admin.members": {"GET": EDITOR},
    "units_admin.member_set": {"POST": EDITOR},
    "units_admin.member_remove": {"POST": EDITOR},
    "tokens.index": {"GET": OWNER},
    "tokens.create": {"POST": OWNER},
    "tokens.revoke": {"POST": OWNER},
    "account.time_zone": {"POST": OWNER},
}
UNIT_MANAGED = {"api.unit_members", "api.unit_member_set", "api.unit_member_remove",
                "units_admin.members", "units_admin.member_set", "units_admin.member_remove"}
# MANAGER routes about one user, MEMBER (of F0892): a manager of another school does not
# see them (404).
USER_BOUND = {"users_admin.user", "users_admin.membership_add"}
MEMBER = "member@example.org"
# EDITOR, VIEWER: the role needed in the unit the route acts on; ADMIN: an admin.
# Page blueprints still being written: any GET page is for viewers, anything else for editors.
GENERIC_PAGE_BLUEPRINTS = ("modules", "jobs", "schedules")
IGNORED_METHODS = {"HEAD", "OPTIONS"}
CSV_DIR = Path(__file__).resolve().parent.parent / "data" / "csv"


def _routes(app) -> list[tuple[str, str, object]]:
    """(endpoint, method, rule) for every route: the explicit table first, then the rest."""
    found = [(rule.endpoint, method, rule) for rule in app.url_map.iter_rules()
             for method in sorted(rule.methods - IGNORED_METHODS)]
    return sorted(found, key=lambda r: (r[0] not in EXPECTED, r[0], r[1]))


def _access(endpoint: str, method: str) -> str:
    if endpoint in EXPECTED:
        return EXPECTED[endpoint][method]
    assert endpoint.split(".")[0] in GENERIC_PAGE_BLUEPRINTS, endpoint
    return VIEWER if method == "GET" else EDITOR


def test_every_route_is_classified(app):
    unclassified = sorted(
        f"{method} {rule.rule} ({endpoint})" for endpoint, method, rule in _routes(app)
        if method not in EXPECTED.get(endpoint, {})
        and endpoint.split(".")[0] not in GENERIC_PAGE_BLUEPRINTS)
    assert not unclassified, f"classify these routes in EXPECTED: {unclassified}"
    stale = sorted(set(EXPECTED) - {rule.endpoint for rule in app.url_map.iter_rules()})
    assert not stale, f"EXPECTED lists endpoints that no longer exist: {stale}"
    for endpoint, methods in EXPECTED.items():  # admin-only routes say so before any query
        if ADMIN in methods.values():
            assert getattr(app.view_functions[endpoint], "admin_only", False), endpoint


@pytest.fixture
def jobs(app, idle_queue):
    """Real ids: a cancelled job (to retry) and a pending job (to cancel), on a queue no
    worker listens to, so nothing runs while the roles are checked. (No app context stays
    pushed: requests would share its `g`, and with it the logged-in user.)"""
    from webapp.jobs import service
    from webapp.jobs.requests import SyncRequest
    from webapp.schedules import service as schedules

    with app.app_context():
        retryable = service.create_job(SyncRequest(
            module_id=2, provider_type="synthetic", target_type="data_entries",
            year=2025), None).id
        service.cancel_job(retryable, None)
        pending = service.create_job(SyncRequest(
            module_id=1, provider_type="synthetic", target_type="data_entries",
            year=2025), None).id
        schedule, doomed, doomed_page = (schedules.create({
            "module_id": 1, "provider_type": "synthetic", "year": 2025,
            "cron": "daily"}, None).id for _ in range(3))
    return {"retryable": retryable, "pending": pending, "schedule": schedule,
            "doomed": doomed, "doomed_page": doomed_page}


def _upload(name: str, provider: str = "csv_upload") -> Callable[[], dict]:
    def body() -> dict:
        return {"data": {"provider_type": provider, "year": "2025",
                         "file": (io.BytesIO((CSV_DIR / name).read_bytes()), name)},
                "content_type": "multipart/form-data"}
    return body


def _request(endpoint: str, rule, jobs: dict) -> tuple[str, Callable[[], dict], int | None]:
    """URL, a factory of request kwargs, and the status an editor must get (None = any
    non-4xx-auth answer) for this route, built from real ids."""
    values = {"module_id": 1, "factor_type_id": 1, "job_id": jobs["pending"],
              "inventory_id": 1, "filename": "app.css", "schedule_id": jobs["schedule"],
              "year": 2025, "code": "F0892", "email": "nobody@example.org", "token_id": 1,
              "module_type": "travel"}
    body, query, editor_status = (lambda: {}), "", 200
    if endpoint == "api.providers_list":
        query = "?module_id=1"
    elif endpoint == "api.report_xlsx":
        query = "?unit=F0892"
    elif endpoint == "api.sync_data_entries":
        values["module_id"], body, editor_status = 4, _upload("purchases_cp1252_crlf.csv"), 202
    elif endpoint == "api.sync_factors":
        values.update(module_id=2, factor_type_id=1)
        body, editor_status = _upload("factors_plane.csv"), 202
    elif endpoint == "api.sync_institution":  # queued where no worker listens
        body = lambda: {"json": {"provider_type": "hr_api", "module_type": "headcount"}}  # noqa: E731
        editor_status = 202
    elif endpoint == "sync_admin.run":  # an equipment CSV for every unit, queued
        body, editor_status = (lambda: {"data": {
            "year": "2025", "module_type": "equipment", "provider_type": "csv_upload",
            "file": (io.BytesIO(b"equipment_id,name,equipment_class,unit_code\n"
                                b"EQ-1,Laptop,laptop,F0892\n"), "equipment.csv")},
            "content_type": "multipart/form-data"}), 303
    elif endpoint == "api.sync_retry":
        values["job_id"], editor_status = jobs["retryable"], 202
    elif endpoint in ("api.sync_apply", "api.sync_undo"):
        editor_status = 409  # the role passed; a pending job is no preview, no done load
    elif endpoint == "api.sync_emissions":
        editor_status = 202
    elif endpoint in ("api.schedules_run", "api.years_create"):
        # The role passed: module 1 is busy (409, recorded as skipped); the demo's year
        # exists already.
        editor_status = 409
    elif endpoint == "api.units_import":
        body, editor_status = (lambda: {"data": {"file": (io.BytesIO(
            b"code,name\nU-1,Unit\n"), "units.csv")},
            "content_type": "multipart/form-data"}), 202
    elif endpoint == "api.units_sync":
        # The role passed: no directory file is configured here.
        body, editor_status = (lambda: {"json": {"provider_type": "units_file"}}), 503
    elif endpoint == "api.schedules_create":
        body, editor_status = (lambda: {"json": {
            "module_id": 1, "provider_type": "synthetic", "year": 2025, "cron": "daily"}}), 201
    elif endpoint == "api.schedules_update":
        body = lambda: {"json": {"timezone": "Europe/Zurich"}}  # noqa: E731
    elif endpoint in ("api.unit_member_set", "api.unit_member_remove"):
        editor_status = None  # the admin passes; nobody@example.org is no user: 404
    elif endpoint in ("api.users_deactivate", "users_admin.deactivate",
                      "units_admin.member_set", "units_admin.member_remove"):
        editor_status = 404  # the role passed; nobody@example.org (or no email) is no user
    elif endpoint == "users_admin.create":
        editor_status = 422  # the manager passes; the empty form has no email
    elif endpoint == "api.users_create":  # the first allowed caller creates it, then 409
        body, editor_status = (lambda: {"json": {"email": "walked@example.org"}}), None
    elif endpoint in USER_BOUND or endpoint.startswith(("tokens.", "account.")):
        # The role passed: the empty forms name no unit, no token name; MEMBER has no
        # token 1 (it is a walker's).
        values["email"] = MEMBER
        editor_status = {"users_admin.membership_add": 404, "tokens.create": 422,
                         "tokens.revoke": 404, "account.time_zone": 303}.get(endpoint, 200)
    elif endpoint in ("api.schedules_delete", "schedules.delete"):
        values["schedule_id"] = jobs["doomed" if endpoint.startswith("api.") else "doomed_page"]
        editor_status = None
    elif endpoint == "units_admin.import_file":
        editor_status = None  # the admin passes; no file: back to the page, which says so
    elif endpoint not in EXPECTED or endpoint.startswith("modules."):
        editor_status = None  # a page: any answer that is not a refusal of the caller
    unknown = set(rule.arguments) - set(values)
    assert not unknown, f"{endpoint}: give a real value for {unknown} in _request()"
    url = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
    return url + query, body, editor_status


def _call(client, method: str, url: str, body: dict, token: str | None, headers=None):
    headers = dict(headers or {})
    if token and method != "GET":
        headers["X-CSRFToken"] = token
    return _read(client.open(url, method=method, headers=headers, **body))


def _read(response):
    """The response, read to its end and closed: a streamed one (entries.csv) holds its
    request context, with its `g` and caller, until then."""
    response.get_data()
    response.close()
    return response


def test_anonymous_callers(app, jobs):
    client = app.test_client()
    token = csrf_token(client)  # so a refusal below is about login, not CSRF
    for endpoint, method, rule in _routes(app):
        access = _access(endpoint, method)
        url, body, _ = _request(endpoint, rule, jobs)
        if access == PUBLIC:
            if method == "GET":
                assert client.get(url).status_code == 200, url
            continue
        response = _call(client, method, url, body(), token)
        where = f"{method} {url}"
        if url.startswith("/api/"):
            assert response.status_code == 401, where
            assert response.get_json()["error"] == "unauthorized", where
        else:
            assert response.status_code == 302, where
            location = urlsplit(response.location)
            assert location.path == "/login", where
            assert f"next={quote(urlsplit(url).path, safe='')}" in location.query \
                or f"next={urlsplit(url).path}" in location.query, where


def _assert_allowed(response, where: str) -> None:
    """Let through: a success, a redirect that is not to the login page, or a 4xx about
    the (empty) input, but not a refusal of who is asking, nor of the CSRF token."""
    assert response.status_code not in (401, 403), where
    assert response.status_code < 500, where
    if 300 <= response.status_code < 400:
        assert urlsplit(response.location).path != "/login", where
    assert "CSRF token" not in response.get_data(as_text=True), where


# The demo's unit F0892 (modules 1-4) between a university above it and a lab below it,
# and a school beside it: who may see and change F0892's things follows the tree.
TREE = """code,name,parent_code,active
UNI,University,,yes
F0892,Demo university,UNI,yes
LAB-1,A lab of the demo,F0892,yes
OTHER,Another school,,yes
"""
UNIT_ARGS = {"module_id", "job_id", "schedule_id", "inventory_id", "code"}
DEMO_MODULES = {1, 2, 3, 4}


def _people(app, tmp_path, create_user, api_token) -> dict[str, tuple]:
    """name -> (session client, CSRF token, bearer client)."""
    from tests.integration.test_units import run_import
    from tests.support.accounts import ApiClient

    assert run_import(app, tmp_path, TREE).exit_code == 0
    create_user("viewer", email=MEMBER)  # whom the routes about one user act on
    found = {}
    for name, role, unit in (
            ("viewer", "viewer", "F0892"), ("editor", "editor", "F0892"),
            ("manager", "manager", "F0892"), ("admin", "admin", None),
            ("university viewer", "viewer", "UNI"), ("university editor", "editor", "UNI"),
            ("lab editor", "editor", "LAB-1"), ("other manager", "manager", "OTHER")):
        user = create_user(role, unit=unit)
        client = logged_in_client(app, user)
        found[name] = (client, csrf_token(client),
                       ApiClient(app.test_client(), api_token(user)))
    return found


# Who sees F0892 and with which role there; the others see nothing of it.
SEES = {"viewer": VIEWER, "editor": EDITOR, "manager": EDITOR, "admin": ADMIN,
        "university viewer": VIEWER, "university editor": EDITOR}
BLIND = ("lab editor", "other manager")


def _leaks(response) -> list[str]:
    """What of F0892 a response shows to someone who may not see it."""
    text = response.get_data().decode(errors="replace")  # an .xlsx template is binary
    found = [word for word in ("F0892", "Demo university") if word in text]
    if response.is_json:
        body = response.get_json()
        items = body.get("items", []) if isinstance(body, dict) else []
        found += [f"module {item['module_id']}" for item in items
                  if isinstance(item, dict) and item.get("module_id") in DEMO_MODULES]
    return found


def _both(people, name, method, url, body):
    """The answers to the session and, for the API, to the bearer token of `name`."""
    client, token, bearer = people[name]
    answers = [("session", _call(client, method, url, body(), token))]
    if url.startswith("/api/"):
        answers.append(("token", _read(bearer.client.open(url, method=method,
                                                           headers=bearer.headers, **body()))))
    return answers


def test_every_route_by_unit_and_role(app, tmp_path, create_user, api_token, jobs):
    """Each route, as members of the unit it acts on, of the unit above, of a unit below
    and of another school: 200 for who may see, 403 for who sees but may not change,
    404 for who may not see (lists answer without a trace of the unit)."""
    people = _people(app, tmp_path, create_user, api_token)
    for endpoint, method, rule in _routes(app):
        access = _access(endpoint, method)
        if access in (PUBLIC, ANY_USER):
            continue
        url, body, editor_status = _request(endpoint, rule, jobs)
        where = f"{method} {url} ({endpoint})"
        if access in (MANAGER, OWNER):
            _walk_people_route(people, endpoint, access, method, url, body, editor_status)
            continue
        bound = bool(set(rule.arguments) & UNIT_ARGS) or "module_id=" in url or "unit=" in url
        for name in BLIND:
            for via, response in _both(people, name, method, url, body):
                if bound and access != ADMIN:
                    assert response.status_code == 404, (name, via, where)
                elif access == VIEWER:
                    assert response.status_code == 200, (name, via, where)
                    assert not _leaks(response), (name, via, where, _leaks(response))
                else:
                    assert response.status_code in (403, 404), (name, via, where)
        if access == VIEWER:
            for name in SEES:
                for via, response in _both(people, name, method, url, body):
                    assert response.status_code == 200, (name, via, where)
            continue
        for name, role in SEES.items():
            if role == VIEWER or (access == ADMIN and role != ADMIN) or (
                    endpoint in UNIT_MANAGED and name not in ("manager", "admin")):
                for via, response in _both(people, name, method, url, body):
                    assert response.status_code == 403, (name, via, where)
                    if url.startswith("/api/"):
                        assert response.get_json()["error"] == "forbidden", (name, where)
        allowed = "admin" if access == ADMIN else (
            "manager" if endpoint in UNIT_MANAGED else "editor")
        client, token, _ = people[allowed]
        response = _call(client, method, url, body(), token)
        if editor_status is None:
            _assert_allowed(response, f"{allowed} {where}")
        else:
            assert response.status_code == editor_status, (where, response.get_json())
        if access == EDITOR and endpoint not in UNIT_MANAGED:  # may be 409: one went first
            client, token, _ = people["university editor"]
            _assert_allowed(_call(client, method, url, body(), token), f"above {where}")


def _people_answer(endpoint: str, access: str, name: str) -> int | None:
    """The refusal `name` must get on a MANAGER or OWNER route (None: let through)."""
    if name == "admin":
        return None
    if access == OWNER:
        return 403  # MEMBER's tokens: not even a manager of their unit
    if name == "manager":
        return None
    if name == "other manager":
        return 404 if endpoint in USER_BOUND else None
    return 403  # manages no unit


def _walk_people_route(people, endpoint, access, method, url, body, editor_status):
    """Each person on a route about people: refused as _people_answer says, or let
    through, and then shown nothing of F0892 unless they manage it (or are an admin)."""
    allowed = "admin" if access == OWNER else "manager"
    for name in people:
        refusal = _people_answer(endpoint, access, name)
        for via, response in _both(people, name, method, url, body):
            where = (name, via, f"{method} {url} ({endpoint})")
            if refusal is not None:
                assert response.status_code == refusal, where
                if url.startswith("/api/"):
                    assert response.get_json()["error"] == ERROR_WORDS[refusal], where
            elif name == allowed and via == "session" and editor_status is not None:
                assert response.status_code == editor_status, where
            else:
                _assert_allowed(response, where)
                if name not in ("admin", "manager") and method == "GET":
                    assert not _leaks(response), (where, _leaks(response))


ERROR_WORDS = {403: "forbidden", 404: "not_found"}


def test_the_openapi_document_names_only_routes_the_walk_covers(app, create_user,
                                                                api_token):
    from tests.support.accounts import ApiClient

    document = ApiClient(app.test_client(), api_token(create_user("viewer"))).get(
        "/openapi.json").get_json()
    walked = {(rule.rule, method) for _, method, rule in _routes(app)}
    for path, operations in document["paths"].items():
        flask_path = "/api/v1" + re.sub(r"\{(\w+)\}", r"<\1>", path)
        for method in operations:
            if method.upper() in IGNORED_METHODS or method == "parameters":
                continue
            pattern = re.sub(r"<\w+>", "<>", flask_path)
            assert any(re.sub(r"<(?:\w+:)?\w+>", "<>", rule) == pattern
                       and walked_method == method.upper()
                       for rule, walked_method in walked), (method, path)


# -- CSRF -------------------------------------------------------------------------------

SLOW_ROW = {"rows": 1, "delay_s": 30}


def _sync_json(module_id: int) -> tuple[str, dict]:
    """A session (cookie) call: ApiClient.sync would send a bearer token instead."""
    return (f"/api/v1/sync/data-entries/{module_id}",
            {"json": {"provider_type": "synthetic", "year": 2025, "config": SLOW_ROW}})


def _job_count(app) -> int:
    from webapp.extensions import db
    from webapp.models import DataIngestionJob

    with app.app_context():
        return db.session.query(DataIngestionJob).count()


def test_csrf_on_session_api_calls(app, create_user, api_token, idle_queue):
    editor = create_user("editor")
    client = logged_in_client(app, editor)
    url, body = _sync_json(1)
    refused = client.post(url, **body)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "csrf_failed"
    assert _job_count(app) == 0
    wrong = client.post(url, headers={"X-CSRFToken": "not-the-token"}, **body)
    assert wrong.status_code == 400 and _job_count(app) == 0
    accepted = client.post(url, headers={"X-CSRFToken": csrf_token(client)}, **body)
    assert accepted.status_code == 202, accepted.get_json()
    # Bearer-token calls carry no CSRF token and need none.
    from tests.support.accounts import ApiClient

    bearer = ApiClient(app.test_client(), api_token(editor)).sync(2, config=SLOW_ROW)
    assert bearer.status_code == 202, bearer.get_json()
    assert _job_count(app) == 2


def test_csrf_on_forms(app, create_user):
    user = create_user("viewer")
    client = app.test_client()
    csrf_token(client)
    refused = client.post("/login", data={"email": user["email"], "password": "pw-viewer"})
    assert refused.status_code == 400
    assert client.get("/").status_code == 302  # not logged in
    client = logged_in_client(app, user)
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still logged in
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302 and urlsplit(response.location).path == "/login"
    assert urlsplit(client.get("/").location).path == "/login"


# -- logging in -------------------------------------------------------------------------

def test_wrong_password_is_refused(app, create_user):
    user = create_user("editor")
    client = app.test_client()
    response = login(client, user["email"], "not-the-password")
    assert response.status_code == 200
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert urlsplit(client.get("/").location).path == "/login"
    unknown = login(app.test_client(), "nobody@example.org", "x")
    assert "Wrong email or password." in unknown.get_data(as_text=True)


def test_anonymous_page_round_trip_through_login(app, create_user):
    user = create_user("viewer")
    client = app.test_client()
    bounced = client.get("/?tab=all")
    assert urlsplit(bounced.location).path == "/login"
    next_url = dict(p.split("=", 1) for p in urlsplit(bounced.location).query.split("&"))
    response = client.post(f"/login?next={next_url['next']}", data={
        "email": user["email"], "password": user["password"], "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.location == "/?tab=all"


def _browser_target(location: str) -> tuple[str, str]:
    """Where a browser would go: it drops tabs/newlines and reads '\\' as '/'."""
    cleaned = "".join(c for c in location if c not in "\t\r\n").replace("\\", "/")
    target = urlsplit(urljoin("http://carbon.test/login", cleaned))
    return target.netloc, target.path


@pytest.mark.parametrize(("next_url", "lands_on"), [
    ("/api/v1/modules?limit=5", "/api/v1/modules?limit=5"),
    ("https://evil.example/steal", "/"),
    ("//evil.example/steal", "/"),
    ("/\\evil.example/steal", None),
    ("\\\\evil.example", None),
    ("http:evil.example", None),
    ("/\t/evil.example", None),
    ("javascript:alert(1)", None),
])
def test_next_never_redirects_to_another_host(app, create_user, next_url, lands_on):
    user = create_user("viewer")
    response = login(app.test_client(), user["email"], user["password"], next_url=next_url)
    assert response.status_code == 302
    if lands_on is not None:
        assert response.location == lands_on
    assert _browser_target(response.location)[0] == "carbon.test", response.location
    assert not response.location.lower().startswith("javascript")


# -- API tokens and the CLI -------------------------------------------------------------

def _unauthorized(app, header: str | None) -> str:
    headers = {"Authorization": header} if header is not None else {}
    response = app.test_client().get("/api/v1/modules", headers=headers)
    assert response.status_code == 401
    assert response.is_json
    body = response.get_json()
    assert body["error"] == "unauthorized"
    return body["message"]


def test_token_authentication(app, create_user, api_token):
    user = create_user("viewer")
    token = api_token(user, name="ci")
    ok = app.test_client().get("/api/v1/modules", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and ok.get_json()["total"] == 4
    assert "Bearer" in _unauthorized(app, None)
    for header in ("Token abc", "Bearer", "Bearer    ", token):
        assert _unauthorized(app, header) == "Authorization header must be 'Bearer <token>'"
    assert _unauthorized(app, "Bearer cs_unknown") == "unknown API token"
    result = app.test_cli_runner().invoke(args=["tokens", "revoke", user["email"], "ci"])
    assert result.exit_code == 0 and "revoked 1 token(s)" in result.output
    assert _unauthorized(app, f"Bearer {token}") == "this API token was revoked"


def test_cli_creates_users_and_tokens(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "Ops@Example.org", "--unit", "F0892",
                                 "--role", "editor", "--password", "s3cret-pw"])
    assert result.exit_code == 0, result.output
    assert "created editor of F0892" in result.output and "s3cret-pw" not in result.output
    no_unit = runner.invoke(args=["users", "create", "x@example.org", "--role", "editor"])
    assert no_unit.exit_code != 0 and "give the unit with --unit" in no_unit.output
    again = runner.invoke(args=["users", "create", "ops@example.org", "--password", "x"])
    assert again.exit_code != 0 and "already exists" in again.output
    generated = runner.invoke(args=["users", "create", "viewer@example.org"])
    password = generated.output.split("password: ", 1)[1].strip()
    assert login(app.test_client(), "viewer@example.org", password).status_code == 302

    result = runner.invoke(args=["tokens", "create", "ops@example.org", "deploy"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0] == result.output.strip()
    token = lines[0]
    assert token.startswith("cs_") and " " not in token
    response = app.test_client().post(
        "/api/v1/sync/cancel/999999", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404  # authenticated as an editor, the job is unknown
    missing = runner.invoke(args=["tokens", "create", "nobody@example.org", "x"])
    assert missing.exit_code != 0 and "no user" in missing.output
