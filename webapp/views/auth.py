"""Log in and out with email and password."""

import re
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length

from webapp.extensions import db
from webapp.models import User

auth_bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=255)])
    password = PasswordField("Password", validators=[DataRequired()])
    submit = SubmitField("Log in")


def _safe_next(target: str | None) -> str:
    """Only follow redirects to our own paths, never to another host. Control characters
    (CR/LF would split the Location header) and backslashes (browsers read `/\\host` as
    `//host`) mean the target is not one of our links: go to the dashboard."""
    if target and target.startswith("/") and not target.startswith("//") \
            and not re.search(r"[\x00-\x1f\x7f\\]", target) and not urlsplit(target).netloc:
        return target
    return url_for("dashboard.index")


@auth_bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.execute(
            db.select(User).filter_by(email=form.email.data.strip().lower())).scalar()
        if user and user.active and user.check_password(form.password.data):
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash("Wrong email or password.", "error")
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@auth_bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
