"""Server-rendered pages (Chinese). Feature modules add views to the ``ui`` blueprint."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Blueprint, Flask

ui = Blueprint("ui", __name__)


def _page_modules() -> list[str]:
    """Modules named ``*_pages`` (and ``home``) declare views on ``ui`` when imported."""
    return [f"admin_ui.{m.name}" for m in pkgutil.iter_modules(__path__)
            if m.name.endswith("_pages") or m.name == "home"]

_declared: list[bool] = []


def register_pages(app: Flask) -> None:
    if not _declared:
        for module in _page_modules():
            importlib.import_module(module)
        _declared.append(True)
    app.register_blueprint(ui)

    from admin_ui.template_helpers import install

    install(app)
