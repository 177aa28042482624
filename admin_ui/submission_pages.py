"""Village clerk pages: 我的填报, the fill pages, the read-only view and the history of one report.

Every fill-page button posts the whole page. Saving or moving to another page stores the merged
document as a new draft revision and redirects (a browser refresh never posts twice); row buttons and
relevance refreshes only re-render what was posted. The revision the user edited travels in
``__revision__``: the engine refuses a save over a newer revision, and the page comes back with the
user's unsaved values and the reason. After a failed submit, ``?check=1`` keeps the errors on show
while the user moves between pages.

A draft is saved whatever is typed, but never silently: every fill page shows what is wrong with the
values on it (a wrong format, a number out of range, a broken rule) at the fields and in the summary at
its top, without blocking anything, and a move to another page says on arrival what is wrong on the
page just left (``?saved=<page>``), with links back to the fields. Fields merely not filled in yet wait
for the submit's check, and so does a rule that reads one (the engine decides which:
``validate_submission(..., draft=True)``, engine.validation.drafts): a half-filled draft is normal, and
marking every blank red would drown the values that are actually wrong.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, g, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import and_, select
from sqlalchemy.orm import lazyload

from admin_ui import ui
from admin_ui.template_helpers import register_nav
from engine.auth import Principal
from engine.db.models import Collection, OrgUnit, Submission, User, WorkflowTask
from engine.definitions import IndicatorSet
from engine.diffs import diff_documents
from engine.errors import BadInput, Conflict, Problem
from engine.forms import (
    apply_row_action,
    explanations_from,
    find_field,
    first_error_page,
    html_name,
    navigation,
    page_for,
    page_of_path,
    page_view,
    pages,
)
from engine.masking import FreeText, free_text, readable, readable_changes, report_text
from engine.report_limits import known_only
from engine.review import choices_text, is_late
from engine.roles import IN_PROGRESS_READERS, ROLES
from engine.submissions import (
    STATUS_LABELS,
    SubmitItem,
    can_edit,
    get_submission,
    model_for,
    not_editable_reason,
    ready_entry_task,
    revisions,
    save_draft,
    with_filled,
)
from engine.tasks import history
from engine.validation import validate_submission
from engine.validation.cleaning import clean
from engine.validation.messages import number_text
from engine.validation.paths import is_hidden, key_of
from web.auth import current_principal, login_required, roles_required
from web.db import db, submit_queue

REVISION_FIELD = "__revision__"
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
REVISION_KINDS = {"prefill": "上年数据结转", "draft": "保存草稿", "submit": "提交"}
DECISIONS = {"approve": "通过", "return": "退回"}
TASK_STATES = {"ready": "待办理", "completed": "已完成", "cancelled": "已取消"}
BOOLEAN_TEXT = {True: "是", False: "否"}
# Which flash a stored save shows, per pressed button (page moves are quiet: the move is the feedback).
SAVED_MESSAGES = {"save": "草稿已保存"}
STALE_MESSAGE = ("保存未生效：此表已被他人修改（当前已是第 {current} 次保存）。"
                 "下面显示的是您刚才填写、尚未保存的内容，其他页已更新为最新内容；"
                 "请核对后再次点击“保存草稿”或翻页，以您填写的内容为准保存。")

register_nav("我的填报", "ui.my_submissions", "village_clerk")


@ui.app_template_filter("gr_local_time")
def local_time(value: dt.datetime | None, seconds: bool = False) -> str:
    """Beijing time, as every page shows times (stored in UTC)."""
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else "")) if value else "—"


# --- shared helpers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnNote:
    """The reviewer's comments of the latest review, when it sent the report back."""

    task: WorkflowTask
    comment: str | None  # the overall comment
    field_comments: dict[str, str]

    def read_by(self, text: FreeText) -> ReturnNote:
        """The note as a reader reads it (personal values masked for one who may not see them)."""
        return ReturnNote(self.task, text.text(self.comment), text.field_comments(self.field_comments))


