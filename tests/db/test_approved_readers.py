"""A line department's viewer reads approved reports only: not drafts, not reports waiting for review,
not their tasks, revisions or review comments. The roles that take part in the flow read them all."""

from __future__ import annotations

import html

from sqlalchemy import select

from engine.db.models import WorkflowTask
from tests.conftest import login
from tests.db.test_api_tasks import Api
from tests.db.test_exports import BAISHI, SHANGJIE, XIKOU, village_data  # noqa: F401 (a fixture)

YUNXI_TOWN = "390121101000"
BAISHI_TOWN = "390121201000"


def _page(client, url: str) -> tuple[int, str]:
    resp = client.get(url)
    return resp.status_code, html.unescape(resp.get_data(as_text=True))


def test_the_viewer_opens_an_approved_report_but_not_one_waiting_for_review(client, village_data, db):  # noqa: F811
    collection, approved = village_data
    waiting = db.scalar(select(WorkflowTask.submission_id).where(WorkflowTask.subject_org_code == BAISHI))
    login(client, "viewer")
    status, body = _page(client, f"/submissions/{approved[XIKOU].id}")
    assert status == 200 and "溪口村" in body
    assert "修改历史" not in body  # the record before approval is the flow's, not approved data
    for url in (f"/submissions/{waiting}", f"/submissions/{approved[XIKOU].id}/history",
                f"/submissions/{waiting}/fill"):
        status, body = _page(client, url)
        assert status == 404 and "填报记录不存在或无权查看" in body, url
    # the roles in the flow still read the report under review, and its history
    login(client, "rev_county")
    assert client.get(f"/submissions/{waiting}").status_code == 200
    assert client.get(f"/submissions/{waiting}/history").status_code == 200


def test_the_api_answers_the_viewer_as_the_pages_do(app, village_data, db):  # noqa: F811
    collection, approved = village_data
    waiting_task = db.scalar(select(WorkflowTask).where(WorkflowTask.subject_org_code == BAISHI,
                                                        WorkflowTask.state == "ready"))
    viewer = Api(app, "viewer")
    assert viewer.get(f"/api/v1/submissions/{approved[SHANGJIE].id}")["status"] == "approved"
    for path in (f"/api/v1/submissions/{waiting_task.submission_id}",
                 f"/api/v1/submissions/{approved[XIKOU].id}/revisions",
                 f"/api/v1/submissions/{approved[XIKOU].id}/history",
                 f"/api/v1/tasks/{waiting_task.id}"):
        assert viewer.get(path, status=404)["error"]["code"] == "not_found", path
    department = Api(app, "dept_county")  # a county line department takes part in the flow
    assert department.get(f"/api/v1/submissions/{waiting_task.submission_id}")["status"] == "submitted"
    assert department.get(f"/api/v1/tasks/{waiting_task.id}")["id"] == waiting_task.id


def test_roll_ups_link_only_the_reports_whose_figures_they_show(app, village_data):  # noqa: F811
    collection, approved = village_data
    for user in ("viewer", "rev_county"):
        api = Api(app, user)
        for town, linked in ((YUNXI_TOWN, {XIKOU: approved[XIKOU].id, SHANGJIE: approved[SHANGJIE].id}),
                             (BAISHI_TOWN, {})):
            body = api.get(f"/api/v1/collections/{collection.id}/rollups?org_unit={town}&level=village")
            links = {u["org_code"]: u["submission_id"] for u in body["breakdown"] if u["submission_id"]}
            assert links == linked, (user, town)


def test_the_collection_page_links_the_viewer_to_approved_reports_only(client, village_data):  # noqa: F811
    collection, approved = village_data
    login(client, "viewer")
    _, body = _page(client, f"/collections/{collection.id}?org={BAISHI_TOWN}")
    assert "白石村" in body and "查看报表" not in body
    _, body = _page(client, f"/collections/{collection.id}?org={YUNXI_TOWN}")
    assert f'href="/submissions/{approved[XIKOU].id}"' in body
    login(client, "rev_baishi")
    _, body = _page(client, f"/collections/{collection.id}?org={BAISHI_TOWN}")
    assert "查看报表" in body


def test_a_write_finds_no_report_the_viewer_may_not_read(app, village_data, db):  # noqa: F811
    """A save, a submit and a batch submit answer the viewer as a read does: a report in progress is not
    found (not 403 "只有本单位的填报人员…", not 409 naming its status, not "不在您的填报环节")."""
    from engine.db.models import Submission

    collection, approved = village_data
    waiting = db.scalar(select(Submission).where(Submission.org_code == BAISHI))
    untouched = db.scalar(select(Submission).where(Submission.collection_id == collection.id,
                                                   Submission.status == "not_started"))
    before = {s.id: s.revision for s in db.scalars(select(Submission))}
    viewer = Api(app, "viewer")
    for sub in (waiting, untouched):
        body = {"data": {}, "revision": sub.revision}
        for method, path in (("PUT", f"/api/v1/submissions/{sub.id}"), ("POST", f"/api/v1/submissions/{sub.id}/submit")):
            error = viewer.call(method, path, body, status=404)["error"]
            assert (error["code"], error["message"]) == ("not_found", "填报记录不存在或无权查看"), (sub.status, path)
    batch = viewer.post("/api/v1/submissions/submit-batch", {"items": [
        {"submission_id": sub.id, "revision": sub.revision, "data": {}} for sub in (waiting, untouched)]})
    assert [item["message"] for item in batch["items"]] == ["填报记录不存在或无权查看"] * 2
    # a report it reads says why it cannot be changed, as before; a reviewer in the flow still reads why
    refused = viewer.call("PUT", f"/api/v1/submissions/{approved[XIKOU].id}", {"data": {}, "revision": 0}, status=409)
    assert "不能修改" in refused["error"]["message"]
    reviewer = Api(app, "rev_county")
    refused = reviewer.call("PUT", f"/api/v1/submissions/{untouched.id}", {"data": {}, "revision": 0}, status=403)
    assert refused["error"]["message"] == "只有本单位的填报人员可以修改此表"
    db.expire_all()
    assert {s.id: s.revision for s in db.scalars(select(Submission))} == before
