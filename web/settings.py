"""Settings from the environment; the instance folder holds the embedded database and the secret key."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from engine.errors import BadInput

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    secret_key: str
    port: int
    secure_cookies: bool
    definitions_path: Path
    # reverse proxies in front whose X-Forwarded-For is trusted for the client's address (login throttling)
    proxies: int = 0

    @classmethod
    def from_env(cls, *, secure_cookies_default: bool = False, proxies_default: int = 0) -> Settings:
        instance = Path(os.environ.get("GRASSROOTS_INSTANCE", PROJECT_ROOT / "instance")).resolve()
        try:
            instance.mkdir(parents=True, exist_ok=True)
        except OSError as err:  # a file of that name, no permission, read-only disk
            raise BadInput(f"实例目录 {instance} 无法使用（{err.strerror}）：请把环境变量 GRASSROOTS_INSTANCE "
                           "设为一个可写的目录") from None
        secure = os.environ.get("GRASSROOTS_SECURE_COOKIES")
        return cls(
            instance_path=instance,
            secret_key=os.environ.get("SECRET_KEY") or _persistent_secret(instance),
            port=env_int("PORT", 5000, high=65535),
            secure_cookies=secure_cookies_default if secure is None else secure == "1",
            definitions_path=Path(os.environ.get("GRASSROOTS_DEFINITIONS", PROJECT_ROOT / "definitions")),
            proxies=env_int("GRASSROOTS_PROXIES", proxies_default, low=0, high=10),
        )


def env_int(name: str, default: int, *, low: int = 1, high: int = 10_000) -> int:
    """An integer environment variable, or BadInput naming the variable (read at every command's start,
    so a bad value must not end in a traceback)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise BadInput(f"环境变量 {name} 应为 {low}–{high} 之间的整数，而不是“{raw}”")
    return int(raw)


def _persistent_secret(instance: Path) -> str:
    """A random key kept in the instance folder, so sessions survive restarts without configuration."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
