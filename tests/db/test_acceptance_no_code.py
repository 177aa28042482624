"""Acceptance: the provincial management centre changes an indicator set and an approval flow itself —
no code, no deploy — and the change reaches forms, validation, approval, roll-ups and exports.

Everything after the fixtures (sample province and users) goes through HTTP only: the real login
form, then the JSON API with the session cookie and its CSRF header, and the clerk's form page. Even
the starting definitions are published through the API, from the files a modeller would upload.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from tests.conftest import ROOT, login

INDICATORS = ROOT / "definitions/indicators/village_basic"
PROCESSES = ROOT / "definitions/processes/village_report"
V3_EXAMPLE = INDICATORS / "examples/v3/valid-lingxia-2025.json"
XIKOU = "390121101201"  # 溪口村, clerk_xikou's village
TOWNSHIP = "390121101000"

NEW_FIELD = "households.fiber_households"
NEW_RULE = "fiber_le_broadband"


class User:
    """One logged-in browser session talking to the API (CSRF header as the pages' scripts send it)."""

    def __init__(self, app: Any, username: str) -> None:
        self.client = app.test_client()
        assert login(self.client, username).status_code == 302
        home = self.client.get("/").get_data(as_text=True)
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)

    def call(self, method: str, url: str, body: Any = None, expect: int = 200) -> Any:
        # Encoded here, not by the test client: Flask's encoder sorts keys, and key order is a definition's
        # field order (a sorted copy of a shipped file has the same content hash, and its model, cached
        # per process by hash, would then show the fields sorted to later tests).
        # Closing the response ends a streamed download (and its database session).
        sent = {} if body is None else {"data": json.dumps(body, ensure_ascii=False), "content_type": "application/json"}
        with self.client.open(url, method=method, headers={"X-CSRFToken": self.csrf}, buffered=True,
                              **sent) as resp:
            assert resp.status_code == expect, (url, resp.status_code, resp.get_data(as_text=True)[:2000])
            return resp.get_json() if resp.is_json else resp.get_data(as_text=True)

    def get(self, url: str, expect: int = 200) -> Any:
        return self.call("GET", url, expect=expect)

    def post(self, url: str, body: Any = None, expect: int = 200) -> Any:
        return self.call("POST", url, body if body is not None else {}, expect)


def _publish_indicator_file(admin: User, version: int) -> int:
    draft = admin.post("/api/v1/definitions/indicator-sets", {"code": "village_basic", "start": "scratch"}, 201)
    assert draft["version"] == version
    doc = json.loads((INDICATORS / f"v{version}.json").read_text(encoding="utf-8"))
    updated = admin.call("PUT", f"/api/v1/definitions/indicator-sets/{draft['id']}", {"content": doc})
    assert updated["ok"], updated["problems"]
    admin.post(f"/api/v1/definitions/indicator-sets/{draft['id']}/publish", {"change_note": f"导入 v{version}.json"})
    return draft["id"]


def _publish_process_file(admin: User, version: int) -> dict[str, Any]:
    bpmn = (PROCESSES / f"v{version}.bpmn").read_text(encoding="utf-8")
    draft = admin.post("/api/v1/definitions/processes", {"bpmn": bpmn}, 201)
    assert draft["version"] == version and draft["ok"], draft["problems"]
    admin.post(f"/api/v1/definitions/processes/{draft['id']}/publish", {"change_note": f"导入 v{version}.bpmn"})
    return draft


def _baseline(app: Any) -> User:
    """What `make demo` starts from, published through the workbench API."""
    admin = User(app, "admin")
    for version in (1, 2, 3):
        _publish_indicator_file(admin, version)
    _publish_process_file(admin, 1)
    return admin


def _launch(admin: User, title: str, set_version: int, process_version: int, period: str) -> int:
    body = admin.post("/api/v1/collections", {
        "title": title, "indicator_set": "village_basic", "indicator_set_version": set_version,
        "process": "village_report", "process_version": process_version, "period": period,
        "scope_org_code": TOWNSHIP, "opens_on": "2026-01-01", "deadline": "2026-03-31",
    }, 201)
    assert body["created"] and body["submissions"] >= 2
    return body["collection"]["id"]


def _ready_task(user: User, collection_id: int, kind: str) -> dict[str, Any]:
    items = user.get(f"/api/v1/tasks?collection_id={collection_id}&kind={kind}&per_page=200")["items"]
    return next(t for t in items if t["unit"]["code"] == XIKOU)


