"""Server-rendered pages (Chinese). Feature modules add views to the ``ui`` blueprint."""

from __future__ import annotations

import importlib

from flask import Blueprint, Flask

ui = Blueprint("ui", __name__)

PAGE_MODULES: tuple[str, ...] = ("admin_ui.auth_pages", "admin_ui.home")

_declared: list[bool] = []


def register_pages(app: Flask) -> None:
    if not _declared:
        for module in PAGE_MODULES:
            importlib.import_module(module)
        _declared.append(True)
    app.register_blueprint(ui)

    from admin_ui.template_helpers import install

    install(app)
