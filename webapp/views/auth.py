"""Log in and out with email and password.

Failed logins are throttled per account and per client address (SPEC §12): after
LOGIN_FAILURES failures in the window, every attempt (even with the right password) gets
429 until the oldest failure ages out. Only failures count, so a user's own successful
logins never unlock an account someone else is guessing at, nor spend its budget.
"""

import re
import time
from functools import cache
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length

from webapp import audit
from webapp.extensions import db, limiter
from webapp.models import User

auth_bp = Blueprint("auth", __name__)

LOGIN_FAILURES = "10 per 15 minutes"
LOGIN_WINDOW_S = 15 * 60


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=255)])
    password = PasswordField("Password", validators=[DataRequired()])
    submit = SubmitField("Log in")


def safe_next(target: str | None) -> str:
    """Only follow redirects to our own paths, never to another host. Control characters
    (CR/LF would split the Location header) and backslashes (browsers read `/\\host` as
    `//host`) mean the target is not one of our links: go to the dashboard."""
    if target and target.startswith("/") and not target.startswith("//") \
            and not re.search(r"[\x00-\x1f\x7f\\]", target) and not urlsplit(target).netloc:
        return target
    return url_for("dashboard.index")


def _email() -> str:
    return (request.form.get("email") or "").strip().lower()[:255]


def _account_key() -> str:
    return f"account:{_email()}"


def _address_key() -> str:
    return f"address:{get_remote_address()}"


def _failed(_response) -> bool:
    return g.get("login_failed", False)


@auth_bp.errorhandler(RateLimitExceeded)
def throttled(_error: RateLimitExceeded) -> Response:
    """The login page with a clear message; Retry-After says when to try again."""
    breached = limiter.current_limit  # the limit that refused this request
    # The window's reset time is rounded up to a whole second: never say more than it.
    wait = (min(LOGIN_WINDOW_S, max(1, breached.reset_at - int(time.time())))
            if breached else LOGIN_WINDOW_S)
    minutes = -(-wait // 60)
    message = (f"Too many failed logins. Try again in {minutes} minute"
               f"{'s' if minutes != 1 else ''}.")
    response = make_response(render_template("auth/login.html", form=LoginForm(),
                                             throttled=message), 429)
    response.headers["Retry-After"] = str(wait)
    return response


@cache
def _dummy_hash() -> str:
    # Same method and cost as real hashes, so an unknown email costs as much as a wrong
    # password and timing does not tell which emails have accounts.
    return generate_password_hash("no account has this password")


def _authenticate(email: str, password: str) -> User | None:
    user = db.session.execute(db.select(User).filter_by(email=email)).scalar()
    if user is None or not user.active or user.password_hash is None:
        check_password_hash(_dummy_hash(), password)
        return None
    return user if user.check_password(password) else None


@auth_bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_FAILURES, key_func=_account_key, methods=["POST"],
               deduct_when=_failed)
@limiter.limit(LOGIN_FAILURES, key_func=_address_key, methods=["POST"],
               deduct_when=_failed)
def login():
    form = LoginForm()
    if not current_app.config["LOCAL_LOGIN"]:
        return _sso_only(form)
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = _authenticate(email, form.password.data)
        if user is not None:
            login_user(user)
            audit.record("login", target_type="user", target_id=user.id, user=user)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")))
        g.login_failed = True
        audit.record("login.failed", target_type="user", target_id=None,
                     details={"email": email})
        db.session.commit()
        flash("Wrong email or password.", "error")
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


def _sso_only(form: LoginForm):
    """LOCAL_LOGIN=0: the page offers only single sign-on, and a password is refused."""
    if request.method == "POST":
        flash("Password login is turned off here: log in with your university account.",
              "error")
        return render_template("auth/login.html", form=form), 403
    return render_template("auth/login.html", form=form)


@auth_bp.post("/logout")
@login_required
def logout():
    # Bumping the session version ends this session everywhere a copy of its cookie is.
    user = db.session.get(User, current_user.id)
    user.end_sessions()
    audit.record("logout", target_type="user", target_id=user.id, user=user)
    db.session.commit()
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