def _report(fiber: int | None) -> dict[str, Any]:
    data = json.loads(V3_EXAMPLE.read_text(encoding="utf-8"))
    data["basic"].update(division_code=XIKOU, village_name="溪口村")
    if fiber is not None:
        data["households"]["fiber_households"] = fiber
    return data


def _approve_all(app: Any, collection_id: int, reviewers: list[tuple[str, str]]) -> dict[str, Any]:
    step: dict[str, Any] = {}
    for username, bpmn_id in reviewers:
        reviewer = User(app, username)
        task = _ready_task(reviewer, collection_id, "review")
        assert task["bpmn_id"] == bpmn_id
        step = reviewer.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve", "comment": "同意"})
    return step


def test_a_new_indicator_with_a_rule_and_relevance_goes_from_editor_to_export(app, role_users):
    admin = _baseline(app)

    # (1) a new version of the annual village report with a new indicator, its rule and a relevance condition
    draft = admin.post("/api/v1/definitions/indicator-sets", {"code": "village_basic", "start": "latest"}, 201)
    assert draft["version"] == 4 and draft["status"] == "draft" and draft["ok"]
    edited = admin.call("PUT", f"/api/v1/definitions/indicator-sets/{draft['id']}", {
        "expected_hash": draft["content_hash"],
        "operations": [
            {"op": "add_field", "parent": "households", "name": "fiber_households", "title": "光纤入户户数",
             "type": "integer", "unit": "户", "minimum": 0, "relevant": "broadband_households > 0",
             "description": "通宽带户数中以光纤接入的户数"},
            {"op": "add_rule", "id": NEW_RULE, "expr": "fiber_households <= broadband_households",
             "message": "光纤入户户数不能大于通宽带户数", "severity": "hard", "fields": [NEW_FIELD]},
        ],
    })
    assert edited["ok"], edited["problems"]
    diff = admin.get(f"/api/v1/definitions/indicator-sets/diff?from={_version_id(admin, 3)}&to={draft['id']}")
    assert {"key": NEW_FIELD, "title": "光纤入户户数", "status": "added", "changes": []} in diff["fields"]
    assert [r["key"] for r in diff["rules"] if r["status"] == "added"] == [NEW_RULE]
    assert diff["proposals"] == []
    assert admin.post(f"/api/v1/definitions/indicator-sets/{draft['id']}/check") == {"ok": True, "problems": []}

    # (2) publish it (a change note is required; afterwards it cannot change)
    admin.post(f"/api/v1/definitions/indicator-sets/{draft['id']}/publish", {"change_note": ""}, 400)
    published = admin.post(f"/api/v1/definitions/indicator-sets/{draft['id']}/publish",
                           {"change_note": "新增光纤入户户数"})
    assert published["status"] == "published"
    admin.call("PUT", f"/api/v1/definitions/indicator-sets/{draft['id']}", {"content": edited["content"]}, expect=409)

    # (3) launch a collection on it
    collection_id = _launch(admin, "2025年村级基本情况年报（第4版）", 4, 1, "2025")

    # (4) the village clerk fills it in: the new field is on the form, and its rule fires on bad input
    clerk = User(app, "clerk_xikou")
    entry = _ready_task(clerk, collection_id, "entry")
    detail = clerk.get(f"/api/v1/tasks/{entry['id']}")
    submission_id = detail["submission"]["id"]
    first = clerk.get(f"/submissions/{submission_id}/page/1")
    households_page = re.search(r'value="(\d+)" class="gr-step">\1\. 户数', first).group(1)
    form = clerk.get(f"/submissions/{submission_id}/page/{households_page}")
    assert "通宽带户数" in form and "光纤入户户数" not in form  # relevant only once 通宽带户数 > 0
    saved = clerk.call("PUT", f"/api/v1/submissions/{submission_id}",
                       {"data": _report(fiber=None), "revision": detail["submission"]["revision"]})
    # v3's filled identity came along into the new version: the unit's name, not the typed 溪口村
    assert saved["data"]["basic"]["village_name"] == "溪口村委会" and saved["data"]["basic"]["report_year"] == 2025
    form = clerk.get(f"/submissions/{submission_id}/page/{households_page}")
    assert "光纤入户户数" in form and 'name="households-fiber_households"' in form
    failed = clerk.post(f"/api/v1/tasks/{entry['id']}/complete",
                        {"data": _report(fiber=400), "revision": saved["revision"]}, 422)
    problems = failed["error"]["details"]["problems"]
    assert [(p["data_path"], p["rule_id"], p["message"]) for p in problems] == [
        (NEW_FIELD, NEW_RULE, "光纤入户户数不能大于通宽带户数")]
    step = clerk.post(f"/api/v1/tasks/{entry['id']}/complete",
                      {"data": _report(fiber=350), "revision": failed["error"]["details"]["revision"]})
    assert [t["bpmn_id"] for t in step["next_tasks"]] == ["township_review"]

    # (5) the township and the county approve
    final = _approve_all(app, collection_id, [("rev_yunxi", "township_review"), ("rev_county", "county_review")])
    assert final["submission"]["status"] == "final"

    # (6) the new indicator in the roll-ups and the export
    rollup = admin.get(f"/api/v1/collections/{collection_id}/rollups?stage=final&org_unit={TOWNSHIP}")
    figure = next(f for f in rollup["figures"] if f["key"] == NEW_FIELD)
    assert figure["label"] == "光纤入户户数" and figure["unit"] == "户"
    assert rollup["unit"]["values"][NEW_FIELD] == 350
    exported = admin.get(f"/api/v1/collections/{collection_id}/export?format=csv")
    rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    header = next(r for r in rows if any("光纤入户户数" in cell for cell in r))
    column = next(i for i, cell in enumerate(header) if "光纤入户户数" in cell)
    assert [r[column] for r in rows[rows.index(header) + 1:] if XIKOU in r] == ["350"]


