"""The test harness: a real PostgreSQL and a real Redis (private ones started from the
pip wheels unless TEST_DATABASE_URL / TEST_REDIS_URL are set), migrated once; each test
starts from truncated tables and a flushed Redis database; real RQ worker processes.

The fixtures live in the plugins under tests/support/: servers (PostgreSQL, Redis, the
Tableau and HR stand-ins, db_url), app (app, ctx, clean_state), accounts (create_user,
api_token, api, admin_api and ApiClient), workers (worker, start_worker, worker_env,
wait_idle, idle_queue).
"""

import pytest

pytest.register_assert_rewrite("tests.support")  # before the import below imports it
# Names tests imported from here before the split keep working.
from tests.support.accounts import ApiClient  # noqa: E402, F401
from tests.support.settings import PLUGINS, TEST_SETTINGS, tableau_settings  # noqa: E402, F401
from tests.support.workers import WorkerProcess  # noqa: E402, F401

pytest_plugins = ["tests.support.servers", "tests.support.app", "tests.support.accounts",
                  "tests.support.workers", "tests.support.oidc"]
