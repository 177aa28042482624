"""REST API under /api/v1. Modules declare routes on ``api.registry.api``; importing them registers."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask, current_app, g, request
from flask_wtf.csrf import CSRFProtect

from api.registry import api

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _feature_modules() -> list[str]:
    """Every module of this package except the machinery: importing one declares its routes."""
    skip = {"registry", "schemas"}
    return [f"api.{m.name}" for m in pkgutil.iter_modules(__path__) if m.name not in skip]


def _csrf_for_cookie_auth() -> None:
    # Bearer tokens cannot be forged cross-site; a cookie session must send the X-CSRFToken header.
    if request.method in UNSAFE_METHODS and g.get("auth_via") == "session":
        current_app.extensions["csrf"].protect()


_declared: list[bool] = []


def _declare_routes_once() -> None:
    # A blueprint cannot take new routes once registered, and tests build many apps: declare once.
    if _declared:
        return
    for module in _feature_modules():
        importlib.import_module(module)
    api.blueprint.before_request(_csrf_for_cookie_auth)
    _declared.append(True)


def register_api(app: Flask, csrf: CSRFProtect) -> None:
    _declare_routes_once()
    csrf.exempt(api.blueprint)
    app.register_blueprint(api.blueprint)
