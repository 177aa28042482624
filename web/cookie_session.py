"""Flask's signed-cookie session, not opened for a request that sends no session cookie.

Flask builds the cookie's signing serializer at the start of every request, before it looks for a
cookie. An API client with a bearer token never sends one, so every API request paid for a serializer
it did not use (~45 µs of a submit's CPU under load, docs/performance.md round 11). Without a cookie the
session is the same empty session Flask would give; saving it (a login) signs as Flask does.
"""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class CookieSessions(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)
