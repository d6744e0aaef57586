"""GET /api/v1/healthz for load balancers: is the database and Redis reachable?"""

from flask import jsonify
from sqlalchemy import text

from webapp.api import api_bp
from webapp.extensions import db, redis_connection


@api_bp.get("/healthz")
def healthz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # noqa: BLE001 - any failure means unhealthy
        db.session.rollback()
        checks["database"] = f"unreachable: {type(error).__name__}"
    try:
        redis_connection().ping()
        checks["redis"] = "ok"
    except Exception as error:  # noqa: BLE001
        checks["redis"] = f"unreachable: {type(error).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if healthy else "unavailable", **checks), 200 if healthy else 503
