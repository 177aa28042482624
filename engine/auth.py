"""Users, roles at org units, password hashing, API tokens, and the caller's scope.

Scope is enforced in the data layer: ``Principal.scope_clause(column)`` turns the caller's role
assignments into a SQL condition on any org-code column (subtree = code prefix), and every query
for submissions, tasks and figures goes through it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    String,
    any_,
    false,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from engine.audit import record
from engine.db.models import ApiToken, OrgUnit, RoleAssignment, User
from engine.errors import BadInput, NotFound
from engine.login_sessions import end_user_sessions
from engine.orgs import in_subtree, is_within, level_of, prefix_of
from engine.roles import LEVEL_LABELS, ROLE_BY_LANE, ROLES, Level, Role

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verifying against this keeps the time of "unknown user" equal to "wrong password". Written out, not
# hashed at import: hashing takes argon2's 64 MiB and ~0.1 s in every process that imports this module
# (each worker, each command, the export's child), for a value that never changes. Its parameters are
# the hasher's (a test: check_needs_rehash), so verifying against it costs what a real hash costs.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$FdWYLUmIRmgcBzJnbY358g$/FEcW2nSTiVHekEFah8ofooUP5nwdBgbuw+qdMH8amU"


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, order=True)
class Assignment:
    role: str
    org_code: str

    @property
    def level(self) -> Level:
        return level_of(self.org_code)


FEW_UNITS = 8  # up to this many units a scope is a LIKE per unit (index scans), beyond it one array


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user and their role assignments (immutable for one request)."""

    user_id: int
    username: str
    display_name: str
    assignments: tuple[Assignment, ...]

    def has_role(self, role: str, org_code: str | None = None) -> bool:
        if org_code is not None:
            return (role, org_code) in self._pairs
        return any(a.role == role for a in self.assignments)

    @functools.cached_property
    def _pairs(self) -> frozenset[tuple[str, str]]:
        # an import account holds a role at hundreds of villages, asked about each report of a batch
        return frozenset((a.role, a.org_code) for a in self.assignments)

    def roles(self) -> set[str]:
        return {a.role for a in self.assignments}

    def can_see(self, org_code: str, roles: Iterable[str] | None = None) -> bool:
        wanted = set(roles) if roles is not None else None
        return any(
            is_within(org_code, a.org_code) for a in self.assignments if wanted is None or a.role in wanted
        )

    def scope_prefixes(self, roles: Iterable[str] | None = None) -> list[str]:
        """``LIKE`` patterns of the subtrees where the caller holds one of ``roles`` (for a statement
        built once with ``column LIKE ANY(:patterns)``, where an index on ``column`` does not matter)."""
        wanted = set(roles) if roles is not None else None
        return [prefix_of(a.org_code) + "%" for a in self.assignments if wanted is None or a.role in wanted]

    def scope_clause(self, column: ColumnElement[str], roles: Iterable[str] | None = None) -> ColumnElement[bool]:
        """SQL condition: ``column`` lies in a subtree where the caller holds one of ``roles``."""
        wanted = set(roles) if roles is not None else None
        units = [a.org_code for a in self.assignments if wanted is None or a.role in wanted]
        if len(units) > FEW_UNITS:
            # an import account holds a role at hundreds of villages: one array, not hundreds of LIKEs
            return column.like(any_(literal(self.scope_prefixes(roles), ARRAY(String))))
        clauses = [in_subtree(column, unit) for unit in units]  # each LIKE can use the pattern index
        return or_(*clauses) if clauses else false()

    def sees_sensitive(self, org_code: str) -> bool:
        """Personal fields are readable only to roles that may see them, within their subtree."""
        return any(ROLES[a.role].sees_sensitive and is_within(org_code, a.org_code) for a in self.assignments)

    @property
    def is_admin(self) -> bool:
        return self.has_role("province_admin")


def principal_for(user: User) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        assignments=tuple(sorted(Assignment(r.role, r.org_code) for r in user.roles)),
    )


# ASCII letters and digits, Chinese characters, and _ . - @ (an e-mail address works as a name): what a
# clerk can type the same way on any keyboard, without spaces that make "zhang" and "zhang " two users.
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@\-\u4e00-\u9fff]{1,64}$")
PASSWORD_MIN = 8
DISPLAY_NAME_MAX = User.__table__.c.display_name.type.length
TOKEN_NAME_MAX = ApiToken.__table__.c.name.type.length


