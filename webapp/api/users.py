"""The users API (SPEC §13): admins and managers list and create users; admins
deactivate them. The rules live in webapp/organisation/users.py, shared with the pages
and the command line."""

from __future__ import annotations

from flask import request

from webapp.api import api_bp
from webapp.api.params import json_body, listing, page_args
from webapp.auth import requires_admin
from webapp.extensions import db
from webapp.organisation import users


@api_bp.get("/users")
def users_list():
    """Users (all for admins; the members of their units for managers), searchable by
    email or name (`q`), paginated."""
    limit, offset = page_args(100)
    items, total = users.user_page(query=(request.args.get("q") or "").strip() or None,
                                   limit=limit, offset=offset)
    return listing(items, total, limit, offset)


@api_bp.post("/users")
def users_create():
    body = json_body({"email": (str,), "name": (str,), "admin": (bool,)})
    user = users.create_user(body["email"], body["name"] or "", admin=bool(body["admin"]),
                             via="api")
    db.session.commit()
    return users.user_body(user, users.shown_memberships([user.id])[user.id]), 201


@api_bp.post("/users/<email>/deactivate")
@requires_admin
def users_deactivate(email: str):
    user = users.deactivate(email, via="api")
    db.session.commit()
    return users.user_body(user, users.shown_memberships([user.id])[user.id])
