"""Settings from the environment; the instance folder holds the embedded database and the secret key."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    secret_key: str
    port: int
    secure_cookies: bool
    definitions_path: Path

    @classmethod
    def from_env(cls, *, secure_cookies_default: bool = False) -> Settings:
        instance = Path(os.environ.get("GRASSROOTS_INSTANCE", PROJECT_ROOT / "instance")).resolve()
        instance.mkdir(parents=True, exist_ok=True)
        secure = os.environ.get("GRASSROOTS_SECURE_COOKIES")
        return cls(
            instance_path=instance,
            secret_key=os.environ.get("SECRET_KEY") or _persistent_secret(instance),
            port=int(os.environ.get("PORT", "5000")),
            secure_cookies=secure_cookies_default if secure is None else secure == "1",
            definitions_path=Path(os.environ.get("GRASSROOTS_DEFINITIONS", PROJECT_ROOT / "definitions")),
        )


def _persistent_secret(instance: Path) -> str:
    """A random key kept in the instance folder, so sessions survive restarts without configuration."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
