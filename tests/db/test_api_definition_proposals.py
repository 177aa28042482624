"""The API of QA's yearly change (tests/yearly_change.py), every answer held to the schema the OpenAPI
document declares for it: the draft lists its open proposals, publishing is 422 naming each, and each is
accepted or dismissed through POST …/proposals until the version publishes."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator

from engine.publishing import publish_indicator_set
from tests.conftest import login
from tests.yearly_change import CODE, PROPOSED, version_1, version_2

BASE = "/api/v1/definitions/indicator-sets"


@pytest.fixture
def doc(client):
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture
def headers(client, published, db):
    publish_indicator_set(db, version_1(), code=CODE, version=1, change_note="演练 v1")
    db.commit()
    login(client, "admin")
    home = client.get("/").get_data(as_text=True)
    return {"X-CSRFToken": re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)}


def check(doc, resp, template: str, method: str, status: int) -> dict:
    """The status, and the body against the response schema the document declares for it."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    responses = doc["paths"][template][method]["responses"]
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    body = resp.get_json()
    Draft202012Validator({**schema, "components": doc["components"]}).validate(body)
    return body


def test_open_proposals_are_listed_refuse_publishing_and_are_settled_one_by_one(client, doc, headers):
    one = BASE + "/{version_id}"
    created = check(doc, client.post(BASE, json={"code": CODE}, headers=headers), BASE, "post", 201)
    url = f"{BASE}/{created['id']}"
    draft = check(doc, client.put(url, json={"content": version_2()}, headers=headers), one, "put", 200)
    assert not draft["ok"]
    assert {p["id"]: p["mapping"] for p in draft["proposals"]} == PROPOSED
    assert {(p["pointer"], p["code"]) for p in draft["problems"]} >= {
        ("/properties/land/properties/land_other/title", "correspondence"), ("/x-mappings", "correspondence")}

    refused = check(doc, client.post(f"{url}/publish", json={"change_note": "老年人口单列"}, headers=headers),
                    one + "/publish", "post", 422)["error"]
    assert "与上一版本的对应关系有 7 项待确认" in refused["message"]
    listed = {p["id"]: p for p in refused["details"]["proposals"]}
    assert set(listed) == set(PROPOSED)
    assert listed["land.land_grass"]["reason"] == "「草地」（land.land_grass）在本版本中没有了"
    assert listed["land.land_other"]["dismiss"][0]["kind"] == "same"

    settle = one + "/proposals"
    bad = client.post(f"{url}/proposals", json={"proposal": "land.land_grass", "decision": "ignore"}, headers=headers)
    assert "请选择采用建议" in check(doc, bad, settle, "post", 400)["error"]["message"]
    stale = client.post(f"{url}/proposals", json={"proposal": "land.land_grass", "decision": "dismiss",
                                                  "expected_hash": "0" * 64}, headers=headers)
    check(doc, stale, settle, "post", 409)
    current = draft["content_hash"]
    for key in PROPOSED:
        decision = "dismiss" if key in ("party_welfare.party_members", "land.land_grass") else "accept"
        resp = client.post(f"{url}/proposals", json={"proposal": key, "decision": decision,
                                                     "expected_hash": current}, headers=headers)
        body = check(doc, resp, settle, "post", 200)
        assert key not in {p["id"] for p in body["proposals"]}
        current = body["content_hash"]
    assert body["ok"] and body["proposals"] == []
    again = client.post(f"{url}/proposals", json={"proposal": "land.land_grass", "decision": "dismiss"},
                        headers=headers)
    assert "没有待确认的对应关系" in check(doc, again, settle, "post", 409)["error"]["message"]

    published = client.post(f"{url}/publish", json={"change_note": "老年人口单列"}, headers=headers)
    assert check(doc, published, one + "/publish", "post", 200)["status"] == "published"
    kept = check(doc, client.get(url), one, "get", 200)
    assert {"kind": "added", "to": "party_welfare.cpc_members"} in kept["content"]["x-mappings"]["fields"]
    assert kept["proposals"] == []


def test_the_diff_describes_its_proposals_by_the_same_schema(client, doc, headers):
    created = client.post(BASE, json={"code": CODE}, headers=headers).get_json()
    client.put(f"{BASE}/{created['id']}", json={"content": version_2()}, headers=headers)
    v1 = next(i["id"] for i in client.get(BASE).get_json()["items"] if (i["code"], i["version"]) == (CODE, 1))
    diff = check(doc, client.get(f"{BASE}/diff?from={v1}&to={created['id']}"), BASE + "/diff", "get", 200)
    assert {p["id"]: p["change"] for p in diff["proposals"]} == {
        **{key: "moved" for key in PROPOSED if key.startswith("population.")},
        "party_welfare.party_members": "moved", "land.land_grass": "removed", "land.land_other": "retitled"}
