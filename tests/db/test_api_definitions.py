"""/api/v1/definitions/...: drafts, structured and raw updates, check, diff, publish, retire, processes."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from tests.conftest import ROOT, login

V2_BPMN = (ROOT / "definitions/processes/village_report/v2.bpmn").read_text(encoding="utf-8")


def _admin(client):
    login(client, "admin")
    home = client.get("/").get_data(as_text=True)
    return {"X-CSRFToken": re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)}


def _ids(client, kind: str) -> dict[tuple[str, int], int]:
    return {(i["code"], i["version"]): i["id"] for i in client.get(f"/api/v1/definitions/{kind}").get_json()["items"]}


def test_operations_are_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    paths = doc["paths"]
    for path, method in [("/api/v1/definitions/indicator-sets", "post"),
                         ("/api/v1/definitions/indicator-sets/{version_id}", "put"),
                         ("/api/v1/definitions/indicator-sets/{version_id}/check", "post"),
                         ("/api/v1/definitions/indicator-sets/diff", "get"),
                         ("/api/v1/definitions/indicator-sets/{version_id}/publish", "post"),
                         ("/api/v1/definitions/indicator-sets/{version_id}/retire", "post"),
                         ("/api/v1/definitions/processes", "post"),
                         ("/api/v1/definitions/processes/{version_id}/diagram.svg", "get")]:
        assert method in paths[path], (path, method)
    ops = paths["/api/v1/definitions/indicator-sets/{version_id}"]["put"]
    assert "add_field" in str(ops["requestBody"])


def test_only_province_admins(client, published):
    assert client.get("/api/v1/definitions/indicator-sets").status_code == 401
    login(client, "rev_county")
    resp = client.get("/api/v1/definitions/indicator-sets")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"


def test_draft_update_check_publish_and_retire(client, published):
    headers = _admin(client)
    created = client.post("/api/v1/definitions/indicator-sets", json={"code": "village_basic"}, headers=headers)
    assert created.status_code == 201
    draft = created.get_json()
    assert (draft["version"], draft["status"], draft["ok"]) == (4, "draft", True)
    assert "x-mappings" not in draft["content"] and draft["content"]["x-version"] == 4
    again = client.post("/api/v1/definitions/indicator-sets", json={"code": "village_basic"}, headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["details"]["draft_id"] == draft["id"]

    url = f"/api/v1/definitions/indicator-sets/{draft['id']}"
    resp = client.put(url, json={"operations": [
        {"op": "add_field", "parent": "population", "name": "pop_disabled", "title": "残疾人数", "type": "integer",
         "unit": "人", "minimum": 0, "sensitive": "health"},
        {"op": "add_rule", "id": "disabled_le_pop", "expr": "pop_disabled <= pop_total_typo",
         "message": "残疾人数不能大于户籍总人口", "severity": "hard", "fields": ["population.pop_disabled"]},
    ]}, headers=headers)
    body = resp.get_json()
    assert resp.status_code == 200 and not body["ok"]  # saved, with its problem at the rule's pointer
    assert [(p["code"], p["pointer"]) for p in body["problems"]] == [("expression", f"/x-rules/{len(body['content']['x-rules']) - 1}/expr")]
    assert body["content"]["properties"]["population"]["properties"]["pop_disabled"]["x-sensitive"] == "health"

    failed = client.post(f"{url}/publish", json={"change_note": "新增残疾人数"}, headers=headers)
    assert failed.status_code == 422
    assert failed.get_json()["error"]["details"]["problems"][0]["definition"].endswith("/expr")

    content = body["content"]
    content["x-rules"][-1]["expr"] = "pop_disabled <= pop_total"
    stale = client.put(url, json={"content": content, "expected_hash": draft["content_hash"]}, headers=headers)
    assert stale.status_code == 409
    fixed = client.put(url, json={"content": content, "expected_hash": body["content_hash"]}, headers=headers)
    assert fixed.get_json()["ok"]
    assert client.post(f"{url}/check", headers=headers).get_json() == {"ok": True, "problems": []}

    ids = _ids(client, "indicator-sets")
    diff = client.get(f"/api/v1/definitions/indicator-sets/diff?from={ids[('village_basic', 3)]}&to={draft['id']}")
    fields = {f["key"]: f["status"] for f in diff.get_json()["fields"]}
    assert fields == {"population.pop_disabled": "added"}

    assert client.post(f"{url}/publish", json={}, headers=headers).status_code == 400
    published = client.post(f"{url}/publish", json={"change_note": "新增残疾人数"}, headers=headers)
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    assert published.get_json()["change_note"] == "新增残疾人数"
    assert client.put(url, json={"content": content}, headers=headers).status_code == 409
    assert client.delete(url, headers=headers).status_code == 409

    retired = client.post(f"{url}/retire", json={"change_note": "误发布"}, headers=headers)
    assert retired.get_json()["status"] == "retired"
    assert client.post(f"{url}/retire", json={"change_note": "再停一次"}, headers=headers).status_code == 409
    export = client.get(f"{url}/export")
    assert export.headers["X-Definition-Path"] == "definitions/indicators/village_basic/v4.json"


def test_session_calls_need_the_csrf_header(client, published):
    _admin(client)
    resp = client.post("/api/v1/definitions/indicator-sets", json={"code": "village_basic"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "csrf_failed"


def test_bad_requests_are_chinese_json(client, published):
    headers = _admin(client)
    resp = client.post("/api/v1/definitions/indicator-sets", json={"code": "Bad Code"}, headers=headers)
    assert resp.status_code == 400 and "编码" in resp.get_json()["error"]["message"]
    draft = client.post("/api/v1/definitions/indicator-sets", json={"code": "village_basic"}, headers=headers).get_json()
    resp = client.put(f"/api/v1/definitions/indicator-sets/{draft['id']}", json={"operations": [{"op": "explode"}]},
                      headers=headers)
    assert resp.status_code == 400 and "未知的编辑操作" in resp.get_json()["error"]["message"]
    resp = client.put(f"/api/v1/definitions/indicator-sets/{draft['id']}",
                      json={"operations": [{"op": "update_field", "key": "population.nope", "title": "x"}]},
                      headers=headers)
    assert resp.status_code == 400 and "找不到字段「population.nope」" in resp.get_json()["error"]["message"]
    assert client.get("/api/v1/definitions/indicator-sets/99999").status_code == 404


def test_process_upload_check_diff_svg_publish(client, published):
    headers = _admin(client)
    broken = V2_BPMN.replace("<bpmn:userTask id=\"department_check\"", "<bpmn:scriptTask id=\"department_check\"") \
        .replace("</bpmn:userTask>\n    <bpmn:exclusiveGateway id=\"department_decision\"",
                 "</bpmn:scriptTask>\n    <bpmn:exclusiveGateway id=\"department_decision\"")
    resp = client.post("/api/v1/definitions/processes", json={"bpmn": broken}, headers=headers)
    body = resp.get_json()
    assert resp.status_code == 201 and body["version"] == 3 and not body["ok"]
    assert "department_check" in {p["element_id"] for p in body["problems"]}
    url = f"/api/v1/definitions/processes/{body['id']}"
    assert client.post(f"{url}/publish", json={"change_note": "x"}, headers=headers).status_code == 422
    fixed = client.put(url, json={"bpmn": V2_BPMN.replace("县级业务部门核查", "业务部门复核")}, headers=headers).get_json()
    assert fixed["ok"] and fixed["id"] == body["id"]
    ids = _ids(client, "processes")
    diff = client.get(f"/api/v1/definitions/processes/diff?from={ids[('village_report', 2)]}&to={body['id']}").get_json()
    assert diff["steps"] == [{"key": "department_check", "title": "业务部门复核", "status": "changed",
                              "changes": [{"aspect": "name", "label": "名称", "old": "县级业务部门核查",
                                           "new": "业务部门复核"}]}]
    svg = client.get(f"{url}/diagram.svg?highlight=county_review")
    assert svg.mimetype == "image/svg+xml" and "业务部门复核" in svg.get_data(as_text=True)
    assert client.post(f"{url}/publish", json={"change_note": "改名"}, headers=headers).get_json()["status"] == "published"
    assert client.get(f"{url}/export").get_data(as_text=True) == V2_BPMN.replace("县级业务部门核查", "业务部门复核")


def test_a_broken_bpmn_upload_says_the_file_is_broken(client, published):
    headers = _admin(client)
    truncated = V2_BPMN[: V2_BPMN.index("<bpmn:sequenceFlow") + 30]
    # no code given: the file that would name the process cannot be read, and that is what is said
    resp = client.post("/api/v1/definitions/processes", json={"bpmn": truncated}, headers=headers)
    assert resp.status_code == 400
    message = resp.get_json()["error"]["message"]
    assert message.startswith("文件不是有效的 BPMN 文件（XML 无法解析：第 ") and "文件可能不完整" in message
    # with the code, the draft is kept and the check says where the file breaks, in Chinese
    body = client.post("/api/v1/definitions/processes", json={"bpmn": truncated, "code": "village_report"},
                       headers=headers).get_json()
    assert not body["ok"]
    assert [p["message"].split("附近")[1] for p in body["problems"]] == [
        "文件在此意外结束（文件可能不完整，例如只复制或下载了一部分）"]
    svg = client.get(f"/api/v1/definitions/processes/{body['id']}/diagram.svg")
    assert svg.status_code == 400 and "Premature" not in svg.get_data(as_text=True)


def test_a_definition_is_served_in_its_field_order(client, published):
    """Key order is field order: a client that reads a definition, edits it and sends it back whole
    must not get its fields re-sorted (a JSON encoder sorting keys would)."""
    import json

    _admin(client)
    source = json.loads((ROOT / "definitions/indicators/village_basic/v1.json").read_text(encoding="utf-8"))
    resp = client.get(f"/api/v1/definitions/indicator-sets/{_ids(client, 'indicator-sets')[('village_basic', 1)]}")
    assert resp.status_code == 200
    content = json.loads(resp.get_data(as_text=True))["content"]  # the order as sent, not re-parsed by Flask
    assert list(content["properties"]) == list(source["properties"])
    assert list(content["properties"]["population"]["properties"]) == list(
        source["properties"]["population"]["properties"])
    assert list(content["properties"]) != sorted(source["properties"])  # the check would see a sort


def test_a_new_version_must_keep_the_process_id(client, published):
    """QA pid_changed: process id village_report_new was published as village_report v6. Every version
    of a flow keeps its process id (docs/processes.md §1): the draft's check says so, publishing refuses."""
    headers = _admin(client)
    renamed = V2_BPMN.replace('processRef="village_report"', 'processRef="village_report_new"') \
        .replace('<bpmn:process id="village_report"', '<bpmn:process id="village_report_new"')
    body = client.post("/api/v1/definitions/processes", json={"bpmn": renamed, "code": "village_report"},
                       headers=headers).get_json()
    assert body["version"] == 3 and not body["ok"]
    [problem] = body["problems"]
    assert (problem["code"], problem["element_id"]) == ("process_id_changed", "village_report_new")
    assert "「village_report」" in problem["message"] and "改回" in problem["message"]
    url = f"/api/v1/definitions/processes/{body['id']}"
    assert client.post(f"{url}/publish", json={"change_note": "改名"}, headers=headers).status_code == 422


def test_publishing_a_file_checks_the_process_id_against_the_previous_version(published, db):
    """The same rule where a file is published directly (grassroots definitions publish, make demo)."""
    from engine.errors import DefinitionError
    from engine.publishing import publish_process

    renamed = V2_BPMN.replace('processRef="village_report"', 'processRef="village_report_new"') \
        .replace('<bpmn:process id="village_report"', '<bpmn:process id="village_report_new"')
    with pytest.raises(DefinitionError) as refused:
        publish_process(db, renamed.encode(), code="village_report", version=6)
    assert [p.code for p in refused.value.problems] == ["process_id_changed"]
    db.rollback()