def check_password(password: str) -> None:
    if not password.strip():
        raise BadInput("密码不能为空，也不能只有空格")
    if len(password) < PASSWORD_MIN:
        raise BadInput(f"密码至少需要{PASSWORD_MIN}个字符")


def role_named(name: str) -> Role:
    """A role by its code or its Chinese label (as BPMN lanes name them: ``ROLE_BY_LANE``)."""
    role = ROLE_BY_LANE.get(name.strip())
    if role is None:
        known = "、".join(f"{r.code}（{r.label}）" for r in ROLES.values())
        raise BadInput(f"未知角色 {name}（可用：{known}）")
    return role


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    display_name: str | None = None,
    roles: Iterable[tuple[str, str]] = (),
    actor_id: int | None = None,
) -> User:
    if not USERNAME_RE.match(username):
        raise BadInput("用户名只能由字母、数字、汉字和 _ . - @ 组成（不含空格），且不超过64个字符")
    check_password(password)
    display_name = (display_name or "").strip() or username
    if len(display_name) > DISPLAY_NAME_MAX:
        raise BadInput(f"显示名称不能超过{DISPLAY_NAME_MAX}个字符")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise BadInput(f"用户名 {username} 已存在")
    user = User(username=username, display_name=display_name, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    record(session, actor_id, "create_user", "user", str(user.id), {"username": username})
    for role, org_code in roles:
        grant_role(session, user, role, org_code, actor_id=actor_id)
    session.flush()
    return user


def grant_role(session: Session, user: User, role: str, org_code: str, *, actor_id: int | None = None,
               today: dt.date | None = None) -> bool:
    """Give ``user`` a role at a unit; False when they hold it already (nothing is written)."""
    spec = role_named(role)
    unit = session.get(OrgUnit, org_code)
    if unit is None:
        raise NotFound(f"区划代码 {org_code} 不存在")
    if spec.level is not None and level_of(org_code) != spec.level:
        raise BadInput(f"角色“{spec.label}”只能分配在{LEVEL_LABELS[spec.level]}级单位")
    if unit.valid_to is not None and unit.valid_to <= (today or dt.date.today()):
        raise BadInput(f"单位 {org_code}（{unit.name}）已于 {unit.valid_to} 撤销，不能再分配角色")
    if any((r.role, r.org_code) == (spec.code, org_code) for r in user.roles):
        return False
    user.roles.append(RoleAssignment(role=spec.code, org_code=org_code))
    record(session, actor_id, "grant_role", "user", str(user.id), {"role": spec.code, "org_code": org_code})
    return True


def deactivate_user(session: Session, user: User, *, actor_id: int | None = None) -> bool:
    """Stop a user signing in and their API tokens working; False when already inactive."""
    if not user.active:
        return False
    user.active = False
    end_user_sessions(session, user.id)
    record(session, actor_id, "deactivate_user", "user", str(user.id), {})
    return True


def reset_password(session: Session, user: User, password: str, *, actor_id: int | None = None) -> None:
    """A new password, and every sign-in made with the old one ended (whoever knew it is signed out)."""
    check_password(password)
    user.password_hash = hash_password(password)
    end_user_sessions(session, user.id)
    record(session, actor_id, "reset_password", "user", str(user.id), {})


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        return None
    return user if verify_password(user.password_hash, password) else None


TOKEN_TOUCH_INTERVAL = dt.timedelta(minutes=1)
TOKEN_VALIDITY = dt.timedelta(days=365)  # unless the issuer says otherwise (grassroots users token --days)
TOKEN_DAYS_MAX = 3650


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(session: Session, user: User, name: str, *, valid_for: dt.timedelta = TOKEN_VALIDITY,
                     now: dt.datetime | None = None, actor_id: int | None = None) -> str:
    """Returns the token once; only its digest is stored. It works until ``now + valid_for``."""
    name = name.strip()
    if not name or len(name) > TOKEN_NAME_MAX:
        raise BadInput(f"令牌名称不能为空，且不超过{TOKEN_NAME_MAX}个字符")
    if not dt.timedelta(0) < valid_for <= dt.timedelta(days=TOKEN_DAYS_MAX):
        raise BadInput(f"令牌有效期应为 1–{TOKEN_DAYS_MAX} 天")
    token = "gr_" + secrets.token_urlsafe(32)
    expires_at = (now or dt.datetime.now(dt.UTC)) + valid_for
    row = ApiToken(user_id=user.id, name=name, token_hash=_token_digest(token), expires_at=expires_at)
    session.add(row)
    session.flush()
    record(session, actor_id, "issue_token", "user", str(user.id),
           {"token_id": row.id, "name": name, "expires_at": expires_at.isoformat()})
    return token


def api_tokens_of(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, revoked and expired ones too (the operator's list), oldest first."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


TOKEN_SOON = dt.timedelta(days=30)  # a token expiring within this is flagged in the list, to be replaced


def token_state(token: ApiToken, now: dt.datetime) -> str:
    """A token's state in the operator's words."""
    if token.revoked_at is not None:
        return "已吊销"
    left = token.expires_at - now
    if left <= dt.timedelta(0):
        return "已过期"
    if left <= TOKEN_SOON:
        return f"有效（{math.ceil(left / dt.timedelta(days=1))}天内到期）"
    return "有效"


def revoke_api_tokens(session: Session, user: User, name: str | None = None, *,
                      actor_id: int | None = None) -> int:
    """Revoke the user's unrevoked tokens (only those called ``name`` when given); returns how many.
    A revoked token is refused from the next request on (``LOOKUP_BY_DIGEST``)."""
    query = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if name is not None:
        query = query.where(ApiToken.name == name)
    tokens = list(session.scalars(query.with_for_update()))
    now = dt.datetime.now(dt.UTC)
    for token in tokens:
        token.revoked_at = now
        record(session, actor_id, "revoke_token", "user", str(user.id), {"token_id": token.id, "name": token.name})
    return len(tokens)


# The token, its user and the user's roles in one round trip. This runs before every API request, on the
# driver's own connection (psycopg, its parameter style): SQLAlchemy's statement, result and pooled
# ``Connection`` layers cost ~50 µs of a lookup's ~165 µs of CPU, for one row of ten plain values
# (docs/performance.md, round 11). It only reads: whether the token's use is due to be stamped (at most
# once a minute, so a department system calling in a loop does not update the row on every request) is
# returned, and the stamp is written later for every token used in that second together (engine.token_use).
# An expired token is found too (by the database's clock), so that its refusal can say it expired.
LOOKUP_BY_DIGEST = (
    "SELECT t.id, u.id, u.username, u.display_name, u.active,"
    "  array_remove(array_agg(r.role), NULL), array_remove(array_agg(r.org_code), NULL),"
    "  (t.last_used_at IS NULL OR t.last_used_at < now() - %(every)s::interval),"
    "  t.expires_at, t.expires_at <= now()"
    " FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN role_assignments r ON r.user_id = u.id"
    " WHERE t.token_hash = %(digest)s AND t.revoked_at IS NULL"
    " GROUP BY t.id, u.id"
)


@dataclass(frozen=True)
class TokenUse:
    principal: Principal | None  # None: unknown, revoked, expired, or its user deactivated
    token_id: int | None = None
    due: bool = False  # its last use is to be stamped (record_token_use): none yet, or older than a minute
    expired_at: dt.datetime | None = None  # refused because it expired then (not stamped: it was not used)


def principal_for_token(connection: psycopg.Connection[Any], token: str) -> TokenUse:
    """``connection``: a psycopg connection (the driver's, under a pooled one); the lookup sends one
    ``SELECT`` and begins no transaction of its own in autocommit mode."""
    row = connection.execute(LOOKUP_BY_DIGEST, {"digest": _token_digest(token), "every": TOKEN_TOUCH_INTERVAL}).fetchone()
    if row is None:
        return TokenUse(None)
    token_id, user_id, username, display_name, active, roles, orgs, due, expires_at, expired = row
    if expired:
        return TokenUse(None, expired_at=expires_at)
    if not active:  # still a use of the token, stamped as before the user was deactivated
        return TokenUse(None, token_id, due)
    assignments = tuple(sorted(Assignment(role, org) for role, org in zip(roles, orgs, strict=True)))
    return TokenUse(Principal(user_id, username, display_name, assignments), token_id, due)


_STAMP_USE = text("UPDATE api_tokens SET last_used_at = now() WHERE id = ANY(:ids)")


def record_token_use(session: Session | Connection, ids: list[int]) -> None:
    """Stamp the tokens' last use: one statement for every token used in the last second."""
    session.execute(_STAMP_USE, {"ids": ids})
