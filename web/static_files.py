"""Static files (``admin_ui/static``) carry their content's hash in their URL, and such a URL is cached
for a year.

``url_for('static', filename='app.css')`` gives ``/static/app.css?v=<hash>`` in every template (a
``url_defaults`` hook: there is nothing to remember when adding a page or a file). A request whose ``v``
is the file's current hash is answered ``Cache-Control: public, max-age=31536000, immutable``: moving
between pages no longer revalidates every stylesheet and script, which on a village's weak connection
is a round trip each. A changed file has a new hash, hence a new URL, so nobody keeps a stale copy; a
request without ``v``, or with an old one, keeps Flask's answer (``no-cache``: revalidated by ETag).

The hash is read again when a file's modification time or size changes (a deploy, an edit during
development): one ``stat`` per URL built, no restart needed.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from flask import Flask, Response, request
from werkzeug.security import safe_join

VERSION_ARG = "v"
CACHED_FOR = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={CACHED_FOR}, immutable"


class StaticVersions:
    """The content hash of each file under ``folder``, kept until the file changes."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = os.fspath(folder)
        self._held: dict[str, tuple[tuple[int, int], str]] = {}

    def version(self, filename: str) -> str | None:
        """16 hex digits of the file's BLAKE2b, or None for a path outside the folder or no file."""
        path = safe_join(self.folder, filename)
        if path is None:
            return None
        try:
            stat = os.stat(path)
        except OSError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        held = self._held.get(filename)
        if held is not None and held[0] == stamp:
            return held[1]
        try:
            with open(path, "rb") as f:
                digest = hashlib.blake2b(f.read(), digest_size=8).hexdigest()
        except OSError:
            return None
        self._held[filename] = (stamp, digest)  # a race writes the same value twice: harmless
        return digest


def install(app: Flask) -> None:
    if app.static_folder is None:
        return
    versions = StaticVersions(app.static_folder)

    @app.url_defaults
    def _versioned(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and VERSION_ARG not in values:
            version = versions.version(str(values.get("filename", "")))
            if version is not None:
                values[VERSION_ARG] = version

    @app.after_request
    def _cached(resp: Response) -> Response:
        if request.endpoint == "static" and resp.status_code in (200, 304):
            asked = request.args.get(VERSION_ARG)
            filename = (request.view_args or {}).get("filename", "")
            if asked and asked == versions.version(filename):
                resp.headers["Cache-Control"] = IMMUTABLE
        return resp