def test_a_process_change_inserting_a_review_step_is_used_by_a_new_collection(app, role_users):
    admin = _baseline(app)

    # the modeller's new file: a county line-department check after the township review
    uploaded = _upload(admin, (PROCESSES / "v2.bpmn").read_text(encoding="utf-8"))
    assert uploaded["version"] == 2 and uploaded["ok"]
    v1_id = next(p["id"] for p in admin.get("/api/v1/definitions/processes")["items"] if p["version"] == 1)
    diff = admin.get(f"/api/v1/definitions/processes/diff?from={v1_id}&to={uploaded['id']}")
    assert {(s["key"], s["status"]) for s in diff["steps"]} == {("department_check", "added"),
                                                                  ("department_decision", "added")}
    svg = admin.get(f"/api/v1/definitions/processes/{uploaded['id']}/diagram.svg?highlight=department_check")
    assert 'class="shape bpmn-userTask highlight" data-element-id="department_check"' in svg
    admin.post(f"/api/v1/definitions/processes/{uploaded['id']}/publish", {"change_note": "增加县级业务部门核查"})

    collection_id = _launch(admin, "2025年村级基本情况年报（含部门核查）", 2, 2, "2025")
    clerk = User(app, "clerk_xikou")
    entry = _ready_task(clerk, collection_id, "entry")
    detail = clerk.get(f"/api/v1/tasks/{entry['id']}")
    clerk.post(f"/api/v1/tasks/{entry['id']}/complete",
               {"data": _report(fiber=None), "revision": detail["submission"]["revision"]})
    final = _approve_all(app, collection_id, [("rev_yunxi", "township_review"), ("dept_county", "department_check"),
                                              ("rev_county", "county_review")])
    assert final["submission"]["status"] == "final"
    history = admin.get(f"/api/v1/submissions/{final['submission']['id']}/history")
    assert [s["task"] for s in history["steps"]] == ["village_entry", "township_review", "department_check",
                                                     "county_review"]
    audit = admin.get("/audit?type=process")
    assert "增加县级业务部门核查" in audit


def _upload(admin: User, bpmn: str) -> dict[str, Any]:
    broken = admin.post("/api/v1/definitions/processes", {"bpmn": bpmn.replace('name="县级业务部门"', 'name="部门"')}, 201)
    assert not broken["ok"] and {p["element_id"] for p in broken["problems"]} == {"lane_department"}
    return admin.call("PUT", f"/api/v1/definitions/processes/{broken['id']}", {"bpmn": bpmn})


def _version_id(admin: User, version: int) -> int:
    items = admin.get("/api/v1/definitions/indicator-sets")["items"]
    return next(i["id"] for i in items if i["code"] == "village_basic" and i["version"] == version)
