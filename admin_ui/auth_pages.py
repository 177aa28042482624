"""Login and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from admin_ui import ui
from engine.auth import authenticate
from engine.login_throttle import count_attempt, forget_attempt
from web.auth import login_session, logout_session
from web.db import db


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码")])


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths: an open redirect would let a link log people in to a fake site.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("ui.home")


# why a page sent the browser here (web.auth.login_required's ``reason``)
REASONS = {
    "expired": "登录已过期，请重新登录",
    "ended": "登录已失效（已在别处退出登录，或密码已更改），请重新登录",
}


@ui.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    reason = REASONS.get(request.args.get("reason", ""))
    if reason and request.method == "GET":
        flash(reason, "warning")
    if form.validate_on_submit():
        username, address = form.username.data or "", request.remote_addr or ""
        refusal = count_attempt(db(), username, address)
        db().commit()  # counted before the password is checked, for every worker to see
        if refusal is not None:  # refused without hashing the password
            page = render_template("login.html", form=form, refusal=refusal.message)
            return page, 429, {"Retry-After": str(int(refusal.retry_after.total_seconds()) + 1)}
        user = authenticate(db(), username, form.password.data or "")
        if user is None:
            form.password.errors = ["用户名或密码错误"]
        else:
            forget_attempt(db(), username, address)
            login_session(user)
            db().commit()
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", form=form), (401 if form.is_submitted() and request.method == "POST" else 200)


@ui.route("/logout", methods=["POST"])
def logout():
    logout_session()
    db().commit()
    flash("您已退出登录", "info")
    return redirect(url_for("ui.login"))
