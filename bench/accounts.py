"""The benchmark's users, role assignments and API tokens, created in bulk (setup, never timed).

``engine.auth.create_user`` hashes a password with argon2 and checks each role on its own: right for an
administrator adding a colleague, ~0.1 s per user. A province needs tens of thousands of clerks and
reviewers, so they are inserted with one statement per table; the rows are the ones create_user and
create_api_token write (one shared password hash, tokens stored as their digest).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine.auth import TOKEN_VALIDITY, Principal, _token_digest, hash_password, principal_for
from engine.db.models import User

PASSWORD = "bench-password"  # noqa: S105 (throwaway accounts of a throwaway database)


@dataclass(frozen=True)
class Account:
    username: str
    roles: tuple[tuple[str, str], ...]  # (role, org code)


@lru_cache(maxsize=1)
def _password_hash() -> str:
    return hash_password(PASSWORD)


def create_accounts(session: Session, accounts: Sequence[Account]) -> dict[str, int]:
    """Insert the users and their role assignments; returns username -> user id."""
    if not accounts:
        return {}
    names = [a.username for a in accounts]
    ids = dict(session.execute(
        text("INSERT INTO users (username, display_name, password_hash, active)"
             " SELECT n, n, :hash, true FROM unnest(CAST(:names AS varchar[])) AS n"
             " RETURNING username, id"),
        {"names": names, "hash": _password_hash()},
    ).tuples().all())
    pairs = [(ids[a.username], role, org) for a in accounts for role, org in a.roles]
    session.execute(
        text("INSERT INTO role_assignments (user_id, role, org_code)"
             " SELECT * FROM unnest(CAST(:users AS int[]), CAST(:roles AS varchar[]), CAST(:orgs AS varchar[]))"),
        {"users": [p[0] for p in pairs], "roles": [p[1] for p in pairs], "orgs": [p[2] for p in pairs]},
    )
    return ids


def issue_tokens(session: Session, user_ids: Iterable[int], name: str = "bench") -> dict[int, str]:
    """One API token per user (the digest create_api_token stores); returns user id -> token."""
    tokens = {uid: "gr_" + secrets.token_urlsafe(32) for uid in user_ids}
    session.execute(
        text("INSERT INTO api_tokens (user_id, name, token_hash, expires_at)"
             " SELECT u, :name, h, now() + :valid"
             " FROM unnest(CAST(:users AS int[]), CAST(:hashes AS varchar[])) AS t(u, h)"),
        {"name": name, "users": list(tokens), "hashes": [_token_digest(t) for t in tokens.values()],
         "valid": TOKEN_VALIDITY},
    )
    return tokens


def principals(session: Session, prefix: str) -> dict[str, Principal]:
    """username -> Principal of the users whose name starts with ``prefix`` (roles loaded with them)."""
    users = session.scalars(select(User).where(User.username.startswith(prefix, autoescape=True)))
    return {u.username: principal_for(u) for u in users}
