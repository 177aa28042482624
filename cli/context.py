"""Opening the database for a command: embedded PostgreSQL or DATABASE_URL, migrated."""

from __future__ import annotations

from dataclasses import dataclass

from engine.db.embedded import database_url
from engine.db.migrate import upgrade
from engine.db.session import DatabaseAccess
from web.settings import Settings


@dataclass
class Runtime(DatabaseAccess):
    settings: Settings
    url: str


def open_runtime(*, migrate: bool = True, secure_cookies_default: bool = False, proxies_default: int = 0) -> Runtime:
    settings = Settings.from_env(secure_cookies_default=secure_cookies_default, proxies_default=proxies_default)
    url = database_url(settings.instance_path)
    if migrate:
        upgrade(url)
    return Runtime(settings, url)
