"""Who is calling: a logged-in browser session or an API bearer token.

The principal is loaded once per request into ``g.principal``. Sessions expire after
``SESSION_HOURS`` (an expired session sends the user to the login page with a message), and end
earlier at logout or a password change (engine.login_sessions: the cookie names a recorded sign-in).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, redirect, request, session, url_for

from engine.auth import Principal, principal_for, principal_for_token
from engine.db.models import User
from engine.errors import PermissionDenied, TokenExpired, Unauthenticated
from engine.login_sessions import LIFETIME, end_session, session_user, start_session
from engine.review import local_time
from web.db import db, driver_autocommit, token_use_log

F = TypeVar("F", bound=Callable[..., Any])

SESSION_HOURS = int(LIFETIME.total_seconds()) // 3600


NotLoggedIn = Unauthenticated


def login_session(user: User) -> None:
    """Sign ``user`` in: a recorded sign-in, named in the cookie (the caller commits). A sign-in this
    browser still had ends: the cookie it was in is replaced."""
    end_session(db(), session.get("sid"))
    session.clear()
    session["user_id"] = user.id
    session["sid"] = start_session(db(), user)
    session["login_at"] = int(time.time())
    session.permanent = True


def logout_session() -> None:
    """End this sign-in for every copy of the cookie (the caller commits), and forget the cookie."""
    end_session(db(), session.get("sid"))
    session.clear()


def load_principal() -> None:
    """before_request: resolve the caller from a bearer token or the session cookie."""
    g.principal = None
    g.auth_via = None
    g.session_expired = g.session_ended = False
    g.token_expired_at = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        # On a pooled connection of its own (its psycopg connection, in autocommit), one round trip and no
        # transaction: the lookup only reads, whatever the request does next (a GET never commits). A use
        # due to be stamped is noted, and the process stamps every token used in that second in one write
        # (engine.token_use).
        with driver_autocommit() as connection:
            use = principal_for_token(connection, header[7:].strip())
        if use.due and use.token_id is not None:
            token_use_log().note(use.token_id)
        if use.principal is not None:
            g.principal, g.auth_via = use.principal, "token"
        g.token_expired_at = use.expired_at
        return
    user_id = session.get("user_id")
    if user_id is None:
        return
    if time.time() - session.get("login_at", 0) > SESSION_HOURS * 3600:
        session.clear()
        g.session_expired = True
        return
    sid = session.get("sid")
    user = session_user(db(), user_id, sid) if isinstance(sid, str) else None
    if user is None or not user.active:  # logged out, password changed, deactivated: not by this browser
        session.clear()
        g.session_ended = True
        return
    g.principal, g.auth_via = principal_for(user), "session"


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise NotLoggedIn("请先登录")
    return principal


def login_required(view: F) -> F:
    """Pages: redirect to the login page (with the reason); API: 401 JSON via the error handler."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("principal") is None:
            if request.path.startswith("/api/"):
                expired_at = g.get("token_expired_at")
                if expired_at is not None:
                    raise TokenExpired(f"访问令牌已于 {local_time(expired_at)}（北京时间）过期，请联系管理员重新发放",
                                       details={"expired_at": expired_at.isoformat()})
                raise NotLoggedIn("请先登录或提供有效的访问令牌")
            reason = "expired" if g.get("session_expired") else "ended" if g.get("session_ended") else None
            return redirect(url_for("ui.login", next=request.full_path, reason=reason))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def roles_required(*roles: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @functools.wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not (current_principal().roles() & set(roles)):
                raise PermissionDenied("没有权限访问此页面")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
