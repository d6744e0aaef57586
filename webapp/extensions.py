"""Extensions created unbound here and bound to the app in create_app()."""

from __future__ import annotations

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from redis import Redis
from rq import Queue

db = SQLAlchemy()
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
# No default limits: only the routes that ask for one (the login form) are limited.
# create_app points its storage at the app's Redis, so every web process shares counters.
# moving-window: a limit of N per 15 minutes never lets 2N through across a window edge.
limiter = Limiter(key_func=get_remote_address, strategy="moving-window")


def redis_connection() -> Redis:
    """One Redis client per app (clients are thread-safe and pool their connections).

    Timeouts of 2 s: a Redis that is down or hung must not hold a request for long. (An
    RQ worker raises the read timeout on its own connection above its blocking dequeue.)
    """
    conn = current_app.extensions.get("carbon_redis")
    if conn is None:
        conn = Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=2,
                              socket_connect_timeout=2)
        current_app.extensions["carbon_redis"] = conn
    return conn


def ingestion_queue() -> Queue:
    return Queue(current_app.config["RQ_QUEUE"], connection=redis_connection())
