"""The home page sends each role to its work."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from admin_ui import ui
from engine.db.models import OrgUnit
from web.auth import current_principal, login_required
from web.db import db


@ui.route("/")
@login_required
def home():
    principal = current_principal()
    codes = {a.org_code for a in principal.assignments}
    units = {u.code: u for u in db().scalars(select(OrgUnit).where(OrgUnit.code.in_(codes)))}
    return render_template("home.html", units=units)
