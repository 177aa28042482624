"""A static file's version is its content's hash, read again when the file changes."""

from __future__ import annotations

import hashlib
import os

from web.static_files import StaticVersions


def test_the_version_follows_the_content(tmp_path):
    css = tmp_path / "app.css"
    css.write_text("body{}", encoding="utf-8")
    versions = StaticVersions(tmp_path)
    first = versions.version("app.css")
    assert first == hashlib.blake2b(b"body{}", digest_size=8).hexdigest()
    assert versions.version("app.css") == first  # kept
    css.write_text("body{color:red}", encoding="utf-8")
    os.utime(css, ns=(1, 1))  # a changed file, whatever its clock says
    assert versions.version("app.css") not in (None, first)
    assert versions.version("missing.css") is None
    assert versions.version("../app.css") is None  # nothing outside the folder
