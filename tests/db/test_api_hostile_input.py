"""Hostile and careless input, replayed from an exploratory pass over every API operation (round 15):
each of these answered 500 (or stored garbage) before. Now: a structured 400/404 in Chinese, and nothing
changed that the request could not mean."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.auth import create_api_token
from engine.db.models import Collection, ProcessVersion, User, WorkflowTask

DEEP_ARRAY = "[" * 1100 + "]" * 1100
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000
NESTED_DATA = '{"data": ' + '{"qa":' * 600 + "1" + "}" * 600 + ', "revision": 0}'


@pytest.fixture
def bearer(collection, db):
    users = {u.username: u for u in db.scalars(select(User))}
    tokens = {name: create_api_token(db, users[name], "test") for name in ("admin", "clerk_xikou", "rev_yunxi")}
    db.commit()
    return lambda name: {"Authorization": f"Bearer {tokens[name]}"}


def _json_error(resp, status: int = 400) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:300])
    error = resp.get_json()["error"]
    assert any("\u4e00" <= c <= "\u9fff" for c in error["message"]), error
    return error


def _launch(**overrides):
    return {"title": "2026年测试", "indicator_set": "village_basic", "process": "village_report", "period": "2026",
            "scope_org_code": "390121000000", "opens_on": "2026-01-01", "deadline": "2026-03-31", **overrides}


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
def test_deeply_nested_json_is_400(client, bearer, body):
    for url in ("/api/v1/definitions/indicator-sets", "/api/v1/collections"):
        _json_error(client.post(url, data=body, content_type="application/json", headers=bearer("admin")))


XIKOU = "390121101201"


def _xikou(db, collection) -> int:
    from engine.db.models import Submission

    return db.scalar(select(Submission.id).where(Submission.collection_id == collection.id,
                                                 Submission.org_code == XIKOU))


def test_nested_report_data_is_400(client, bearer, collection, db):
    sub = _xikou(db, collection)
    for path in (f"/api/v1/submissions/{sub}/validate", f"/api/v1/submissions/{sub}/submit"):
        resp = client.post(path, data=NESTED_DATA, content_type="application/json", headers=bearer("clerk_xikou"))
        assert resp.status_code == 400, resp.get_data(as_text=True)[:200]


@pytest.mark.parametrize("value", ["a\u0000b", "\ud800"], ids=["nul", "surrogate"])
def test_text_the_database_cannot_hold_is_400(client, bearer, value):
    headers = bearer("admin")
    _json_error(client.get(f"/api/v1/indicator-sets/{value}/versions", headers=headers), 400) \
        if value == "a\u0000b" else None
    for field in ("indicator_set", "process", "scope_org_code", "title"):
        resp = client.post("/api/v1/collections", data=json.dumps(_launch(**{field: value})),
                           content_type="application/json", headers=headers)
        assert resp.status_code in (400, 404), (field, resp.status_code, resp.get_data(as_text=True)[:200])
    resp = client.post("/api/v1/definitions/indicator-sets", headers=headers, content_type="application/json",
                       data=json.dumps({"code": "qa_t5", "start": "scratch", "title": value}))
    assert resp.status_code in (201, 400), resp.get_data(as_text=True)[:200]


def test_a_far_deadline_or_long_title_is_refused_and_lists_keep_working(client, bearer, db):
    headers = bearer("admin")
    error = _json_error(client.post("/api/v1/collections", json=_launch(deadline="9999-12-31"), headers=headers))
    assert error["details"]["data_path"] == "deadline"
    error = _json_error(client.post("/api/v1/collections", json=_launch(title="长" * 201), headers=headers))
    assert error["details"]["data_path"] == "title"
    assert client.get("/api/v1/collections", headers=headers).status_code == 200


@pytest.mark.parametrize("value", ["²", "１", "9" * 5000], ids=["superscript", "fullwidth", "huge"])
def test_numbers_are_ascii_digits(client, bearer, collection, value):
    _json_error(client.get("/api/v1/tasks", query_string={"page": value}, headers=bearer("rev_yunxi")))
    _json_error(client.get(f"/api/v1/collections/{collection.id}/comparison", query_string={"with": value},
                           headers=bearer("admin")))
    _json_error(client.post("/api/v1/collections", json=_launch(indicator_set_version=value), headers=bearer("admin")))
    if len(value) == 1:  # an id in the path written with other digits is no id
        assert client.get(f"/api/v1/submissions/{value}", headers=bearer("admin")).status_code == 404


@pytest.mark.parametrize("note", [-1, 1.5, True, [], {}], ids=["int", "float", "bool", "list", "dict"])
def test_a_change_note_must_be_text(client, bearer, published, note):
    headers = bearer("admin")
    draft = client.post("/api/v1/definitions/indicator-sets", json={"code": "village_basic"}, headers=headers)
    version_id = draft.get_json()["id"]
    _json_error(client.post(f"/api/v1/definitions/indicator-sets/{version_id}/publish", json={"change_note": note},
                            headers=headers))


@pytest.mark.parametrize("bpmn", [None, 12345], ids=["null", "number"])
def test_a_process_draft_is_not_overwritten_by_a_body_without_bpmn(client, bearer, published, db, bpmn):
    headers = bearer("admin")
    text = (published_bpmn := db.scalar(select(ProcessVersion.bpmn).where(ProcessVersion.status == "published")))
    created = client.post("/api/v1/definitions/processes", json={"bpmn": text.replace("县级审核", "县级复核")},
                          headers=headers)
    assert created.status_code == 201
    draft_id = created.get_json()["id"]
    for body in ({}, {"bpmn": bpmn}):
        _json_error(client.put(f"/api/v1/definitions/processes/{draft_id}", json=body, headers=headers))
        _json_error(client.post("/api/v1/definitions/processes", json=body, headers=headers))
    db.expire_all()
    assert "县级复核" in db.get(ProcessVersion, draft_id).bpmn and published_bpmn


@pytest.mark.parametrize("payload", [{"decision": []}, {}, {"decision": {"a": 1}}], ids=["list", "none", "dict"])
def test_a_review_decision_must_be_one_of_the_words(client, bearer, collection, db, payload):
    from engine.db.models import Submission
    from engine.submissions import submit
    from tests.conftest import principal_of, valid_report

    sub = _xikou(db, collection)
    data = valid_report()
    data["basic"]["division_code"] = XIKOU
    assert submit(db, principal_of(db, "clerk_xikou"), sub, data, revision=db.get(Submission, sub).revision).submitted
    db.commit()
    task = db.scalar(select(WorkflowTask.id).where(WorkflowTask.submission_id == sub, WorkflowTask.state == "ready"))
    resp = client.post(f"/api/v1/tasks/{task}/complete", json=payload, headers=bearer("rev_yunxi"))
    assert resp.status_code in (400, 404), resp.get_data(as_text=True)[:200]


def test_roster_query_with_wrong_types_is_400(client, bearer, collection):
    url = f"/api/v1/collections/{collection.id}/roster-query"
    for body in ({"array_key": "elders", "condition": "true", "org_unit": {"a": 1}},
                 {"array_key": "elders", "condition": -1},
                 {"array_key": ["x"], "condition": "true"}):
        _json_error(client.post(url, json=body, headers=bearer("admin")))
    assert Collection  # the collection fixture is what the query runs over


def test_the_document_declares_what_the_edge_answers(client):
    """Every operation may answer 400 (a parameter out of range, CSRF) and, with a body, 413; the export
    is XLSX or CSV; launching a collection that exists answers 200 with it."""
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path, ops in paths.items():
        for method, op in ops.items():
            assert "400" in op["responses"], (method, path)
            assert ("413" in op["responses"]) == ("requestBody" in op), (method, path)
    export = paths["/api/v1/collections/{id}/export"]["get"]["responses"]["200"]["content"]
    from engine.exports import FORMATS

    assert set(export) == {f.content_type for f in FORMATS.values()} and len(export) == 2
    assert {"200", "201"} <= set(paths["/api/v1/collections"]["post"]["responses"])


# A role check comes before the body's shape: a caller without the role is told that (403), not how to
# shape a body it may not send (round 18, a security QA pass).
WRONG_BODIES = {
    "/api/v1/collections": {"title": 5, "indicator_set": [], "scope_org_code": {}},
    "/api/v1/definitions/indicator-sets/{id}/retire": {"change_note": 5},
    "/api/v1/definitions/indicator-sets": {"code": ["village_basic"]},
    "/api/v1/definitions/processes": {"bpmn": 12345},
}


@pytest.mark.parametrize("user", ["clerk_xikou", "rev_yunxi"])
def test_a_caller_without_the_role_is_403_before_its_body_is_read(client, bearer, published, db, user):
    from engine.db.models import IndicatorSetVersion
    from tests.db.test_api_tasks import validate_response

    doc = client.get("/api/v1/openapi.json").get_json()
    version = db.scalar(select(IndicatorSetVersion.id).where(IndicatorSetVersion.status == "published"))
    messages = {"/api/v1/collections": "只有省级管理员可以发起采集任务"}
    collections = db.scalars(select(Collection.id)).all()
    for template, body in WRONG_BODIES.items():
        url = template.replace("{id}", str(version))
        for payload in ({"json": body}, {"data": "[1, 2", "content_type": "application/json"}):
            resp = client.post(url, headers=bearer(user), **payload)
            error = _json_error(resp, 403)
            validate_response(doc, "POST", url, 403, resp.get_json())
            assert error["code"] == "forbidden", (url, error)
            assert error["message"] == messages.get(template, "只有省级管理员可以管理指标集和审批流程定义"), error
            assert "problems" not in error["details"]
        # the document says who may call it
        operation = doc["paths"][template.replace("{id}", "{version_id}")]["post"]
        assert operation["x-roles"] == ["province_admin"] and "省级管理员" in operation["description"]
    # the administrator still gets the body's problems
    error = _json_error(client.post("/api/v1/collections", json=WRONG_BODIES["/api/v1/collections"],
                                    headers=bearer("admin")))
    assert {p["data_path"] for p in error["details"]["problems"]} >= {"title", "indicator_set", "scope_org_code"}
    assert db.scalars(select(Collection.id)).all() == collections
