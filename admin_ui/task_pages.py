"""Pages: the inbox (待办任务) with bulk approval, and the review page of one task."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from admin_ui import ui
from admin_ui.template_helpers import register_nav
from engine import tasks
from engine.auth import Principal
from engine.db.models import MAX_ID, OrgUnit, WorkflowTask
from engine.errors import BadInput, Conflict, PermissionDenied, Problem
from engine.forms import html_name
from engine.review import (
    KIND_LABELS,
    SORT_LABELS,
    TaskContext,
    child_units,
    history_steps,
    inbox_collections,
    inbox_page,
    int_param,
    local_time,
    parse_inbox_args,
    path_value_text,
    task_context,
)
from engine.review_comments import MAX_COMMENT_CHARS, path_label
from engine.roles import ROLES
from engine.submissions import STATUS_LABELS
from engine.workflows import WorkflowError
from engine.workflows.vocabulary import DECISIONS
from web.auth import current_principal, login_required, roles_required
from web.db import db

# every role a lane can name has an inbox: a flow may give its tasks to any role at a level (市级审核员, the
# province's own review in the 省级管理员 lane), and a task nobody can find waits for ever
register_nav("待办任务", "ui.tasks_inbox", *(code for code, role in ROLES.items() if role.level is not None))

BULK_ROLES = ("township_reviewer",)  # villages' reports are many and alike at the township
TASK_ID = int_param("task_ids", "任务编号", maximum=MAX_ID)  # ticked boxes send ASCII ids; anything else is refused
FIELD_COMMENT = re.compile(r"^field_comments\[(.+)\]$")
# Messages the page words for a person at a form; others come from the engine as they are.
PAGE_MESSAGES: dict[str, str] = {"decision": "请选择审核结论：通过或退回"}
EXTRA_GLOBALS = {"KIND_LABELS": KIND_LABELS, "SORT_LABELS": SORT_LABELS, "STATUS_LABELS": STATUS_LABELS,
                 "DECISIONS": DECISIONS, "local_time": local_time}


def fill_url(submission_id: int) -> str:
    return f"/submissions/{submission_id}/page/1"  # the fill page (admin_ui, built separately)


def _render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, fill_url=fill_url, **EXTRA_GLOBALS, **context), status


# --- inbox ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkInput:
    """What was picked and typed in the bulk bar: shown again, with the reason, when it is refused."""

    task_ids: frozenset[int] = frozenset()
    comment: str = ""
    error: str = ""


def _inbox(args: Mapping[str, str], status: int = 200, bulk: BulkInput = BulkInput()) -> Any:
    principal = current_principal()
    try:
        req = parse_inbox_args(args)
    except BadInput as err:
        flash(f"筛选条件有误：{err.message}，已按默认条件显示", "error")
        req, status = parse_inbox_args({}), 400
    page = inbox_page(db(), principal, req)
    links = {k: v for k, v in args.items() if k != "page"}
    if page.total and req.page > page.pages:  # a stale link or a hand-typed number: not 第 999 / 1 页
        flash(f"没有第 {req.page} 页（共 {page.pages} 页），已显示最后一页", "info")
        return redirect(url_for("ui.tasks_inbox", **links, page=page.pages))
    return _render("tasks/inbox.html", status, page=page, req=req, args=links,
                   collections=inbox_collections(db(), principal), units=child_units(db(), principal),
                   can_bulk=any(principal.has_role(r) for r in BULK_ROLES), bulk_roles=BULK_ROLES, bulk=bulk,
                   max_comment=MAX_COMMENT_CHARS)


@ui.get("/tasks")
@login_required
def tasks_inbox():
    return _inbox(request.args)


@ui.get("/tasks/bulk-approve")
@login_required
def tasks_bulk_approve_again():
    """The result page is the answer to a post: opened again (a bookmark, the address bar) it has nothing
    to show, and the inbox tells what is still waiting."""
    flash("批量通过的结果只在提交后显示一次；请在待办任务中查看各项的当前状态", "info")
    return redirect(url_for("ui.tasks_inbox"))


@ui.post("/tasks/bulk-approve")
@roles_required(*BULK_ROLES)
def tasks_bulk_approve():
    ids = list(dict.fromkeys(TASK_ID(v.strip()) for v in request.form.getlist("task_ids")))
    if not ids:
        flash("请先勾选要通过的审核任务", "warning")
        return redirect(url_for("ui.tasks_inbox"))
    comment = request.form.get("comment", "").strip()
    principal = current_principal()
    try:
        results = tasks.bulk_approve(db(), principal, ids, comment)
    except BadInput as err:  # the comment (too long, a character that cannot be stored): nothing was approved
        db().rollback()
        return _inbox({}, 400, BulkInput(frozenset(ids), comment, err.message))
    db().commit()
    # named only where the caller may see the task: another unit's reads like an id that does not exist
    found = {t.id: (t, name) for t, name in db().execute(
        select(WorkflowTask, OrgUnit.name).join(OrgUnit, OrgUnit.code == WorkflowTask.subject_org_code)
        .where(WorkflowTask.id.in_(ids), tasks.visible(principal)))}
    return _render("tasks/bulk_result.html", results=results, found=found,
                   approved=sum(r.ok for r in results))


# --- one task -------------------------------------------------------------------------------------


@dataclass
class ReviewInput:
    """What the reviewer typed; kept to show again when something is wrong."""

    decision: str = ""
    comment: str = ""
    field_comments: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> ReviewInput:
        # as typed (the engine trims them): the page shows them back exactly, so the copy forms.js keeps
        # in the tab matches and is not offered again
        comments = {m.group(1): text for name, text in form.items()
                    if (m := FIELD_COMMENT.match(name)) and text.strip()}
        return cls(form.get("decision", ""), form.get("comment", ""), comments)

    def payload(self) -> dict[str, Any]:
        return {"decision": self.decision, "comment": self.comment, "field_comments": self.field_comments}


def backup_key(principal: Principal, task: WorkflowTask) -> str:
    """Where forms.js keeps what is typed on the review form in the tab (sessionStorage): per user and task,
    so a login that expires or ends in another tab before the post arrives loses nothing."""
    return f"gr-backup:{principal.user_id}:task:{task.id}"


def _page_problems(ctx: TaskContext, refused: BadInput | WorkflowError) -> list[tuple[str, str]]:
    """(place on the page, message) for each problem of a refused decision, in the page's order: anything
    without a control first (a field comment on a place this report does not have, from a forged or
    hand-made post; the flow's own refusal), the field comments down the report, the decision, the
    comment. The engine names every problem at once (``engine.review_comments.review_problems``), so the
    reviewer on a phone fixes everything in one round."""
    comment_places = [f"field_comments.{line.data_path}" for line in ctx.report.lines if line.is_field]
    order = {place: i for i, place in enumerate(["form", *comment_places, "decision", "comment"])}
    problems = refused.problems or [Problem(refused.message, data_path=refused.data_path)]
    placed = [(p.data_path if p.data_path in order else "form", p.message) for p in problems]
    return sorted(((place, PAGE_MESSAGES.get(place, message)) for place, message in placed),
                  key=lambda found: order[found[0]])


def _error_links(problems: list[tuple[str, str]]) -> list[tuple[str | None, str]]:
    """(id of the control, message) for the list at the top of the page."""
    return [(_control_id(place), message) for place, message in problems]


def _control_id(place: str) -> str | None:
    if place.startswith("field_comments."):
        return comment_box_id(place.removeprefix("field_comments."))
    return {"decision": "decision", "comment": "comment"}.get(place)


def comment_box_id(data_path: str) -> str:
    """The id of a field's comment box on the review page (``fc-basic-villager_group_count``)."""
    return f"fc-{html_name(data_path)}"


@ui.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task_review(task_id: int):
    principal = current_principal()
    task = tasks.get_task(db(), principal, task_id)
    typed, conflict, status = ReviewInput(), None, 200
    refused: BadInput | None = None
    if request.method == "POST":
        typed = ReviewInput.from_form(request.form)
        if task.state == "ready" and not principal.has_role(task.role, task.assignee_org_code):
            raise PermissionDenied("您可以查看此任务，但无权处理")
        try:
            if task.state != "ready":
                raise Conflict(tasks.done_message(task, principal.user_id))
            tasks.complete_review(db(), principal, task.id, typed.payload())
            unit = db().get(OrgUnit, task.subject_org_code)
            label = DECISIONS.get(typed.decision, typed.decision)
            db().commit()
            flash(f"已{label}：{unit.name if unit else task.subject_org_code} · {task.name}", "success")
            flash(backup_key(principal, task), "gr-forget")  # the decision arrived: the tab's copy is done
            return redirect(url_for("ui.tasks_inbox"))
        except Conflict as err:
            db().rollback()
            conflict, status = err.message, 409
        except (BadInput, WorkflowError) as err:  # the flow refused the step: shown above the form, input kept
            db().rollback()
            refused, status = err, 400
        task = tasks.get_task(db(), principal, task_id)
    ctx = task_context(db(), principal, task)
    problems = _page_problems(ctx, refused) if refused is not None else []
    errors = dict(problems)  # by place, for the controls (each field's comment box, the decision, the comment)
    return_comments = {r.id: ctx.text.field_comments(r.field_comments) for r in ctx.returns}
    # each field's latest return comment, whoever wrote it, shown at the field: the township sees what the
    # county asked beside 耕地, and the county its own earlier request after the township's return
    at_fields: dict[str, tuple[str, str]] = {}
    for r in ctx.returns:  # newest first
        for path, text in return_comments[r.id].items():
            at_fields.setdefault(path, (r.name, text))
    return _render("tasks/review.html", status, ctx=ctx, typed=typed, errors=errors, conflict=conflict,
                   steps=list(history_steps(db(), ctx.submission.id)), shown=path_value_text, label=path_label,
                   return_comments=return_comments, at_fields=at_fields, backup_key=backup_key(principal, task),
                   error_links=_error_links(problems), comment_box_id=comment_box_id, max_comment=MAX_COMMENT_CHARS)