def latest_return(submission_id: int) -> ReturnNote | None:
    """The note the village has to act on: none once the report has left the village again, or when a
    return went to a reviewer below (the county sending it back to the township)."""
    if ready_entry_task(db(), submission_id) is None:
        return None
    reviews = [t for t in history(db(), submission_id) if t.kind == "review" and t.state == "completed"]
    latest = max(reviews, key=lambda t: (t.completed_at or t.created_at, t.id), default=None)
    if latest is None or latest.decision != "return":
        return None
    return ReturnNote(latest, latest.comment, {k: str(v) for k, v in (latest.field_comments or {}).items()})


def value_text(ind: IndicatorSet, data_path: str, value: Any) -> str:
    """A stored value as a person reads it: option labels, 是/否, plain numbers; blank as —."""
    if value is None or value == "":
        return "—"
    spec = ind.fields.get(key_of(data_path))
    if spec is not None and spec.multiple and isinstance(value, list):
        return choices_text(spec, value) if value else "—"
    labels = {v: label for v, label in (spec.options if spec is not None else ())}
    if isinstance(value, bool) and value not in labels:
        return BOOLEAN_TEXT[value]
    if not isinstance(value, list | dict) and value in labels:
        return labels[value]
    return number_text(value)


def _user_names(ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u.display_name for u in db().scalars(select(User).where(User.id.in_(wanted)))}


def _collection_and_unit(sub: Submission) -> tuple[Collection | None, str]:
    """The report's collection and its unit's name: one query, once per request, and without the version
    rows (definition content, BPMN, spec) that Collection's relationships join by default — these pages
    never use them, and reading them twice cost a sixth of a fill page's time."""
    held = g.get("gr_collection_and_unit")
    if held is None or held[0] != sub.id:
        row = db().execute(
            select(Collection, OrgUnit.name)
            .options(lazyload("*"))
            .outerjoin(OrgUnit, OrgUnit.code == sub.org_code)
            .where(Collection.id == sub.collection_id)
        ).first()
        collection, unit_name = row if row is not None else (None, None)
        held = g.gr_collection_and_unit = (sub.id, collection, unit_name or sub.org_code)
    return held[1], held[2]


def _context(sub: Submission) -> dict[str, Any]:
    """What every page of a report shows in its header."""
    collection, unit_name = _collection_and_unit(sub)
    return {
        "sub": sub,
        "collection": collection,
        "unit_name": unit_name,
        "status_label": STATUS_LABELS.get(sub.status, sub.status),
    }


def _editable(principal: Principal, sub: Submission) -> bool:
    collection, _unit_name = _collection_and_unit(sub)
    return collection is not None and collection.status == "open" and can_edit(db(), principal, sub)


# --- 我的填报 --------------------------------------------------------------------------------------


@ui.get("/submissions")
@roles_required("village_clerk")
def my_submissions():
    principal = current_principal()
    entry = and_(WorkflowTask.submission_id == Submission.id, WorkflowTask.state == "ready",
                 WorkflowTask.kind == "entry")
    rows = db().execute(
        select(Submission, Collection, OrgUnit.name, WorkflowTask)
        .join(Collection, Collection.id == Submission.collection_id)
        .join(OrgUnit, OrgUnit.code == Submission.org_code)
        .outerjoin(WorkflowTask, entry)
        .where(Collection.status == "open", principal.scope_clause(Submission.org_code, ["village_clerk"]))
        .order_by(Collection.deadline, Collection.id, Submission.org_code)
    ).all()
    items = [
        {
            "sub": sub, "collection": collection, "unit_name": unit_name, "task": task,
            "status_label": STATUS_LABELS.get(sub.status, sub.status),
            "editable": task is not None and principal.has_role(task.role, task.assignee_org_code),
            "late": task is not None and is_late(task),  # the inbox's rule: timer fired or deadline passed
        }
        for sub, collection, unit_name, task in rows
    ]
    return render_template("submissions/list.html", items=items)


# --- fill pages -----------------------------------------------------------------------------------


