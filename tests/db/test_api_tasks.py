"""The tasks API through HTTP: the whole approval flow of the sample province, every JSON response
checked against the generated OpenAPI document, scope, conflicts, bulk approval and history."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from engine.db.models import Submission
from tests.conftest import login, valid_report

XIKOU, SHANGJIE = "390121101201", "390121101202"
RETURN_COMMENT = "户数与人口不符，请核实"
FIELD_COMMENT = {"basic.villager_group_count": "村民小组数与去年相差较大，请核对"}


class Api:
    """One logged-in user's client; every JSON response is validated against the OpenAPI document."""

    def __init__(self, app: Any, username: str) -> None:
        self.client = app.test_client()
        assert login(self.client, username).status_code == 302
        self.doc = self.client.get("/api/v1/openapi.json").get_json()
        # A cookie session must send the CSRF token with every POST (real tokens, CSRF switched on).
        home = self.client.get("/").get_data(as_text=True)
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)

    def call(self, method: str, path: str, body: Any = None, status: int = 200) -> dict[str, Any]:
        resp = self.client.open(path, method=method, json=body, headers={"X-CSRFToken": self.csrf})
        assert resp.status_code == status, resp.get_data(as_text=True)
        payload = resp.get_json()
        validate_response(self.doc, method, path, resp.status_code, payload)
        return payload

    def get(self, path: str, status: int = 200) -> dict[str, Any]:
        return self.call("GET", path, status=status)

    def post(self, path: str, body: Any, status: int = 200) -> dict[str, Any]:
        return self.call("POST", path, body, status)


