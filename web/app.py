"""Flask application factory: the adapter that puts the engine on the web."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Flask, jsonify, request
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from engine.db.models import MAX_ID
from engine.submit_queue import SubmitQueue
from engine.token_use import TokenUseLog
from web import auth, static_files
from web.cookie_session import CookieSessions
from web.db import EXTENSION_KEY, QUEUE_KEY, USE_LOG_KEY, close_session, db, token_use_writer
from web.errors import register_error_handlers
from web.json_provider import OrjsonProvider
from web.settings import PROJECT_ROOT, Settings

csrf = CSRFProtect()


class KeyConverter(IntegerConverter):
    """``<int:…>`` in every route: ids and numbers up to ``MAX_ID``. A longer number is read as 0, an
    id no row has and a page number past none, so the view answers 404 ("不存在") as for any unknown
    id, instead of an overflow in PostgreSQL (a 500). Refusing it here instead would make Werkzeug
    answer 405 for a PUT or DELETE whose path also has a GET rule (it counts the GET rule's method
    before the converter's refusal)."""

    regex = r"[0-9]+"  # ASCII: Werkzeug's \d would take "１" or "٣" as the id 1 or 3

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        number = int(value)
        return 0 if self.max is not None and number > self.max else number


def create_app(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    config: dict[str, Any] | None = None,
) -> Flask:
    app = Flask(
        "grassroots",
        instance_path=str(settings.instance_path),
        template_folder=str(PROJECT_ROOT / "admin_ui" / "templates"),
        static_folder=str(PROJECT_ROOT / "admin_ui" / "static"),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_NAME="grassroots_session",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=auth.SESSION_HOURS),
        WTF_CSRF_TIME_LIMIT=auth.SESSION_HOURS * 3600,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        GRASSROOTS_SETTINGS=settings,
    )
    if settings.proxies:  # the client's address as the proxies saw it, not the proxy's (login throttling)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxies, x_proto=0, x_host=0, x_port=0,  # type: ignore[method-assign]
                                x_prefix=0)
    app.url_map.converters["int"] = KeyConverter  # before any route is added
    app.session_interface = CookieSessions()
    app.json = OrjsonProvider(app)  # Chinese as UTF-8, key order kept; orjson's speed, json's values
    app.config.update(config or {})
    app.extensions[EXTENSION_KEY] = session_factory
    app.extensions[QUEUE_KEY] = SubmitQueue(session_factory)
    app.extensions[USE_LOG_KEY] = TokenUseLog(token_use_writer(session_factory))
    csrf.init_app(app)
    register_error_handlers(app)
    static_files.install(app)  # versioned URLs for admin_ui/static, cached a year
    app.before_request(auth.load_principal)
    app.teardown_appcontext(close_session)

    from admin_ui import register_pages
    from api import register_api

    register_pages(app)
    register_api(app, csrf)

    @app.get("/healthz")
    def healthz():
        try:
            db().execute(text("SELECT 1"))
        except Exception as exc:  # the point of a health check is to report, not to raise
            logging.getLogger(__name__).warning("health check failed: %s", exc)
            return jsonify({"status": "error", "database": "unreachable"}), 503
        return jsonify({"status": "ok", "database": "ok"})

    @app.after_request
    def _security_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if request.path.startswith("/api/"):
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    return app