@ui.get("/submissions/<int:submission_id>/fill")
@login_required
def submission_start(submission_id: int):
    """Where to start filling: a returned report opens on the first page the reviewer commented on."""
    sub = get_submission(db(), current_principal(), submission_id, record=True)
    ind = model_for(db(), sub)
    note = latest_return(sub.id)
    start = min((page_of_path(ind, path).number for path in (note.field_comments if note else {})), default=1)
    return redirect(url_for("ui.submission_fill", submission_id=sub.id, number=start))


@ui.route("/submissions/<int:submission_id>/page/<int:number>", methods=["GET", "POST"])
@login_required
def submission_fill(submission_id: int, number: int):
    principal = current_principal()
    sub = get_submission(db(), principal, submission_id, record=True)
    ind = model_for(db(), sub)
    page = page_for(ind, number)
    # the fill page shows the report, the return note and the explanations unmasked, as the clerk wrote
    # them: a reader who may not see personal data here is never shown it, whatever is posted
    if request.method == "POST" and principal.sees_sensitive(sub.org_code):
        return _post_page(principal, sub, ind, page)
    if not _editable(principal, sub) or request.method == "POST":
        flash(f"{not_editable_reason(db(), sub)}。以下为只读内容", "info")
        return redirect(url_for("ui.submission_view", submission_id=sub.id))
    return _render_fill(sub, ind, sub.data, sub.explanations, page.number, sub.revision)


def checking() -> bool:
    """Whether the page shows the validation results (``?check=1``: after a failed submit, kept while
    the user moves between pages). The workbench's preview works the same way."""
    return request.args.get("check") == "1"


def _fill_url(submission_id: int, number: int, *, saved: int | None = None) -> str:
    return url_for("ui.submission_fill", submission_id=submission_id, number=number,
                   check="1" if checking() else None, saved=saved)


def _post_page(principal: Principal, sub: Submission, ind: IndicatorSet, page: Any) -> Any:
    form = request.form
    revision = form.get(REVISION_FIELD, type=int)
    data, _action = apply_row_action(ind, form, data=sub.data, page=page)
    # a page never posts its filled fields (read-only, not read back): without them a page move looks like a change
    data = with_filled(db(), ind, sub, data)
    explanations = explanations_from(form, sub.explanations)
    # the page posts only the definition's fields, but into the stored draft: keys one holds that the
    # definition does not have (stored by an API client before engine.report_limits) would refuse every save
    data, explanations = known_only(ind, data, explanations)
    nav = navigation(form, current=page.number, total=len(pages(ind)))
    if nav.kind == "row":  # a row added/removed or the page refreshed: show it, store nothing yet
        return _render_fill(sub, ind, data, explanations, page.number, revision)
    try:
        if nav.kind == "submit":
            return _submit(principal, sub, ind, data, explanations, revision)
        if _changed(ind, sub, data, explanations):
            save_draft(db(), principal, sub.id, data, revision=-1 if revision is None else revision,
                       explanations=explanations)
            db().commit()
    except Conflict as err:
        db().rollback()
        return _conflict(principal, sub.id, ind, page, err)
    except BadInput as err:  # beyond what a form holds (engine.report_limits), a character jsonb refuses
        db().rollback()
        refused = err.problems or [Problem(err.message, data_path=err.data_path, code="bad_input")]
        # the page comes back as posted, the reason at its field (and named above, should it be on another
        # page): nothing typed is lost
        places = "、".join(dict.fromkeys(field_label(ind, p.data_path) for p in refused if p.data_path))
        return _render_fill(sub, ind, data, explanations, page.number, revision, status=400, refused=refused,
                            notice=f"{err.message}（{places}）" if places else err.message)
    if nav.kind in SAVED_MESSAGES:
        flash(SAVED_MESSAGES[nav.kind], "success")
    # a move names, on the page it lands on, what is wrong on the page just saved (_left_page)
    return redirect(_fill_url(sub.id, nav.page, saved=page.number if nav.page != page.number else None))


def _changed(ind: IndicatorSet, sub: Submission, data: dict[str, Any], explanations: dict[str, str]) -> bool:
    """Whether saving would store anything new. Compared after cleaning: a page never posts its calculated
    fields, so a plain comparison would see a change (and add a revision) on every page move."""
    return explanations != sub.explanations or clean(ind, data).data != clean(ind, sub.data).data


