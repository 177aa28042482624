"""Indicator-set and submission API: every JSON answer is checked against the generated OpenAPI document."""

from __future__ import annotations

import copy
import re

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from engine.auth import create_api_token
from engine.db.models import Submission, User
from tests.conftest import login, valid_report

XIKOU = "390121101201"


@pytest.fixture
def doc(client):
    return client.get("/api/v1/openapi.json").get_json()


def check(doc, resp, path: str, method: str = "get", status: int = 200) -> dict:
    """Assert the status, and that the body matches the response schema documented for it."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    schema = doc["paths"]["/api/v1" + path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    body = resp.get_json()
    # the schema's "$ref"s point into the document's components: validate with them at the root
    Draft202012Validator({**schema, "components": doc["components"]}).validate(body)
    return body


@pytest.fixture
def tokens(collection, db):
    users = {u.username: u for u in db.scalars(select(User))}
    made = {name: create_api_token(db, users[name], "test") for name in
            ("clerk_xikou", "clerk_shangjie", "rev_yunxi", "viewer")}
    db.commit()
    return made


def auth(tokens, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[username]}"}


def xikou(db, collection) -> Submission:
    db.expire_all()
    return db.scalar(select(Submission).where(Submission.collection_id == collection.id,
                                              Submission.org_code == XIKOU))


SUB = "/submissions/{submission_id}"


def test_indicator_sets_and_versions(client, doc, tokens):
    headers = auth(tokens, "viewer")
    body = check(doc, client.get("/api/v1/indicator-sets", headers=headers), "/indicator-sets")
    versions = {item["code"]: [v["version"] for v in item["versions"]] for item in body["items"]}
    assert versions == {"elderly_allowance": [1, 2], "village_basic": [1, 2, 3]}
    body = check(doc, client.get("/api/v1/indicator-sets/village_basic/versions", headers=headers),
                 "/indicator-sets/{code}/versions")
    assert [v["version"] for v in body["items"]] == [1, 2, 3] and body["code"] == "village_basic"
    body = check(doc, client.get("/api/v1/indicator-sets/village_basic/versions/1", headers=headers),
                 "/indicator-sets/{code}/versions/{version}")
    assert body["status"] == "published" and len(body["content_hash"]) == 64
    assert body["schema"]["properties"]["population"]["title"] == "人口"
    for url, path in (("/api/v1/indicator-sets/nope/versions", "/indicator-sets/{code}/versions"),
                      ("/api/v1/indicator-sets/village_basic/versions/9", "/indicator-sets/{code}/versions/{version}")):
        body = check(doc, client.get(url, headers=headers), path, status=404)
        assert body["error"]["code"] == "not_found" and "未找到" in body["error"]["message"]


def test_api_needs_a_caller(client, doc, collection):
    body = check(doc, client.get("/api/v1/indicator-sets"), "/indicator-sets", status=401)
    assert body["error"]["code"] == "unauthenticated"


def test_get_submission(client, doc, tokens, collection, db):
    sub = xikou(db, collection)
    body = check(doc, client.get(f"/api/v1/submissions/{sub.id}", headers=auth(tokens, "clerk_xikou")), SUB)
    assert body == {**body, "id": sub.id, "collection_id": collection.id, "org_code": XIKOU, "status": "not_started",
                    "revision": 0, "indicator_set": {"code": "village_basic", "version": 1}, "masked": False}


def test_out_of_scope_is_404(client, doc, tokens, collection, db):
    sub = xikou(db, collection)
    headers = auth(tokens, "clerk_shangjie")
    body = check(doc, client.get(f"/api/v1/submissions/{sub.id}", headers=headers), SUB, status=404)
    assert body["error"]["code"] == "not_found"
    check(doc, client.put(f"/api/v1/submissions/{sub.id}", json={"data": {}, "revision": 0}, headers=headers),
          SUB, "put", 404)
    check(doc, client.get(f"/api/v1/submissions/{sub.id}/revisions", headers=headers), SUB + "/revisions", status=404)
    check(doc, client.post(f"/api/v1/submissions/{sub.id}/validate", json={}, headers=headers),
          SUB + "/validate", "post", 404)
    assert xikou(db, collection).revision == 0


def test_put_saves_a_draft_and_a_stale_revision_is_409(client, doc, tokens, collection, db):
    sub = xikou(db, collection)
    headers = auth(tokens, "clerk_xikou")
    url = f"/api/v1/submissions/{sub.id}"
    body = check(doc, client.put(url, json={"data": {"population": {"pop_total": "abc"}}, "revision": 0},
                                 headers=headers), SUB, "put")
    assert (body["revision"], body["status"]) == (1, "draft")
    assert body["data"] == {"population": {"pop_total": "abc"}}  # saved as sent, no validation
    body = check(doc, client.put(url, json={"data": {}, "revision": 0}, headers=headers), SUB, "put", 409)
    assert body["error"]["code"] == "conflict" and body["error"]["details"]["current_revision"] == 1
    assert "已被他人修改" in body["error"]["message"]
    assert xikou(db, collection).data == {"population": {"pop_total": "abc"}}


@pytest.mark.parametrize("payload", [{"data": {}}, {"data": [], "revision": 0}, {"data": {}, "revision": -1},
                                     {"data": {}, "revision": 0, "extra": 1}, "not an object",
                                     # U+0000 cannot be stored in jsonb: refused by the engine, not a 500
                                     {"data": {"filler": {"filler_name": "张\x00三"}}, "revision": 0},
                                     {"data": {}, "revision": 0, "explanations": {"r": "\x00"}}])
def test_malformed_body_is_400_in_chinese(client, doc, tokens, collection, db, payload):
    sub = xikou(db, collection)
    resp = client.put(f"/api/v1/submissions/{sub.id}", json=payload, headers=auth(tokens, "clerk_xikou"))
    body = check(doc, resp, SUB, "put", 400)
    assert body["error"]["code"] == "bad_input" and re.search(r"[\u4e00-\u9fff]", body["error"]["message"])
    assert xikou(db, collection).revision == 0


def test_a_lone_surrogate_in_a_body_is_400_in_chinese_not_a_500(client, doc, tokens, collection, db):
    """``"\\ud800"`` is valid JSON text, but its character has no UTF-8 form and jsonb cannot hold it."""
    sub = xikou(db, collection)
    body = '{"data": {"filler": {"filler_name": "张\\ud800"}}, "revision": 0}'
    headers = {**auth(tokens, "clerk_xikou"), "Content-Type": "application/json"}
    for path, method in [(SUB, "put"), (SUB + "/submit", "post")]:
        url = "/api/v1" + path.replace("{submission_id}", str(sub.id))
        answer = check(doc, client.open(url, method=method.upper(), data=body, headers=headers), path, method, 400)
        assert answer["error"]["details"]["data_path"] == "filler.filler_name"
        assert "代理项" in answer["error"]["message"]
    assert xikou(db, collection).revision == 0


def test_validate_stored_or_posted_data(client, doc, tokens, collection, db):
    sub = xikou(db, collection)
    headers = auth(tokens, "clerk_xikou")
    url = f"/api/v1/submissions/{sub.id}/validate"
    body = check(doc, client.post(url, json={"data": valid_report()}, headers=headers), SUB + "/validate", "post")
    assert body == {"ok": True, "errors": [], "warnings": []}
    bad = valid_report()
    bad["population"]["pop_male"] += 1
    bad["population"]["resident_pop"] = 500
    body = check(doc, client.post(url, json={"data": bad}, headers=headers), SUB + "/validate", "post")
    assert not body["ok"]
    assert {(e["data_path"], e["rule_id"], e["severity"]) for e in body["errors"]} == {
        ("population.pop_total", "pop_sex_sum", "hard")}
    assert body["errors"][0]["message"] == "男、女人口之和应等于户籍总人口"
    assert [(w["rule_id"], w["explained"]) for w in body["warnings"]] == [("resident_within_half", False)]
    explained = {"data": bad, "explanations": {"resident_within_half": "已核实"}}
    body = check(doc, client.post(url, json=explained, headers=headers), SUB + "/validate", "post")
    assert [(w["rule_id"], w["explained"]) for w in body["warnings"]] == [("resident_within_half", True)]
    # no body: the stored (empty) report, which misses required sections
    body = check(doc, client.post(url, headers=headers), SUB + "/validate", "post")
    assert not body["ok"] and any(e["code"] == "required" for e in body["errors"])
    assert xikou(db, collection).revision == 0  # validating stores nothing


def test_invalid_submit_is_422_with_every_problem_and_keeps_the_draft(client, doc, tokens, collection, db):
    sub = xikou(db, collection)
    bad = valid_report()
    bad["population"]["pop_male"] += 1
    bad["labour"]["labour_resource"] = 5000
    resp = client.post(f"/api/v1/submissions/{sub.id}/submit", json={"data": bad, "revision": 0},
                       headers=auth(tokens, "clerk_xikou"))
    body = check(doc, resp, SUB + "/submit", "post", 422)
    assert body["error"]["code"] == "validation_failed"
    problems = {(p["data_path"], p["rule_id"]) for p in body["error"]["details"]["problems"]}
    assert {("population.pop_total", "pop_sex_sum"), ("labour.labour_resource", "labour_le_pop")} <= problems
    stored = xikou(db, collection)
    assert (stored.status, stored.revision, stored.data) == ("draft", 1, bad)
    assert body["error"]["details"]["revision"] == 1


def test_submit_hands_on_and_lists_revisions(client, doc, tokens, collection, db):
    sub = xikou(db, collection)
    headers = auth(tokens, "clerk_xikou")
    doc_data = copy.deepcopy(valid_report())
    resp = client.post(f"/api/v1/submissions/{sub.id}/submit", json={"data": doc_data, "revision": 0}, headers=headers)
    body = check(doc, resp, SUB + "/submit", "post")
    assert body["submitted"] is True and body["status"] == "submitted" and body["status_label"] == "已提交待审核"
    body = check(doc, client.get(f"/api/v1/submissions/{sub.id}/revisions", headers=headers), SUB + "/revisions")
    assert [(r["revision"], r["kind"]) for r in body["items"]] == [(1, "submit")]
    # the reviewer reads it; the clerk can no longer change it
    check(doc, client.get(f"/api/v1/submissions/{sub.id}", headers=auth(tokens, "rev_yunxi")), SUB)
    body = check(doc, client.put(f"/api/v1/submissions/{sub.id}", json={"data": {}, "revision": 1}, headers=headers),
                 SUB, "put", 409)
    assert "不能修改" in body["error"]["message"]


def test_personal_fields_are_masked_for_readers_without_the_right(client, doc, tokens, collection, db):
    from tests.db.test_exports import approve

    sub = xikou(db, collection)
    client.post(f"/api/v1/submissions/{sub.id}/submit", json={"data": valid_report(), "revision": 0},
                headers=auth(tokens, "clerk_xikou"))
    # a draft or a report waiting for review is not the viewer's to read; an approved one is, masked
    body = check(doc, client.get(f"/api/v1/submissions/{sub.id}", headers=auth(tokens, "viewer")), SUB, status=404)
    approve(db, "rev_yunxi", sub)
    body = check(doc, client.get(f"/api/v1/submissions/{sub.id}", headers=auth(tokens, "viewer")), SUB)
    assert body["masked"] is True and body["data"]["filler"]["filler_phone"] == "***"
    assert body["data"]["population"]["pop_total"] == 1350


def test_cookie_session_needs_the_csrf_header(client, doc, collection, db):
    sub = xikou(db, collection)
    login(client, "clerk_xikou")
    url = f"/api/v1/submissions/{sub.id}"
    body = check(doc, client.put(url, json={"data": {}, "revision": 0}), SUB, "put", 400)
    assert body["error"]["code"] == "csrf_failed"
    page = client.get(f"/submissions/{sub.id}/page/1").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = {"filler": {"filler_name": "张三"}}  # a change: an unchanged save writes no revision
    check(doc, client.put(url, json={"data": data, "revision": 0}, headers={"X-CSRFToken": token}), SUB, "put")
    assert xikou(db, collection).revision == 1


# -- what a stored report may hold (engine.report_limits; round 18, a security QA pass filled 290 MB) ------


def _revisions(db, sub_id: int) -> int:
    from engine.db.models import SubmissionRevision

    return len(db.scalars(select(SubmissionRevision.id).where(SubmissionRevision.submission_id == sub_id)).all())


def test_a_draft_beyond_what_a_form_holds_is_refused_and_nothing_is_stored(client, doc, tokens, collection, db):
    sub = xikou(db, collection)
    headers = auth(tokens, "clerk_xikou")
    url = f"/api/v1/submissions/{sub.id}"
    # a little too long: saved, and the usual problem tells the clerk
    body = check(doc, client.put(url, json={"data": {"filler": {"filler_name": "张" * 25}}, "revision": 0},
                                 headers=headers), SUB, "put")
    assert body["revision"] == 1 and body["data"]["filler"]["filler_name"] == "张" * 25
    checked = check(doc, client.post(url + "/validate", json={}, headers=headers), SUB + "/validate", "post")
    assert "最多填写 20 个字（现在 25 个字）" in {p["message"] for p in checked["errors"]}

    refusals = {
        # (b) far beyond its field's maxLength (20): refused at the field
        "too_long": ({"filler": {"filler_name": "张" * 2001}}, "filler.filler_name",
                     "#/properties/filler/properties/filler_name/maxLength"),
        # (a) 200,000 keys the definition does not have: named (the first 50) and counted
        "unknown_key": ({"filler": {f"k{i}": "x" for i in range(200_000)}}, "filler.k0", "#/properties/filler"),
        # (c) the whole report beyond 4 MiB (the QA pass's 15-million-character name)
        "too_large": ({"filler": {"filler_name": "x" * 15_000_000}}, None, "#/"),
    }
    for code, (data, path, pointer) in refusals.items():
        for resp, method, path_key in ((client.put(url, json={"data": data, "revision": 1}, headers=headers), "put",
                                        SUB),
                                       (client.post(url + "/submit", json={"data": data, "revision": 1},
                                                    headers=headers), "post", SUB + "/submit")):
            error = check(doc, resp, path_key, method, 400)["error"]
            assert error["code"] == "bad_input" and error["message"].startswith("本次未保存"), error
            first = error["details"]["problems"][0]
            assert (first["code"], first["data_path"]) == (code, path) and first["definition"].endswith(pointer)
            assert error["details"]["max_size"] == 4 * 1024 * 1024
    error = client.put(url, json={"data": refusals["unknown_key"][0], "revision": 1}, headers=headers).get_json()
    assert error["error"]["details"]["unknown_keys"] == 200_000 and len(error["error"]["details"]["problems"]) == 50
    assert "filler.k0、filler.k1、filler.k2 等" in error["error"]["message"]
    # an explanation of a rule the version does not have is a key it does not have too
    resp = client.put(url, json={"data": {}, "revision": 1, "explanations": {"no_such_rule": "已核实"}},
                      headers=headers)
    assert check(doc, resp, SUB, "put", 400)["error"]["details"]["problems"][0]["data_path"] == \
        "explanations.no_such_rule"
    stored = xikou(db, collection)
    assert (stored.revision, stored.status, _revisions(db, sub.id)) == (1, "draft", 1)
    assert stored.data == {"filler": {"filler_name": "张" * 25}}

    # a batch submit refuses such a report alone, naming the places; the others go on
    batch = client.post("/api/v1/submissions/submit-batch", headers=headers, json={"items": [
        {"submission_id": sub.id, "revision": 1, "data": {**valid_report(), "qa": 1}}]})
    item = check(doc, batch, "/submissions/submit-batch", "post")["items"][0]
    assert not item["submitted"] and item["message"].startswith("本次未保存")
    assert [(p["code"], p["data_path"]) for p in item["problems"]] == [("unknown_key", "qa")]
    assert xikou(db, collection).revision == 1


def test_an_unchanged_save_writes_no_revision(client, doc, tokens, collection, db):
    sub = xikou(db, collection)
    headers = auth(tokens, "clerk_xikou")
    url = f"/api/v1/submissions/{sub.id}"
    report = valid_report()
    body = check(doc, client.put(url, json={"data": report, "revision": 0}, headers=headers), SUB, "put")
    assert body["revision"] == 1
    saved_at = body["updated_at"]
    for _ in range(3):  # a client saving on a timer; key order is no change
        again = check(doc, client.put(url, json={"data": dict(reversed(report.items())), "revision": 1},
                                      headers=headers), SUB, "put")
        assert (again["revision"], again["status"], again["updated_at"]) == (1, "draft", saved_at)
    assert _revisions(db, sub.id) == 1
    # a stale revision is still refused, even with the same data; a change of explanations is a change
    check(doc, client.put(url, json={"data": report, "revision": 0}, headers=headers), SUB, "put", 409)
    body = check(doc, client.put(url, json={"data": report, "revision": 1,
                                            "explanations": {"resident_within_half": "已核实"}}, headers=headers),
                 SUB, "put")
    assert body["revision"] == 2 and _revisions(db, sub.id) == 2
    check(doc, client.get(url + "/revisions", headers=headers), SUB + "/revisions")
