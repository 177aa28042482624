"""Publishing a new version while its correspondences to the previous one are open is refused (QA's
yearly change, tests/yearly_change.py): each open proposal is accepted or dismissed in the draft, the
decision is audited, a re-check does not raise it again, and the published version compares as decided.
A version published before the check still loads and publishes again as a no-op; the CLI refuses files."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli.main import cli
from engine import drafts
from engine.db.models import AuditEntry, IndicatorSetVersion
from engine.definitions import content_hash, correspondence
from engine.definitions.proposals import CONFIRMED_NEW
from engine.errors import BadInput, Conflict, DefinitionError
from engine.publishing import indicator_set_model, publish_indicator_file, publish_indicator_set
from tests.yearly_change import CODE, PROPOSED, version_1, version_2


@pytest.fixture
def draft(published, role_users, db) -> int:
    """Scratch v1 published, v2 typed into a draft as QA did: saved, with its problems."""
    publish_indicator_set(db, version_1(), code=CODE, version=1, change_note="演练 v1")
    row = drafts.create_indicator_draft(db, CODE, actor_id=role_users["admin"]).row
    checked = drafts.update_indicator_draft(db, row.id, content=version_2(), actor_id=role_users["admin"])
    db.commit()
    assert {p.data_path for p in checked.problems} == set(PROPOSED)
    return row.id


def _publish(db, draft: int, admin: int):
    return drafts.publish_draft(db, "indicator_set", draft, change_note="老年人口单列", actor_id=admin)


def _audit(db, action: str) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_publishing_is_refused_listing_each_open_proposal(draft, role_users, db):
    with pytest.raises(DefinitionError) as refused:
        _publish(db, draft, role_users["admin"])
    err = refused.value
    assert "与上一版本的对应关系有 7 项待确认" in err.message
    assert {p["id"]: p["mapping"] for p in err.details["proposals"]} == PROPOSED
    assert all(p["blocking"] and p["advice"] for p in err.details["proposals"])
    assert {p.data_path for p in err.problems} == set(PROPOSED)
    db.rollback()
    assert db.get(IndicatorSetVersion, draft).status == "draft"


def test_accept_writes_the_mapping_and_the_audit_says_who(draft, role_users, db):
    admin = role_users["admin"]
    checked = drafts.resolve_proposal(db, draft, "population.pop_age_60p", "accept", actor_id=admin)
    db.commit()
    assert checked.row.content["x-mappings"] == {"from_version": 1, "fields": [PROPOSED["population.pop_age_60p"]]}
    assert "population.pop_age_60p" not in {p.data_path for p in checked.problems}
    [entry] = _audit(db, "accept_proposal")
    assert (entry.actor_id, entry.object_id, entry.details["proposal"]) == (
        admin, f"{CODE}/v2", "population.pop_age_60p")


def test_dismiss_is_recorded_and_a_recheck_does_not_raise_it_again(draft, role_users, db):
    admin = role_users["admin"]
    old_hash = db.get(IndicatorSetVersion, draft).content_hash
    drafts.resolve_proposal(db, draft, "party_welfare.party_members", "dismiss", expected_hash=old_hash,
                            actor_id=admin)
    db.commit()
    row = db.get(IndicatorSetVersion, draft)
    assert row.content["x-mappings"]["fields"] == [{"kind": "removed", "from": "party_welfare.party_members"},
                                                   {"kind": "added", "to": "party_welfare.cpc_members"}]
    rechecked = drafts.check_version(db, "indicator_set", draft)
    assert "party_welfare.party_members" not in {p.data_path for p in rechecked.problems}
    assert "party_welfare.party_members" not in {p.key for p in drafts.indicator_proposals(db, row)}
    [entry] = _audit(db, "dismiss_proposal")
    assert entry.actor_id == admin and entry.details["mappings"][1] == {"kind": "added",
                                                                        "to": "party_welfare.cpc_members"}
    with pytest.raises(Conflict):  # settled already (a second click, another tab)
        drafts.resolve_proposal(db, draft, "party_welfare.party_members", "dismiss", actor_id=admin)
    db.rollback()
    with pytest.raises(Conflict):  # the page's draft is not the stored one any more
        drafts.resolve_proposal(db, draft, "land.land_grass", "dismiss", expected_hash=old_hash, actor_id=admin)


def test_all_settled_the_version_publishes_and_compares_as_decided(draft, role_users, db):
    admin = role_users["admin"]
    for key in PROPOSED:
        decision = "dismiss" if key in ("party_welfare.party_members", "land.land_grass") else "accept"
        drafts.resolve_proposal(db, draft, key, decision, actor_id=admin)
    assert drafts.check_version(db, "indicator_set", draft).ok
    published = _publish(db, draft, admin)
    db.commit()
    v1_id = db.scalar(select(IndicatorSetVersion.id).where(IndicatorSetVersion.code == CODE,
                                                           IndicatorSetVersion.version == 1))
    table = correspondence(indicator_set_model(db, v1_id), indicator_set_model(db, published.id))
    assert table["elderly.pop_age_90p"].old_keys == ("population.pop_age_90p",) and table["elderly.pop_age_90p"].comparable
    assert (table["party_welfare.cpc_members"].comparable, table["party_welfare.cpc_members"].note) == (
        False, CONFIRMED_NEW)
    assert not table["land.land_other"].comparable  # 含草地: not the same indicator


def test_a_type_change_cannot_be_dismissed(published, role_users, db):
    publish_indicator_set(db, version_1(), code=CODE, version=1)
    doc = version_1()
    doc["x-version"] = 2
    doc["properties"]["population"]["properties"]["resident_pop"]["type"] = "number"
    row = drafts.create_indicator_draft(db, CODE).row
    drafts.update_indicator_draft(db, row.id, content=doc)
    with pytest.raises(BadInput, match="只能采用建议"):
        drafts.resolve_proposal(db, row.id, "population.resident_pop", "dismiss")
    checked = drafts.resolve_proposal(db, row.id, "population.resident_pop", "accept")
    assert checked.ok and checked.row.content["x-mappings"]["fields"][0]["kind"] == "not_comparable"


def test_a_version_published_before_the_check_loads_and_publishes_again_as_a_no_op(published, db, tmp_path):
    publish_indicator_set(db, version_1(), code=CODE, version=1)
    # published by an earlier release, before open correspondences were refused
    row = IndicatorSetVersion(code=CODE, version=2, status="published", title="演练", content=version_2(),
                              content_hash=content_hash(version_2()), source=f"{CODE}/v2.json")
    db.add(row)
    db.flush()
    assert "elderly.pop_age_60p" in indicator_set_model(db, row.id).fields
    again = publish_indicator_set(db, version_2(), code=CODE, version=2)
    assert (again.id, again.created) == (row.id, False)
    folder = tmp_path / CODE
    folder.mkdir()
    for n, doc in ((1, version_1()), (2, version_2())):
        (folder / f"v{n}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert publish_indicator_file(db, folder / "v2.json").created is False


def test_the_cli_refuses_to_publish_a_file_with_open_proposals(database_url, tmp_path, monkeypatch, clean_db, db):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRASSROOTS_INSTANCE", str(tmp_path / "instance"))
    folder = tmp_path / CODE
    folder.mkdir()
    for n, doc in ((1, version_1()), (2, version_2())):
        (folder / f"v{n}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["definitions", "publish", str(folder / "v1.json"), str(folder / "v2.json")])
    assert result.exit_code == 1
    assert "「草地」（land.land_grass）在本版本中没有了" in result.output and "请确认不对应" in result.output
    assert db.scalar(select(IndicatorSetVersion).where(IndicatorSetVersion.code == CODE)) is None  # all or none
    check = runner.invoke(cli, ["definitions", "check", str(folder)])
    assert check.exit_code == 1 and "「党员数」（party_welfare.party_members）" in check.output