def _submit(principal: Principal, sub: Submission, ind: IndicatorSet, data: dict[str, Any],
            explanations: dict[str, str], revision: int | None) -> Any:
    # committed by the queue (group commit: engine.submit_queue); an invalid report is stored as a draft,
    # so nothing typed is lost
    outcome = submit_queue().submit(principal, SubmitItem(sub.id, data, -1 if revision is None else revision,
                                                           explanations))
    if outcome.submitted:
        flash(f"提交成功，当前状态：{STATUS_LABELS.get(outcome.submission.status)}", "success")
        return redirect(url_for("ui.submission_view", submission_id=sub.id))
    result = outcome.validation
    count = len(result.errors) + len(result.unexplained)
    flash(f"提交未成功：还有 {count} 处需要修改或说明。已为您保存草稿，请按红色提示修改后再提交。", "error")
    return redirect(url_for("ui.submission_fill", submission_id=sub.id, number=first_error_page(ind, result),
                            check="1"))


def _conflict(principal: Principal, submission_id: int, ind: IndicatorSet, page: Any, err: Conflict) -> Any:
    """Show the user's posted page over the latest stored document, with what differs and why."""
    sub = get_submission(db(), principal, submission_id, record=True)
    data, _action = apply_row_action(ind, request.form, data=sub.data, page=page)
    # a page never posts its filled fields (read-only, not read back): without them a page move looks like a change
    data = with_filled(db(), ind, sub, data)
    explanations = explanations_from(request.form, sub.explanations)
    current = err.details.get("current_revision")
    message = STALE_MESSAGE.format(current=current) if current is not None else err.message
    names = [spec.name for spec in page.specs]
    changes = diff_documents(ind, {n: sub.data.get(n) for n in names if n in sub.data},
                             {n: data.get(n) for n in names if n in data})
    # moved on (submitted by another tab, collection closed): the posted values stay on screen, but no
    # button may offer a save that cannot happen
    return _render_fill(sub, ind, data, explanations, page.number, sub.revision, notice=message,
                        changes=changes, status=409, closed=not _editable(principal, sub))


def _render_fill(sub: Submission, ind: IndicatorSet, data: dict[str, Any], explanations: dict[str, str],
                 number: int, revision: int | None, *, notice: str | None = None, changes: list[Any] | None = None,
                 status: int = 200, closed: bool = False, refused: list[Problem] | None = None) -> Any:
    """``refused``: why a save was refused, shown at the fields in place of their other problems."""
    # validating is plain Python over the document (no statement: tests/db/test_fill_page_queries.py);
    # a page that can no longer be saved (closed) has nothing to correct
    # after a save, blanks (and rules reading them) wait for the submit; ?check=1 shows everything
    result = None if closed else validate_submission(ind, data, explanations=explanations, draft=not checking())
    if result is not None and refused:
        places = {p.data_path for p in refused}
        result = dataclasses.replace(result, errors=[*refused, *(p for p in result.errors if p.data_path not in places)])
    view = page_view(ind, data, number, result=result, explanations=explanations)
    note = latest_return(sub.id)
    unplaced = _attach_comments(ind, view, note.field_comments if note else {})
    body = render_template(
        "submissions/fill.html", **_context(sub), ind=ind, view=view, revision=revision, notice=notice,
        changes=changes or [], note=note, comment_rows=_comment_rows(ind, note), unplaced=unplaced,
        action=_fill_url(sub.id, view.number), value_text=value_text, closed=closed, editable=True,
        left=_left_page(sub, ind, result, view.number) if result is not None else None, filling=True,
    )
    return body, status


@dataclass(frozen=True)
class ProblemLink:
    label: str  # the field as the page names it: 联系电话, 耕地 · 出租, 花名册 第2行 · 姓名
    message: str
    href: str


@dataclass(frozen=True)
class LeftPage:
    """What is wrong on the page the clerk just saved and left: shown at the top of the page moved to."""

    number: int
    title: str
    href: str
    problems: list[ProblemLink]
    explain: bool  # some are soft rules, to be explained rather than corrected


