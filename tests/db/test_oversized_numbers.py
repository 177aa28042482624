"""Numbers too large for the database, in paths, query parameters and bodies, are the user's mistake:
404 (no such row) or 400 with a Chinese message, never a 500 from an overflow in PostgreSQL."""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

from engine.db.models import MAX_ID
from tests.conftest import login
from tests.db.test_api_tasks import Api

HUGE = "99999999999999999999"  # past bigint
JUST_PAST = str(MAX_ID + 1)
PAST_INTEGER = "3000000000"  # past integer (collections, versions), within bigint


def _int_routes(app) -> list[str]:
    """Every GET route with a number in its path, the number (each of the three) and any other part
    (a unit code, a name) filled in."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and any(isinstance(c, IntegerConverter) for c in rule._converters.values()):
            for number in (HUGE, JUST_PAST, PAST_INTEGER):
                url = re.sub(r"<int(\([^)]*\))?:\w+>", number, rule.rule)
                urls.append(re.sub(r"<[^>]+>", "390121101201", url))
    return urls


def test_the_path_converter_reads_numbers_past_a_bigint_as_an_id_no_row_has(app):
    adapter = app.url_map.bind("localhost")
    assert adapter.match(f"/api/v1/submissions/{MAX_ID}")[1] == {"submission_id": MAX_ID}
    assert adapter.match(f"/api/v1/submissions/{JUST_PAST}")[1] == {"submission_id": 0}
    assert adapter.match(f"/api/v1/submissions/{HUGE}", method="PUT")[1] == {"submission_id": 0}


@pytest.mark.parametrize("method, path, body", [
    ("PUT", f"/api/v1/submissions/{HUGE}", {"data": {}, "revision": 1}),
    ("PUT", f"/api/v1/definitions/processes/{JUST_PAST}", {"bpmn": "<definitions/>"}),
    ("DELETE", f"/api/v1/definitions/indicator-sets/{HUGE}", None),
    ("DELETE", f"/api/v1/definitions/processes/{HUGE}", None)])
def test_a_write_to_a_huge_id_is_not_found_not_a_wrong_method(app, collection, method, path, body):
    body = Api(app, "admin").call(method, path, body, 404)
    assert body["error"]["code"] == "not_found"  # the view's own answer, as for any unknown id
    assert "不存在" in body["error"]["message"]


def test_no_page_or_api_route_answers_a_huge_id_with_a_500(app, collection):
    client = app.test_client()
    assert login(client, "admin").status_code == 302  # sees every unit: nothing is hidden by scope first
    urls = _int_routes(app)
    assert len(urls) > 30  # pages and API routes with ids
    failures = {}
    for url in urls:
        resp = client.get(url)
        if resp.status_code >= 500 or resp.status_code not in (302, 400, 403, 404):
            failures[url] = resp.status_code
    assert not failures


@pytest.mark.parametrize("path, message", [(f"/submissions/{HUGE}", "填报记录不存在或无权查看"),
                                           (f"/tasks/{JUST_PAST}", "任务不存在或无权查看"),
                                           (f"/collections/{HUGE}", "采集任务不存在或无权查看")])
def test_pages_say_not_found_in_chinese(app, collection, path, message):
    client = app.test_client()
    assert login(client, "clerk_xikou").status_code == 302
    resp = client.get(path)
    assert resp.status_code == 404
    assert message in resp.get_data(as_text=True)


def test_api_ids_pages_and_filters_past_the_columns(app, collection):
    api = Api(app, "rev_yunxi")
    for path in (f"/api/v1/submissions/{HUGE}", f"/api/v1/tasks/{HUGE}",
                 f"/api/v1/collections/{HUGE}/completeness"):
        assert api.get(path, status=404)["error"]["code"] == "not_found"
    # past the integer key of collections but within bigint: the overflow's own answer (web/errors.py)
    past = api.get(f"/api/v1/collections/{PAST_INTEGER}/completeness", status=400)["error"]
    assert (past["code"], past["message"]) == ("value_out_of_range", "数值超出允许范围，请检查输入的编号或数字")
    for name in ("page", "collection_id"):
        for value in (HUGE, PAST_INTEGER):
            body = api.get(f"/api/v1/tasks?{name}={value}", status=400)
            assert body["error"]["details"]["data_path"] == name
            assert "之间的整数" in body["error"]["message"]
    assert api.get("/api/v1/tasks?page=2147483647")["items"] == []  # the largest page is still a page


def test_bulk_approve_with_one_huge_id_is_a_400_naming_the_list(app, collection):
    api = Api(app, "rev_yunxi")
    body = api.post("/api/v1/tasks/bulk-approve", {"task_ids": [1, int(HUGE)]}, status=400)
    assert body["error"]["code"] == "bad_input"
    assert "task_ids" in str(body["error"])


def test_a_page_past_an_integer_key_answers_in_chinese(app, collection):
    # past collections' integer key but within bigint: no edge check knows each column's type, so the
    # overflow's own handler answers (web/errors.py), on pages as in the API
    client = app.test_client()
    assert login(client, "admin").status_code == 302
    resp = client.get(f"/collections/{PAST_INTEGER}/rollups")
    assert resp.status_code == 400
    assert "数值超出允许范围" in resp.get_data(as_text=True)
