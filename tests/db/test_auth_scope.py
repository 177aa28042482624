"""Scope is enforced in the data layer: each role sees exactly its own subtree."""

import pytest
from sqlalchemy import select

from engine.auth import (
    TokenUse,
    authenticate,
    create_api_token,
    create_user,
    principal_for,
    principal_for_token,
    record_token_use,
)
from engine.db.models import OrgUnit, User
from engine.errors import BadInput, NotFound
from tests.conftest import PASSWORD


def visible_villages(db, username):
    user = db.scalar(select(User).where(User.username == username))
    p = principal_for(user)
    return set(db.scalars(select(OrgUnit.code).where(OrgUnit.level == 5, p.scope_clause(OrgUnit.code))))


def test_each_role_sees_only_its_subtree(role_users, db):
    assert visible_villages(db, "clerk_xikou") == {"390121101201"}
    yunxi = visible_villages(db, "rev_yunxi")
    assert yunxi == {"390121101001", "390121101201", "390121101202", "390121101203", "390121101204"}
    assert visible_villages(db, "rev_baishi").isdisjoint(yunxi)
    county = visible_villages(db, "rev_county")
    assert yunxi < county and len(county) == 10
    assert visible_villages(db, "rev_other_county").isdisjoint(county)
    assert len(visible_villages(db, "admin")) == 30
    assert len(visible_villages(db, "viewer")) == 30


def test_scope_can_be_narrowed_to_roles(role_users, db):
    user = db.scalar(select(User).where(User.username == "rev_yunxi"))
    p = principal_for(user)
    rows = db.scalars(select(OrgUnit.code).where(p.scope_clause(OrgUnit.code, roles={"village_clerk"}))).all()
    assert rows == []


def test_sensitive_fields_only_for_roles_that_may_see_them(role_users, db):
    clerk = principal_for(db.scalar(select(User).where(User.username == "clerk_xikou")))
    viewer = principal_for(db.scalar(select(User).where(User.username == "viewer")))
    assert clerk.sees_sensitive("390121101201")
    assert not clerk.sees_sensitive("390121101202")
    assert not viewer.sees_sensitive("390121101201")


def test_passwords_are_hashed_with_argon2_and_checked(role_users, db):
    user = db.scalar(select(User).where(User.username == "admin"))
    assert user.password_hash.startswith("$argon2id$")
    assert authenticate(db, "admin", PASSWORD).id == user.id
    assert authenticate(db, "admin", "wrong-password") is None
    assert authenticate(db, "nobody", PASSWORD) is None


def test_an_unknown_user_is_checked_against_a_hash_that_costs_what_a_real_one_costs():
    """The dummy hash is written out (not hashed at import), with the hasher's own parameters, and real:
    verifying against it runs argon2 in full rather than failing fast on a malformed string."""
    from engine.auth import _DUMMY_HASH, _HASHER, verify_password

    assert not _HASHER.check_needs_rehash(_DUMMY_HASH)
    assert verify_password(_DUMMY_HASH, "grassroots-dummy-password")
    assert not verify_password(_DUMMY_HASH, PASSWORD)


def test_role_must_fit_the_level_and_org_must_exist(sample_province):
    db = sample_province
    with pytest.raises(BadInput, match="乡镇级"):
        create_user(db, "x1", PASSWORD, roles=[("township_reviewer", "390121101201")])
    db.rollback()
    with pytest.raises(NotFound, match="不存在"):
        create_user(db, "x2", PASSWORD, roles=[("village_clerk", "391111111111")])
    db.rollback()
    with pytest.raises(BadInput, match="未知角色"):
        create_user(db, "x3", PASSWORD, roles=[("mayor", "390000000000")])
    db.rollback()
    with pytest.raises(BadInput, match="至少需要8个字符"):
        create_user(db, "x4", "short")


def _driver(db):
    """The session's psycopg connection (in its transaction): what the web's lookup gets from the pool."""
    return db.connection().connection.driver_connection


class _Recording:
    """A psycopg connection that keeps the statements sent through it."""

    def __init__(self, connection):
        self.connection, self.sent = connection, []

    def execute(self, query, params=None):
        self.sent.append(query)
        return self.connection.execute(query, params)


def test_api_tokens_are_stored_hashed(role_users, db):
    user = db.scalar(select(User).where(User.username == "viewer"))
    token = create_api_token(db, user, "统计局系统")
    db.commit()
    found = principal_for_token(_driver(db), token).principal
    assert found == principal_for(user)  # the same user and roles as from the ORM objects
    assert principal_for_token(_driver(db), token + "x") == TokenUse(None)
    from engine.db.models import ApiToken

    assert token not in {t.token_hash for t in db.scalars(select(ApiToken))}


def test_the_lookup_only_reads_and_says_when_the_use_is_due_to_be_stamped(role_users, db):
    """Due when never used or last used over a minute ago; the lookup itself writes nothing, the stamp is
    record_token_use's (one statement for many tokens)."""
    import datetime as dt

    from engine.db.models import ApiToken
    viewer = db.scalar(select(User).where(User.username == "viewer"))
    token = create_api_token(db, viewer, "dept")
    other = create_api_token(db, viewer, "dept2")
    db.commit()
    recording = _Recording(_driver(db))
    use = principal_for_token(recording, token)
    assert use.due and use.token_id is not None
    assert len(recording.sent) == 1 and recording.sent[0].lstrip().upper().startswith("SELECT")
    db.commit()
    db.expire_all()
    assert db.scalars(select(ApiToken.last_used_at)).all() == [None, None]
    ids = [use.token_id, principal_for_token(_driver(db), other).token_id]
    record_token_use(db, ids)
    db.commit()
    stamped = db.scalar(select(ApiToken).where(ApiToken.id == ids[0]))
    assert stamped.last_used_at is not None
    assert db.scalar(select(ApiToken.last_used_at).where(ApiToken.id == ids[1])) is not None
    assert principal_for_token(_driver(db), token) == TokenUse(use.principal, use.token_id, False)  # within the minute
    stamped.last_used_at -= dt.timedelta(minutes=2)
    db.commit()
    assert principal_for_token(_driver(db), token).due


def test_a_revoked_token_or_a_deactivated_user_gets_no_principal(role_users, db):
    import datetime as dt

    from engine.db.models import ApiToken

    viewer = db.scalar(select(User).where(User.username == "viewer"))
    token = create_api_token(db, viewer, "dept")
    db.commit()
    viewer.active = False
    db.commit()
    assert principal_for_token(_driver(db), token).principal is None
    viewer.active = True
    db.scalar(select(ApiToken)).revoked_at = dt.datetime.now(dt.UTC)
    db.commit()
    assert principal_for_token(_driver(db), token) == TokenUse(None)


def test_a_scope_over_many_units_is_exactly_their_subtrees(role_users, db):
    """Beyond FEW_UNITS units the scope is one LIKE ANY(array): the same subtrees as a LIKE per unit."""
    from engine.auth import FEW_UNITS

    villages = sorted(db.scalars(select(OrgUnit.code).where(OrgUnit.level == 5)))
    outside_yunxi = [v for v in villages if not v.startswith("390121101")][: FEW_UNITS]
    create_user(db, "importer", PASSWORD, roles=[*(("village_clerk", v) for v in outside_yunxi),
                                                 ("township_reviewer", "390121101000")])
    db.commit()
    yunxi = visible_villages(db, "rev_yunxi")
    assert visible_villages(db, "importer") == set(outside_yunxi) | yunxi
    assert len(outside_yunxi) + 1 > FEW_UNITS
