"""Login throttling: after a few failed sign-ins for a username (and, separately, many from one network
address) further attempts are refused for the rest of the window, before any password is hashed.

Counts live in PostgreSQL (``login_failures``), so every gunicorn worker sees the same ones. An attempt
is counted *before* its password is checked and the count committed, so concurrent attempts cannot
all slip under the limit; an attempt refused is taken back (it checked nothing), a success clears the
username's count and takes itself back from the address's. What stays counted is failures.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import String

from engine.audit import record

WINDOW = dt.timedelta(minutes=15)  # a count starts at its first failure and lasts this long


@dataclass(frozen=True)
class Limit:
    failures: int  # allowed in a window; the next attempt is refused until the window ends
    refusal: str  # Chinese, with {minutes}
    success_clears: bool  # a success forgets the count (a username) or only takes itself back (an address)


# Order matters: the first limit reached is the one the refusal names.
LIMITS: dict[str, Limit] = {
    "username": Limit(5, "该账号登录失败次数过多，已暂停登录，请 {minutes} 分钟后再试（或请管理员解除）", True),
    # high: a village office, or a mobile carrier's shared address, signs many people in at once
    "address": Limit(50, "您所在网络的登录失败次数过多，已暂停登录，请 {minutes} 分钟后再试", False),
}
KIND_LABELS = {"username": "用户名", "address": "网络地址"}


@dataclass(frozen=True)
class Refusal:
    kind: str
    retry_after: dt.timedelta

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after.total_seconds() / 60))

    @property
    def message(self) -> str:
        return LIMITS[self.kind].refusal.format(minutes=self.minutes)


def address_key(address: str | None) -> str:
    """The network a sign-in comes from: an IPv4 address, or an IPv6 address's /64 (one household's or
    one phone's: it holds more addresses than an attacker could ever try)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _keys(username: str, address: str) -> dict[str, str]:
    return {"username": username, "address": address_key(address)}


# Counts whose window is over, cleared by the attempts that come later. Rows another attempt holds are
# skipped, never waited for: this runs while the attempt holds its own two rows (no lock cycle).
_PURGE = text(
    "DELETE FROM login_failures WHERE (kind, subject) IN"
    " (SELECT kind, subject FROM login_failures WHERE since <= now() - :window FOR UPDATE SKIP LOCKED)"
)
# Each key counted in one statement: a count whose window is over starts again at 1.
_COUNT = text(
    "INSERT INTO login_failures AS f (kind, subject, failures, since)"
    " SELECT k, s, 1, now() FROM unnest(:kinds, :subjects) AS t(k, s)"
    " ON CONFLICT (kind, subject) DO UPDATE SET"
    "  failures = CASE WHEN f.since > now() - :window THEN f.failures + 1 ELSE 1 END,"
    "  since = CASE WHEN f.since > now() - :window THEN f.since ELSE now() END"
    " RETURNING kind, failures, since + :window - now()"
).bindparams(bindparam("kinds", type_=ARRAY(String)), bindparam("subjects", type_=ARRAY(String)))
_TAKE_BACK = text(
    "UPDATE login_failures SET failures = failures - 1"
    " WHERE (kind, subject) IN (SELECT * FROM unnest(:kinds, :subjects)) AND failures > 0"
).bindparams(bindparam("kinds", type_=ARRAY(String)), bindparam("subjects", type_=ARRAY(String)))
_FORGET = text(
    "DELETE FROM login_failures WHERE (kind, subject) IN (SELECT * FROM unnest(:kinds, :subjects))"
    " RETURNING kind, subject"
).bindparams(bindparam("kinds", type_=ARRAY(String)), bindparam("subjects", type_=ARRAY(String)))


def _pairs(keys: dict[str, str]) -> dict[str, list[str]]:
    return {"kinds": list(keys), "subjects": list(keys.values())}


def count_attempt(session: Session, username: str, address: str) -> Refusal | None:
    """Count a sign-in attempt against its username and address, before the password is checked; the
    caller commits at once (other workers must see it) and checks the password only when None."""
    keys = _keys(username, address)
    counted = {kind: (failures, left) for kind, failures, left in session.execute(
        _COUNT, {**_pairs(keys), "window": WINDOW})}
    over = [kind for kind in LIMITS if counted[kind][0] > LIMITS[kind].failures]
    if over:
        session.execute(_TAKE_BACK, _pairs(keys))  # refused: it checked nothing, so it is no failure
    session.execute(_PURGE, {"window": WINDOW})
    return Refusal(over[0], max(counted[kind][1] for kind in over)) if over else None


def forget_attempt(session: Session, username: str, address: str) -> None:
    """A success: the username's count is cleared, the address's takes this attempt back."""
    keys = _keys(username, address)
    for clears, statement in ((True, _FORGET), (False, _TAKE_BACK)):
        chosen = {kind: subject for kind, subject in keys.items() if LIMITS[kind].success_clears is clears}
        if chosen:
            session.execute(statement, _pairs(chosen))


@dataclass(frozen=True)
class Held:
    kind: str
    subject: str
    failures: int
    retry_after: dt.timedelta

    @property
    def refusing(self) -> bool:
        return self.failures >= LIMITS[self.kind].failures


def held_counts(session: Session) -> list[Held]:
    """The counts still in their window (the operator's list), refusing ones first."""
    rows = session.execute(text(
        "SELECT kind, subject, failures, since + :window - now() FROM login_failures"
        " WHERE since > now() - :window AND failures > 0 ORDER BY since"), {"window": WINDOW})
    return sorted((Held(*row) for row in rows), key=lambda h: not h.refusing)


def clear_counts(session: Session, *, username: str | None = None, address: str | None = None,
                 actor_id: int | None = None) -> int:
    """The operator lifts a refusal: the count of ``username`` and/or ``address``, or every count when
    neither is given; returns how many counts were cleared (each audited, every count at once as one)."""
    if username is None and address is None:
        cleared = session.execute(text("DELETE FROM login_failures")).rowcount or 0
        record(session, actor_id, "clear_login_failures", "login_limit", "*", {"cleared": cleared})
        return cleared
    keys = {kind: subject for kind, subject in (("username", username), ("address", address)) if subject is not None}
    if "address" in keys:
        keys["address"] = address_key(keys["address"])
    gone = session.execute(_FORGET, _pairs(keys)).all()
    for kind, subject in gone:
        record(session, actor_id, "clear_login_failures", "login_limit", subject[:64], {"kind": kind})
    return len(gone)