def _left_page(sub: Submission, ind: IndicatorSet, result: Any, number: int) -> LeftPage | None:
    left = request.args.get("saved", type=int)
    page = page_for(ind, left) if left is not None else None
    if page is None or page.number != left or left == number:  # a stale or hand-made number: nothing to say
        return None
    order = {key: i for i, key in enumerate(ind.fields)}

    def place(problem: Any) -> tuple[int, tuple[int, ...]]:  # the page's order: field, then row
        path = problem.data_path or ""
        return order.get(key_of(path), -1), tuple(int(p) for p in path.split(".") if p.isdigit())

    problems = sorted((p for p in [*result.errors, *result.unexplained] if page_of_path(ind, p.data_path) == page),
                      key=place)
    if not problems:
        return None
    href = _fill_url(sub.id, page.number)
    return LeftPage(page.number, page.title, href, [
        ProblemLink(page_label(ind, p.data_path, page), p.message,
                    f"{href}#{html_name(p.data_path)}" if p.data_path else href)
        for p in problems
    ], any(p.severity != "hard" for p in problems))


def page_label(ind: IndicatorSet, path: str | None, page: Any) -> str:
    """A field's name on its own page: without the page's title, which the page already shows
    (``土地流转 · 耕地 · 出租`` is ``耕地 · 出租`` on the page 土地流转)."""
    label = field_label(ind, path or "")
    prefix = f"{page.title} · "
    own_section = len(page.specs) == 1 and page.specs[0].is_container
    return label[len(prefix):] if own_section and label.startswith(prefix) else label


def _attach_comments(ind: IndicatorSet, view: Any, comments: Mapping[str, str]) -> list[tuple[str, str]]:
    """Put each reviewer comment on this page into its field's help text (so aria-describedby reads it);
    return (label, comment) of those whose field shows no help text (rows, grid parts, the whole form)."""
    unplaced = []
    for path, text in comments.items():
        if page_of_path(ind, path) != view.page:
            continue
        field = find_field(view.form, path)
        if field is None or not _has_help_text(ind, path):
            unplaced.append((field_label(ind, path), text))
            continue
        note = Markup('<span class="gr-field-comment">审核意见：{}</span>').format(text)
        field.description = Markup("{}{}").format(field.description or "", note)
    return unplaced


def _has_help_text(ind: IndicatorSet, path: str) -> bool:
    """The form macros show help text on leaves, sections and repeats, but not on rows or in grids."""
    if path.split(".")[-1].isdigit():
        return False
    keys = key_of(path).split(".")
    return all(getattr(ind.fields.get(".".join(keys[:n])), "kind", None) != "grid" for n in range(1, len(keys) + 1))


@ui.app_template_global("gr_field_label")
def field_label(ind: IndicatorSet, path: str) -> str:
    """``households.household_total`` -> 户数 · 总户数; rows as 花名册 第2行 · 姓名."""
    if not path:
        return "整张表"
    words, keys = [], []
    for part in path.split("."):
        if part.isdigit():
            words[-1] += f" 第{int(part) + 1}行"
            continue
        keys.append(part)
        spec = ind.fields.get(".".join(keys))
        words.append(spec.title if spec is not None else part)
    return " · ".join(words)


def _comment_rows(ind: IndicatorSet, note: ReturnNote | None) -> list[dict[str, Any]]:
    if note is None:
        return []
    return sorted(
        ({"page": page_of_path(ind, path).number, "label": field_label(ind, path), "text": text,
          "anchor": html_name(path)}
         for path, text in note.field_comments.items()),
        key=lambda row: row["page"],
    )


# --- read-only view -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    unit: str | None
    comment: str | None