def _operation(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    path = path.split("?")[0]
    # Literal paths first, so /tasks/bulk-approve is not taken for /tasks/{task_id}.
    for template in sorted(doc["paths"], key=lambda t: "{" in t):
        pattern = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in doc["paths"][template]:
            return doc["paths"][template][method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def validate_response(doc: dict[str, Any], method: str, path: str, status: int, payload: Any) -> None:
    responses = _operation(doc, method, path)["responses"]
    assert str(status) in responses, f"{method} {path} answered {status}, which the document does not declare"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    # The response schema refers to #/components/…: give it the document's components as its own.
    Draft202012Validator({**schema, "components": doc["components"]}).validate(payload)


def only(items: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [i for i in items if all(i[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, items)
    return found[0]


def ready_task(api: Api, org: str = XIKOU) -> dict[str, Any]:
    items = [i for i in api.get("/api/v1/tasks?per_page=200")["items"] if i["unit"]["code"] == org]
    assert len(items) == 1, items
    return items[0]


def submit(api: Api, data: dict[str, Any], org: str = XIKOU) -> dict[str, Any]:
    task = ready_task(api, org)
    detail = api.get(f"/api/v1/tasks/{task['id']}")
    return api.post(f"/api/v1/tasks/{task['id']}/complete",
                    {"data": data, "revision": detail["submission"]["revision"]})


def review(api: Api, decision: str, comment: str = "", field_comments: dict | None = None) -> dict[str, Any]:
    task = ready_task(api)
    body = {"decision": decision, "comment": comment, "field_comments": field_comments or {}}
    return api.post(f"/api/v1/tasks/{task['id']}/complete", body)


@pytest.fixture
def users(app, collection):
    names = ("clerk_xikou", "clerk_shangjie", "rev_yunxi", "rev_baishi", "rev_county", "admin")
    return {name: Api(app, name) for name in names}


def test_the_whole_flow_through_http(users, collection, db):
    clerk, township, county = users["clerk_xikou"], users["rev_yunxi"], users["rev_county"]

    entry = ready_task(clerk)
    assert (entry["kind"], entry["kind_label"], entry["unit"]["name"]) == ("entry", "填报", "溪口村委会")
    assert entry["collection"] == {"id": collection.id, "title": "2024年村级基本情况年报"}
    detail = clerk.get(f"/api/v1/tasks/{entry['id']}")
    assert detail["fill_url"] == f"/submissions/{entry['submission_id']}/page/1" and detail["can_act"]

    # An invalid report: 422 with every error, and the draft kept under a new revision.
    bad = valid_report()
    bad["population"]["pop_male"] += 1
    bad["basic"]["report_year"] = 1800
    refused = clerk.post(f"/api/v1/tasks/{entry['id']}/complete", {"data": bad, "revision": 0}, status=422)
    problems = refused["error"]["details"]["problems"]
    assert {"basic.report_year"} <= {p["data_path"] for p in problems} and len(problems) >= 2
    assert all(re.search(r"[\u4e00-\u9fff]", p["message"]) for p in problems)
    revision = refused["error"]["details"]["revision"]
    assert revision == 1

    done = clerk.post(f"/api/v1/tasks/{entry['id']}/complete", {"data": valid_report(), "revision": revision})
    assert done["submission"]["status"] == "submitted"
    assert [t["bpmn_id"] for t in done["next_tasks"]] == ["township_review"]

    fresh = ready_task(township)
    assert (fresh["returned_by"], fresh["submission_status_label"]) == (None, "已提交待审核")
    first = township.get(f"/api/v1/tasks/{fresh['id']}")
    assert first["diff"]["first_review"] and first["diff"]["base_revision"] is None
    assert first["submission"]["data"]["population"]["pop_total"] == valid_report()["population"]["pop_total"]
    returned = review(township, "return", RETURN_COMMENT, FIELD_COMMENT)
    assert returned["submission"]["status"] == "returned"

    # The clerk sees the field comment on the entry task and resubmits a change.
    again = clerk.get(f"/api/v1/tasks/{ready_task(clerk)['id']}")
    assert again["returns"][0]["comment"] == RETURN_COMMENT
    assert again["returns"][0]["field_comments"] == FIELD_COMMENT
    fixed = valid_report()
    fixed["basic"]["villager_group_count"] = 9
    assert submit(clerk, fixed)["submission"]["status"] == "submitted"

    resubmitted = ready_task(township)  # the inbox tells a report back after a return from a fresh one
    assert (resubmitted["returned_by"], resubmitted["submission_status_label"]) == ("township_reviewer", "退回后重新提交")
    second = township.get(f"/api/v1/tasks/{resubmitted['id']}")
    assert not second["diff"]["first_review"]
    assert second["diff"]["base_revision"] == first["diff"]["current_revision"]
    changed = only(second["diff"]["changes"], data_path="basic.villager_group_count")
    assert (changed["old"], changed["new"], changed["label"], changed["kind"]) == (8, 9, "村民小组数", "changed")
    assert review(township, "approve")["next_tasks"][0]["bpmn_id"] == "county_review"

    assert county.get(f"/api/v1/tasks/{ready_task(county)['id']}")["diff"]["first_review"]
    back = review(county, "return", "请乡镇复核")
    assert back["submission"]["status"] == "submitted"
    assert [t["bpmn_id"] for t in back["next_tasks"]] == ["township_review"]

    sent_down = ready_task(township)  # the county sent it back to the township, not to the village
    assert (sent_down["returned_by"], sent_down["submission_status_label"]) == ("county_reviewer", "县级审核员退回，待复核")
    third = township.get(f"/api/v1/tasks/{sent_down['id']}")
    assert third["diff"]["base_revision"] == third["diff"]["current_revision"] and third["diff"]["changes"] == []
    approved = review(township, "approve")["submission"]
    # approved by the township, the county still to decide: not told as if it were final
    assert (approved["status"], approved["status_label"]) == ("approved", "已审核（待终审）")
    final = review(county, "approve")
    assert (final["submission"]["status"], final["submission"]["status_label"]) == ("final", "终审通过")
    assert final["next_tasks"] == []

    sub_id = entry["submission_id"]
    history = county.get(f"/api/v1/submissions/{sub_id}/history")
    steps = [(s["task"], s["decision"]) for s in history["steps"] if s["state"] == "completed"]
    assert steps == [
        ("village_entry", None), ("township_review", "return"), ("village_entry", None),
        ("township_review", "approve"), ("county_review", "return"), ("township_review", "approve"),
        ("county_review", "approve"),
    ]
    returned_step = next(s for s in history["steps"] if s["decision"] == "return")
    assert returned_step["who"]["username"] == "rev_yunxi" and returned_step["comment"] == RETURN_COMMENT
    assert returned_step["field_comments"] == FIELD_COMMENT and returned_step["decision_label"] == "退回"
    assert [r["revision"] for r in history["revisions"]] == list(range(1, len(history["revisions"]) + 1))
    assert history["submission"]["status"] == "final"
    assert db.scalar(select(Submission.status).where(Submission.id == sub_id)) == "final"


def test_completing_a_completed_task_is_409_json(users, collection):
    clerk, township = users["clerk_xikou"], users["rev_yunxi"]
    submit(clerk, valid_report())
    task = ready_task(township)
    township.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve"})
    again = township.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve"}, status=409)
    assert again["error"]["code"] == "conflict" and "已处理" in again["error"]["message"]


def test_another_townships_reviewer_gets_404(users, collection):
    submit(users["clerk_xikou"], valid_report())
    task = ready_task(users["rev_yunxi"])
    other = users["rev_baishi"]
    assert other.get(f"/api/v1/tasks/{task['id']}", status=404)["error"]["code"] == "not_found"
    other.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve"}, status=404)
    other.get(f"/api/v1/submissions/{task['submission_id']}/history", status=404)
    assert other.get("/api/v1/tasks")["items"] == []
    # the county sees the township's task, read-only
    county = users["rev_county"]
    assert county.get(f"/api/v1/tasks/{task['id']}")["can_act"] is False
    assert county.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve"}, status=403)


def test_bad_review_input_is_400_json_and_changes_nothing(users, collection):
    submit(users["clerk_xikou"], valid_report())
    township = users["rev_yunxi"]
    task = ready_task(township)
    url = f"/api/v1/tasks/{task['id']}/complete"
    no_reason = township.post(url, {"decision": "return", "comment": "  "}, status=400)
    assert no_reason["error"]["details"]["data_path"] == "comment" and "意见" in no_reason["error"]["message"]
    assert township.post(url, {"decision": "maybe"}, status=400)["error"]["details"]["data_path"] == "decision"
    township.post(url, {"decision": "return", "comment": "x", "field_comments": ["not", "a", "map"]}, status=400)
    township.post(url, {"decision": "approve", "comment": 5}, status=400)
    township.post(url, ["not an object"], status=400)
    assert ready_task(township)["id"] == task["id"]  # still waiting


def test_review_comments_are_checked_against_the_report(users, collection):
    submit(users["clerk_xikou"], valid_report())
    township = users["rev_yunxi"]
    task = ready_task(township)
    url = f"/api/v1/tasks/{task['id']}/complete"
    unknown = township.post(url, {"decision": "return", "comment": "请核实", "field_comments": {"basic.nope": "?"}},
                            status=400)["error"]
    assert unknown["code"] == "bad_input" and unknown["details"]["data_path"] == "field_comments.basic.nope"
    assert unknown["message"] == "逐项意见所指的指标在本表中不存在：basic.nope"
    long = township.post(url, {"decision": "approve", "comment": "好" * 1001}, status=400)["error"]
    assert long["message"].startswith("审核意见最多 1000 字") and long["details"]["data_path"] == "comment"
    nul = township.post(url, {"decision": "return", "comment": "请核实",
                              "field_comments": {"basic.villager_group_count": "\u0000"}}, status=400)["error"]
    assert nul["message"] == "「对“村民小组数”的意见」含有空字符（\\u0000），不能保存"
    bulk = township.post("/api/v1/tasks/bulk-approve", {"task_ids": [task["id"]], "comment": "好" * 1001},
                         status=400)["error"]
    assert bulk["message"].startswith("批量通过意见最多 1000 字") and bulk["details"]["data_path"] == "comment"
    assert ready_task(township)["id"] == task["id"]  # still waiting


def test_a_refused_review_lists_every_problem_with_its_place(users, collection, db):
    """Several field comments on places the report does not have, one too long, and a return without a
    reason: the answer names each (details.problems, the shape of every multi-problem refusal, checked
    against the OpenAPI document), not only the first, and nothing is stored."""
    submit(users["clerk_xikou"], valid_report())
    township = users["rev_yunxi"]
    task = ready_task(township)
    url = f"/api/v1/tasks/{task['id']}/complete"
    error = township.post(url, {"decision": "return", "comment": " ", "field_comments": {
        "basic.nope": "?", "basic.villager_group_count": "核" * 1001, "land.nope": "??"}}, status=400)["error"]
    assert error["code"] == "bad_input" and error["message"].startswith("审核结论未提交，有 4 处需要修改")
    assert [(p["data_path"], p["message"]) for p in error["details"]["problems"]] == [
        ("comment", "退回时必须填写审核意见，说明需要修改的内容"),
        ("field_comments.basic.nope", "逐项意见所指的指标在本表中不存在：basic.nope"),
        ("field_comments.basic.villager_group_count", "对“村民小组数”的意见最多 1000 字，现有 1001 字，请精简后再提交"),
        ("field_comments.land.nope", "逐项意见所指的指标在本表中不存在：land.nope"),
    ]
    both = township.post(url, {"decision": "maybe", "comment": "好" * 1001}, status=400)["error"]["details"]
    assert [p["data_path"] for p in both["problems"]] == ["decision", "comment"] and "data_path" not in both
    one = township.post(url, {"decision": "return"}, status=400)["error"]["details"]
    assert one["data_path"] == "comment" and [p["data_path"] for p in one["problems"]] == ["comment"]
    assert ready_task(township)["id"] == task["id"]  # still waiting
    assert db.scalar(select(Submission.status).where(Submission.id == task["submission_id"])) == "submitted"
    # the document says so
    responses = township.doc["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]["responses"]
    assert "details.problems" in responses["400"]["description"]
    assert township.doc["components"]["schemas"]["Problem"]["required"][:3] == ["code", "message", "data_path"]


def test_inbox_filters_sort_and_pages(users, collection):
    clerk_names = {XIKOU: "clerk_xikou", SHANGJIE: "clerk_shangjie"}
    for org, name in clerk_names.items():
        submit(users[name], valid_report(), org)
    county = users["rev_county"]
    assert county.get("/api/v1/tasks")["total"] == 0
    township = users["rev_yunxi"]
    page = township.get("/api/v1/tasks?kind=review&sort=unit&per_page=1")
    assert (page["total"], page["pages"], len(page["items"])) == (2, 2, 1)
    assert page["items"][0]["unit"]["code"] == XIKOU
    second = township.get("/api/v1/tasks?kind=review&sort=unit&per_page=1&page=2")
    assert second["items"][0]["unit"]["code"] == SHANGJIE
    assert township.get(f"/api/v1/tasks?org={SHANGJIE}")["total"] == 1
    assert township.get(f"/api/v1/tasks?collection_id={collection.id}&overdue=false")["total"] == 2
    assert township.get("/api/v1/tasks?overdue=true")["total"] == 0
    assert township.get("/api/v1/tasks?kind=entry")["total"] == 0
    for bad in ("kind=other", "sort=name", "org=39", "page=0", "overdue=maybe", "collection_id=x"):
        err = township.get(f"/api/v1/tasks?{bad}", status=400)["error"]
        assert err["code"] == "bad_input" and err["details"]["data_path"] == bad.split("=")[0]


def test_bulk_approve_api_reports_each(users, collection):
    for org, name in {XIKOU: "clerk_xikou", SHANGJIE: "clerk_shangjie"}.items():
        submit(users[name], valid_report(), org)
    township = users["rev_yunxi"]
    ids = [t["id"] for t in township.get("/api/v1/tasks")["items"]]
    out = township.post("/api/v1/tasks/bulk-approve", {"task_ids": [*ids, 999999], "comment": "同意"})
    assert (out["approved"], out["failed"]) == (2, 1)
    assert [r["ok"] for r in out["results"]] == [True, True, False]
    assert "不存在" in out["results"][2]["message"]
    assert township.get("/api/v1/tasks")["total"] == 0
    assert users["rev_county"].get("/api/v1/tasks")["total"] == 2
    township.post("/api/v1/tasks/bulk-approve", {"task_ids": []}, status=400)
    township.post("/api/v1/tasks/bulk-approve", {"task_ids": ["1"]}, status=400)


def test_sensitive_fields_are_masked_for_roles_that_may_not_read_them(users, collection, db):
    from engine.review import MASK

    submit(users["clerk_xikou"], valid_report())
    task = ready_task(users["rev_yunxi"])
    seen = users["rev_yunxi"].get(f"/api/v1/tasks/{task['id']}")["submission"]["data"]
    assert seen["filler"]["filler_phone"] == valid_report()["filler"]["filler_phone"]
    masked = users["admin"].get(f"/api/v1/tasks/{task['id']}")["submission"]["data"]
    assert masked["filler"]["filler_phone"] == MASK
    assert masked["population"] == seen["population"]


def test_api_needs_a_login_and_every_route_is_documented(client, collection):
    resp = client.get("/api/v1/tasks")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthenticated"
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/tasks", "/api/v1/tasks/{task_id}", "/api/v1/tasks/{task_id}/complete",
            "/api/v1/tasks/bulk-approve", "/api/v1/submissions/{submission_id}/history"} <= set(paths)
    assert "409" in paths["/api/v1/tasks/{task_id}/complete"]["post"]["responses"]


def test_cookie_session_post_without_csrf_header_is_refused(users, collection):
    township = users["rev_yunxi"]
    resp = township.client.post("/api/v1/tasks/bulk-approve", json={"task_ids": [1]})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "csrf_failed"


def test_a_comment_on_a_personal_field_is_hidden_like_the_value(users, collection, db, client):
    """A reviewer writes "电话 13900001234 少一位" on filler_phone: readers who may not see the phone may
    not read that comment either (history, task detail, the report page); the others see it."""
    from engine.masking import MASKED_COMMENT

    submit(users["clerk_xikou"], valid_report())
    phone = valid_report()["filler"]["filler_phone"]
    review(users["rev_yunxi"], "return", "请核实", {"filler.filler_phone": f"电话 {phone} 少一位",
                                                   "population.pop_total": "请核对总人口"})
    sub_id = ready_task(users["clerk_xikou"])["submission_id"]
    history = users["admin"].get(f"/api/v1/submissions/{sub_id}/history")
    [step] = [s for s in history["steps"] if s["decision"] == "return"]
    assert step["field_comments"] == {"filler.filler_phone": MASKED_COMMENT,
                                      "population.pop_total": "请核对总人口"}
    own = users["rev_yunxi"].get(f"/api/v1/submissions/{sub_id}/history")
    [step] = [s for s in own["steps"] if s["decision"] == "return"]
    assert phone in step["field_comments"]["filler.filler_phone"]
    # the report page of a reader without the right
    login(client, "admin")
    for url in (f"/submissions/{sub_id}", f"/submissions/{sub_id}/history"):
        page = client.get(url).get_data(as_text=True)
        assert phone not in page and MASKED_COMMENT in page and "请核对总人口" in page, url
