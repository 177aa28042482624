"""POST /api/v1/submissions/submit-batch: many reports in one transaction, one answer per report.

Every JSON answer is checked against the generated OpenAPI document (as in test_api_submissions.py).
"""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from sqlalchemy import event, func, select

from api.submissions import MAX_BATCH_ITEMS
from engine.auth import create_api_token, create_user
from engine.db.models import ApiToken, Submission, SubmissionRevision, User, WorkflowTask
from tests.conftest import PASSWORD, statements_sent, valid_report

URL = "/api/v1/submissions/submit-batch"
PATH = "/submissions/submit-batch"
XIKOU, SHANGJIE, ZHULIN, CHAYUAN = "390121101201", "390121101202", "390121101203", "390121101204"
YUNXI_TOWNSHIP = "390121101000"
CLERK_VILLAGES = (XIKOU, SHANGJIE, ZHULIN, CHAYUAN)


@pytest.fixture
def doc(client):
    return client.get("/api/v1/openapi.json").get_json()


def check(doc, resp, path: str = PATH, method: str = "post", status: int = 200) -> dict:
    """Assert the status, and that the body matches the response schema documented for it."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    schema = doc["paths"]["/api/v1" + path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    body = resp.get_json()
    Draft202012Validator({**schema, "components": doc["components"]}).validate(body)
    return body


def request_schema(doc) -> Draft202012Validator:
    return Draft202012Validator(doc["paths"]["/api/v1" + PATH]["post"]["requestBody"]["content"]["application/json"]
                                ["schema"])


@pytest.fixture
def tokens(collection, db):
    """Bearer tokens; clerk_multi keys in the paper forms of the four villages of 云溪镇."""
    create_user(db, "clerk_multi", PASSWORD, roles=[("village_clerk", code) for code in CLERK_VILLAGES])
    users = {u.username: u for u in db.scalars(select(User))}
    made = {name: create_api_token(db, users[name], "test") for name in ("clerk_multi", "clerk_xikou", "rev_yunxi")}
    db.commit()
    return made


def auth(tokens, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[username]}"}


def sub_of(db, collection, org: str) -> Submission:
    db.expire_all()
    return db.scalar(select(Submission).where(Submission.collection_id == collection.id, Submission.org_code == org))


def revision_kinds(db, sub: Submission) -> list[tuple[int, str]]:
    return [(r.revision, r.kind) for r in db.scalars(
        select(SubmissionRevision).where(SubmissionRevision.submission_id == sub.id).order_by(SubmissionRevision.revision))]


def test_a_mixed_batch_answers_per_report_in_order(client, doc, tokens, collection, db):
    subs = {org: sub_of(db, collection, org) for org in CLERK_VILLAGES}
    headers = auth(tokens, "clerk_multi")
    # 竹林's draft is saved by someone else meanwhile: the batch still holds revision 0
    draft = {"population": {"pop_total": 7}}
    check(doc, client.put(f"/api/v1/submissions/{subs[ZHULIN].id}", json={"data": draft, "revision": 0},
                          headers=auth(tokens, "clerk_multi")), "/submissions/{submission_id}", "put")
    bad = valid_report()
    bad["population"]["pop_male"] += 1  # breaks the cross-field rule pop_sex_sum
    explained = valid_report()
    explained["population"]["resident_pop"] = 500  # a soft rule, explained
    payload = {"items": [
        {"submission_id": subs[XIKOU].id, "revision": 0, "data": valid_report()},
        {"submission_id": subs[SHANGJIE].id, "revision": 0, "data": bad},
        {"submission_id": subs[ZHULIN].id, "revision": 0, "data": valid_report()},
        {"submission_id": subs[CHAYUAN].id, "revision": 0, "data": explained,
         "explanations": {"resident_within_half": "已核实：外出务工人员多"}},
    ]}
    request_schema(doc).validate(payload)  # the documented request schema accepts what the test sends
    body = check(doc, client.post(URL, json=payload, headers=headers))

    assert (body["submitted"], body["refused"]) == (2, 2)
    assert [(i["submission_id"], i["submitted"]) for i in body["items"]] == [
        (subs[XIKOU].id, True), (subs[SHANGJIE].id, False), (subs[ZHULIN].id, False), (subs[CHAYUAN].id, True)]
    ok, invalid, stale, ok_explained = body["items"]
    assert (ok["message"], ok["problems"]) == ("", []) and (ok_explained["message"], ok_explained["problems"]) == ("", [])
    assert "校验" in invalid["message"]
    assert ("population.pop_total", "pop_sex_sum", "hard") in {
        (p["data_path"], p["rule_id"], p["severity"]) for p in invalid["problems"]}
    assert all(p["message"] for p in invalid["problems"])
    assert "已被他人修改" in stale["message"] and stale["problems"] == []

    # the valid ones are submitted and handed on to the township reviewer, in the database
    for org in (XIKOU, CHAYUAN):
        sub = sub_of(db, collection, org)
        assert (sub.status, sub.revision) == ("submitted", 1)
        assert revision_kinds(db, sub) == [(1, "submit")]
        review = db.scalar(select(WorkflowTask).where(WorkflowTask.submission_id == sub.id,
                                                      WorkflowTask.kind == "review", WorkflowTask.state == "ready"))
        assert review is not None and review.assignee_org_code == YUNXI_TOWNSHIP
    assert sub_of(db, collection, CHAYUAN).explanations == {"resident_within_half": "已核实：外出务工人员多"}
    # nothing of the refused ones is stored: no draft of the invalid one, the other's draft untouched
    invalid_sub = sub_of(db, collection, SHANGJIE)
    assert (invalid_sub.status, invalid_sub.revision, invalid_sub.data) == ("not_started", 0, {})
    assert revision_kinds(db, invalid_sub) == []
    stale_sub = sub_of(db, collection, ZHULIN)
    assert (stale_sub.status, stale_sub.revision, stale_sub.data) == ("draft", 1, draft)
    assert revision_kinds(db, stale_sub) == [(1, "draft")]
    # the reviewer sees the two in the inbox
    inbox = check(doc, client.get("/api/v1/tasks", headers=auth(tokens, "rev_yunxi")), "/tasks", "get")
    assert {t["submission_id"] for t in inbox["items"]} == {subs[XIKOU].id, subs[CHAYUAN].id}

    # sent again corrected, the refused ones go through (the caller kept its source data)
    again = {"items": [{"submission_id": subs[SHANGJIE].id, "revision": 0, "data": valid_report()},
                       {"submission_id": subs[ZHULIN].id, "revision": 1, "data": valid_report()}]}
    body = check(doc, client.post(URL, json=again, headers=headers))
    assert (body["submitted"], body["refused"]) == (2, 0)
    # and a report already handed on is refused, not submitted twice
    body = check(doc, client.post(URL, json={"items": [payload["items"][0] | {"revision": 1}]}, headers=headers))
    assert body["items"] == [{"submission_id": subs[XIKOU].id, "submitted": False,
                              "message": body["items"][0]["message"], "problems": []}]
    assert "不在您的填报环节" in body["items"][0]["message"]


def test_reports_outside_the_callers_scope_are_refused_per_item_without_leaking(client, doc, tokens, collection, db):
    xikou, shangjie = sub_of(db, collection, XIKOU), sub_of(db, collection, SHANGJIE)
    baishi = sub_of(db, collection, "390121201201")  # another township
    missing = 1 + db.scalar(select(func.max(Submission.id)))
    payload = {"items": [{"submission_id": sid, "revision": 0, "data": valid_report()}
                         for sid in (shangjie.id, xikou.id, baishi.id, missing)]}
    body = check(doc, client.post(URL, json=payload, headers=auth(tokens, "clerk_xikou")))
    assert (body["submitted"], body["refused"]) == (1, 3)
    assert [i["submitted"] for i in body["items"]] == [False, True, False, False]
    refused = [body["items"][n] for n in (0, 2, 3)]
    # out of scope reads exactly like a report that does not exist: nothing about its unit or data
    assert {(i["message"], tuple(i["problems"])) for i in refused} == {("填报记录不存在或无权查看", ())}
    assert all(set(i) == {"submission_id", "submitted", "message", "problems"} for i in body["items"])
    assert sub_of(db, collection, SHANGJIE).revision == 0 and sub_of(db, collection, "390121201201").revision == 0
    assert sub_of(db, collection, XIKOU).status == "submitted"


def test_a_reviewer_cannot_submit_for_villages(client, doc, tokens, collection, db):
    sub = sub_of(db, collection, XIKOU)
    payload = {"items": [{"submission_id": sub.id, "revision": 0, "data": valid_report()}]}
    body = check(doc, client.post(URL, json=payload, headers=auth(tokens, "rev_yunxi")))
    assert (body["submitted"], body["refused"]) == (0, 1)
    assert body["items"][0]["message"] == "此表当前不在您的填报环节"
    assert sub_of(db, collection, XIKOU).revision == 0


def _item(sid: int, **kw) -> dict:
    return {"submission_id": sid, "revision": 0, "data": {}, **kw}


@pytest.mark.parametrize("case", ["empty", "too_many", "duplicate", "missing_field", "no_items", "not_an_object",
                                  "items_not_a_list", "extra_field", "bad_explanations", "negative_revision",
                                  "huge_id"])
def test_a_malformed_batch_is_400_in_chinese_and_stores_nothing(client, doc, tokens, collection, db, case):
    xikou, shangjie = sub_of(db, collection, XIKOU), sub_of(db, collection, SHANGJIE)
    x, s = xikou.id, shangjie.id
    payload = {
        "empty": {"items": []},
        "too_many": {"items": [_item(x + n) for n in range(MAX_BATCH_ITEMS + 1)]},
        "duplicate": {"items": [_item(x, data=valid_report()), _item(s), _item(x)]},
        "missing_field": {"items": [_item(x, data=valid_report()), {"submission_id": s}]},
        "no_items": {},
        "not_an_object": [_item(x)],
        "items_not_a_list": {"items": _item(x)},
        "extra_field": {"items": [_item(x, data=valid_report(), status="submitted")]},
        "bad_explanations": {"items": [_item(x, data=valid_report(), explanations={"r": 1})]},
        "negative_revision": {"items": [_item(x, data=valid_report(), revision=-1)]},
        "huge_id": {"items": [_item(x, data=valid_report()), _item(2**70)]},
    }[case]
    body = check(doc, client.post(URL, json=payload, headers=auth(tokens, "clerk_multi")), status=400)
    error = body["error"]
    assert error["code"] == "bad_input" and re.search(r"[\u4e00-\u9fff]", error["message"]), error
    if case == "empty":
        assert error["details"] == {"count": 0, "max_items": MAX_BATCH_ITEMS}
    if case == "too_many":
        assert error["details"] == {"count": MAX_BATCH_ITEMS + 1, "max_items": MAX_BATCH_ITEMS}
        assert str(MAX_BATCH_ITEMS) in error["message"]
    if case == "duplicate":
        assert error["details"] == {"duplicate_submission_ids": [x]} and str(x) in error["message"]
    if case == "missing_field":
        [problem] = error["details"]["problems"]  # one problem naming both missing fields
        assert problem["data_path"] == "items.1" and {"revision", "data"} <= set(re.findall(r"\w+", problem["message"]))
    # one bad report refuses the whole batch before anything runs: the valid one is not submitted either
    assert (sub_of(db, collection, XIKOU).revision, sub_of(db, collection, SHANGJIE).revision) == (0, 0)


@pytest.mark.parametrize("case", ["nan", "nul_in_data", "nul_in_explanations", "surrogate_in_data",
                                  "surrogate_in_key"])
def test_a_report_that_cannot_be_stored_is_refused_alone(client, doc, tokens, collection, db, case):
    """NaN (which Flask's JSON parser accepts), U+0000 and a lone UTF-16 surrogate ("\\ud800" in the body;
    jsonb holds neither): that report is refused with the field named, the rest of the batch goes through;
    never a 500."""
    x, s = sub_of(db, collection, XIKOU).id, sub_of(db, collection, SHANGJIE).id
    with_nul = valid_report()
    with_nul["filler"]["filler_name"] = "张\x00三"
    with_surrogate = valid_report()
    with_surrogate["filler"]["filler_name"] = "张\ud800"
    bad = {"nan": _item(s, data={"population": {"pop_total": float("nan")}}),
           "nul_in_data": _item(s, data=with_nul),
           "nul_in_explanations": _item(s, data=valid_report(), explanations={"resident_within_half": "\x00"}),
           "surrogate_in_data": _item(s, data=with_surrogate),
           "surrogate_in_key": _item(s, data={**valid_report(), "村\udc00": 1})}[case]
    resp = client.post(URL, data=json.dumps({"items": [_item(x, data=valid_report()), bad]}),
                       content_type="application/json", headers=auth(tokens, "clerk_multi"))
    body = check(doc, resp)
    ok, refused = body["items"]
    assert ok["submitted"] and not refused["submitted"] and re.search(r"[\u4e00-\u9fff]", refused["message"])
    assert [p["data_path"] for p in refused["problems"]] == [{
        "nan": "population.pop_total", "nul_in_data": "filler.filler_name",
        "nul_in_explanations": "explanations.resident_within_half", "surrogate_in_data": "filler.filler_name",
        "surrogate_in_key": None}[case]]
    if case.startswith("surrogate"):
        assert "代理项" in refused["problems"][0]["message"]
    assert (sub_of(db, collection, XIKOU).status, sub_of(db, collection, SHANGJIE).revision) == ("submitted", 0)


def test_without_a_token_is_401(client, doc, collection, db):
    sub = sub_of(db, collection, XIKOU)
    resp = client.post(URL, json={"items": [_item(sub.id, data=valid_report())]})
    body = check(doc, resp, status=401)
    assert body["error"]["code"] == "unauthenticated"
    resp = client.post(URL, json={"items": [_item(sub.id, data=valid_report())]},
                       headers={"Authorization": "Bearer nope"})
    check(doc, resp, status=401)
    assert sub_of(db, collection, XIKOU).revision == 0


def test_the_endpoint_is_in_the_openapi_document(client, doc):
    validate(doc)
    op = doc["paths"]["/api/v1" + PATH]["post"]
    assert re.search(r"[\u4e00-\u9fff]", op["summary"]) and "不保存" in op["summary"]
    assert op["tags"] == ["submissions"] and op["operationId"] == "submissions_submit_batch"
    assert {"200", "400", "401", "403", "500"} <= set(op["responses"])
    items = op["requestBody"]["content"]["application/json"]["schema"]["properties"]["items"]
    assert (items["minItems"], items["maxItems"]) == (1, MAX_BATCH_ITEMS)
    assert set(items["items"]["required"]) == {"submission_id", "revision", "data"}
    result = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(result["required"]) == {"submitted", "refused", "items"}


def _token_last_used(db, username: str):
    db.expire_all()
    return db.scalar(select(ApiToken.last_used_at).join(User, User.id == ApiToken.user_id)
                     .where(User.username == username))


def test_a_tokens_use_is_noted_by_the_request_and_stamped_by_one_write_for_many(
        app, client, doc, tokens, collection, db, db_engine):
    """The lookup only reads: a write commits only its work, a read or a POST that stores nothing
    (validate) commits nothing. Each token used is noted once, and one write stamps them all."""
    from engine.token_use import TokenUseLog
    from web.db import USE_LOG_KEY, token_use_writer

    log = app.extensions[USE_LOG_KEY] = TokenUseLog(token_use_writer(app.extensions["grassroots.sessionmaker"]),
                                                    delay=3600)  # written when this test says so
    commits: list[int] = []

    def count(conn):
        commits.append(1)

    event.listen(db_engine, "commit", count)
    try:
        xikou = sub_of(db, collection, XIKOU)
        body = check(doc, client.post(URL, json={"items": [_item(xikou.id, data=valid_report())]},
                                      headers=auth(tokens, "clerk_multi")))
        assert body["submitted"] == 1
        assert len(commits) == 1  # the batch's
        commits.clear()
        assert client.get("/api/v1/tasks", headers=auth(tokens, "rev_yunxi")).status_code == 200
        assert client.get("/api/v1/tasks", headers=auth(tokens, "rev_yunxi")).status_code == 200
        assert client.post(f"/api/v1/submissions/{xikou.id}/validate", json={},
                           headers=auth(tokens, "clerk_xikou")).status_code == 200
        assert commits == []
        assert len(log.pending) == 3
        assert all(_token_last_used(db, name) is None for name in tokens)
        with statements_sent(db_engine) as sent:
            assert len(log.flush()) == 3
        assert [s for s in sent if "api_tokens" in s] == [sent[0]] and sent[0].startswith("UPDATE")
        assert commits == [1]
        assert all(_token_last_used(db, name) is not None for name in tokens)
        assert client.get("/api/v1/tasks", headers=auth(tokens, "rev_yunxi")).status_code == 200
        assert log.pending == frozenset()  # stamped within the minute: not due again
    finally:
        event.remove(db_engine, "commit", count)


def test_the_uses_noted_are_stamped_within_a_second_without_another_request(client, tokens, db):
    """The app's own log: its timer writes, so an idle process still stamps the last uses it noted."""
    import time

    assert client.get("/api/v1/tasks", headers=auth(tokens, "rev_yunxi")).status_code == 200
    deadline = time.monotonic() + 15  # generous: a bound on waiting, not a measure of speed
    while _token_last_used(db, "rev_yunxi") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _token_last_used(db, "rev_yunxi") is not None
    assert _token_last_used(db, "clerk_xikou") is None  # not used