def _rows(ind: IndicatorSet, specs: tuple[Any, ...], obj: Any, prefix: str, label: str, hidden: frozenset[str],
          comments: Mapping[str, str]) -> Iterator[Row]:
    obj = obj if isinstance(obj, Mapping) else {}
    for spec in specs:
        path = f"{prefix}{spec.name}"
        if is_hidden(path, hidden):
            continue
        value = obj.get(spec.name)
        if spec.kind == "array":
            rows = value if isinstance(value, list) else []
            for i, row in enumerate(rows):
                yield from _rows(ind, spec.children, row, f"{path}.{i}.", f"{label}{spec.title} 第{i + 1}行 · ",
                                 hidden, comments)
            if not rows:
                yield Row(f"{label}{spec.title}", "（未填写任何一行）", None, comments.get(path))
        elif spec.is_container:
            yield from _rows(ind, spec.children, value, f"{path}.", f"{label}{spec.title} · ", hidden, comments)
        else:
            yield Row(f"{label}{spec.title}", value_text(ind, path, value), spec.unit, comments.get(path))


def readonly_sections(ind: IndicatorSet, data: Mapping[str, Any], hidden: frozenset[str],
                      comments: Mapping[str, str]) -> list[dict[str, Any]]:
    """One block per form page, its fields in definition order as label / value / unit (+ comment)."""
    blocks = []
    for page in pages(ind):
        top = page.specs[0]
        if len(page.specs) == 1 and top.kind == "section":  # the page title already names the section
            rows = _rows(ind, top.children, data.get(top.name), f"{top.name}.", "", hidden, comments)
        else:
            rows = _rows(ind, page.specs, data, "", "", hidden, comments)
        blocks.append({"title": page.title, "rows": list(rows)})
    return blocks


@ui.get("/submissions/<int:submission_id>")
@login_required
def submission_view(submission_id: int):
    principal = current_principal()
    sub = get_submission(db(), principal, submission_id)
    ind = model_for(db(), sub)
    note = latest_return(sub.id)
    if note is not None:  # personal values in the comments are masked like the fields
        note = note.read_by(report_text(db(), principal, sub, ind))
    cleaned = clean(ind, sub.data)  # calculated values shown as the server computes them
    data = readable(principal, ind, sub.org_code, cleaned.data)
    return render_template(
        "submissions/view.html", **_context(sub), ind=ind, note=note, comment_rows=_comment_rows(ind, note),
        sections=readonly_sections(ind, data, cleaned.hidden, note.field_comments if note else {}),
        editable=_editable(principal, sub), masked=not principal.sees_sensitive(sub.org_code),
        shows_record=principal.can_see(sub.org_code, IN_PROGRESS_READERS),
        reviewer=_user_names({note.task.completed_by}).get(note.task.completed_by) if note else None,
    )


# --- history --------------------------------------------------------------------------------------


@ui.get("/submissions/<int:submission_id>/history")
@login_required
def submission_history(submission_id: int):
    principal = current_principal()
    sub = get_submission(db(), principal, submission_id, record=True)
    ind = model_for(db(), sub)
    revs = revisions(db(), principal, sub.id)
    steps = history(db(), sub.id)
    text = free_text(principal, ind, sub.org_code, lambda: [sub.data, *(r.data for r in revs)])
    by_number = {r.revision: r for r in revs}
    numbers = list(by_number)
    wanted = {arg: request.args.get(arg, type=int) for arg in ("from", "to")}
    new = wanted["to"] if wanted["to"] in by_number else (numbers[-1] if numbers else None)
    old = wanted["from"] if wanted["from"] in by_number else (numbers[-2] if len(numbers) > 1 else new)
    changes = []
    if old is not None and new is not None:
        changes = readable_changes(principal, ind, sub.org_code,
                                   diff_documents(ind, by_number[old].data, by_number[new].data))
    return render_template(
        "submissions/history.html", **_context(sub), ind=ind, revisions=revs, steps=steps,
        names=_user_names({r.created_by for r in revs} | {t.completed_by for t in steps}),
        numbers=numbers, old=old, new=new, changes=changes, value_text=value_text, field_label=field_label,
        text=text, comments={t.id: text.field_comments(t.field_comments) for t in steps},
        kinds=REVISION_KINDS, decisions=DECISIONS, states=TASK_STATES, roles=ROLES,
        bad_choice=any(v is not None and v not in by_number for v in wanted.values()),
    )
