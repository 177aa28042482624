"""What a reviewer reads: a page of the inbox, the report laid out for reading, the changes since
the last review at this post, and a submission's history. Read-only, shared by the pages and the API.

Sensitive fields (``x-sensitive``) are masked for callers whose roles may not read them there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from engine.auth import Principal
from engine.db.models import Collection, OrgUnit, Submission, SubmissionRevision, User, WorkflowTask
from engine.definitions import FieldSpec, IndicatorSet
from engine.diffs import Change, diff_documents
from engine.errors import BadInput, Problem
from engine.masking import (
    MASK,
    MASKED_EXPLANATION,
    PERSONAL_PROBLEM,
    FreeText,
    mask_changes,
    mask_document,
    readable_problems,
    report_text,
)
from engine.orgs import CODE_RE
from engine.roles import ROLES
from engine.submissions import STATUS_LABELS, model_for, revision_data, validate
from engine.tasks import InboxFilter, actionable, history, inbox_query
from engine.validation.cleaning import clean
from engine.validation.messages import number_text
from engine.validation.paths import is_hidden, join, key_of

KIND_LABELS: dict[str, str] = {"entry": "填报", "review": "审核"}
SORT_LABELS: dict[str, str] = {"due": "按截止时间", "created": "按到达时间（新→旧）", "unit": "按单位代码"}
STATE_LABELS: dict[str, str] = {"ready": "待处理", "completed": "已完成", "cancelled": "已取消"}
REVISION_KIND_LABELS: dict[str, str] = {"prefill": "预填", "draft": "草稿", "submit": "提交"}
BLANK = "（未填）"
PER_PAGE = 50
MAX_PER_PAGE = 200
BEIJING = dt.timezone(dt.timedelta(hours=8), "北京时间")  # China has one zone and no DST


def local_time(value: dt.datetime | None) -> str:
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if value else ""


# --- the inbox ------------------------------------------------------------------------------------


# collection ids are integer keys, and a page's offset must stay a bigint: a number past this is
# not a page or a collection, and is refused here rather than overflowing in PostgreSQL
MAX_QUERY_INT = 2**31 - 1


def int_param(name: str, label: str, minimum: int = 1, maximum: int = MAX_QUERY_INT) -> Callable[[str], int]:
    """A parser of a whole number sent as text: ASCII digits only (``str.isdigit`` also takes "１" and
    "²", which ``int`` reads as 1 or refuses), between ``minimum`` and ``maximum``; else BadInput naming
    ``label``."""

    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit() and len(text) <= 19) or not minimum <= int(text) <= maximum:
            raise BadInput(f"{label}应为 {minimum} 到 {maximum} 之间的整数", data_path=name)
        return int(text)

    return parse


def _choice(name: str, label: str, allowed: Mapping[str, str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise BadInput(f"{label}只能是：{'、'.join(f'{k}（{v}）' for k, v in allowed.items())}", data_path=name)
        return text

    return parse


def _org(text: str) -> str:
    if not CODE_RE.match(text):
        raise BadInput("单位代码应为 12 位数字", data_path="org")
    return text


_YES_NO = {"true": True, "1": True, "false": False, "0": False}


def _bool(text: str) -> bool:
    if text not in _YES_NO:
        raise BadInput("是否逾期应为 true 或 false", data_path="overdue")
    return _YES_NO[text]


# query parameter -> parser; an empty value means "not given" (a form's "全部").
INBOX_PARAMS: dict[str, Callable[[str], Any]] = {
    "collection_id": int_param("collection_id", "采集任务编号"),
    "kind": _choice("kind", "任务类型", KIND_LABELS),
    "overdue": _bool,
    "org": _org,
    "sort": _choice("sort", "排序方式", SORT_LABELS),
    "page": int_param("page", "页码"),
    "per_page": int_param("per_page", "每页条数"),
}


@dataclass(frozen=True)
class InboxRequest:
    filter: InboxFilter
    overdue: bool | None  # applied here, see late()
    page: int = 1
    per_page: int = PER_PAGE


def parse_inbox_args(args: Mapping[str, str]) -> InboxRequest:
    """Query parameters -> filter; bad values raise BadInput naming the parameter (in Chinese)."""
    values = {name: parse(args[name].strip()) for name, parse in INBOX_PARAMS.items() if (args.get(name) or "").strip()}
    f = InboxFilter(collection_id=values.get("collection_id"), kind=values.get("kind"),
                    org_code=values.get("org"), sort=values.get("sort", "due"))
    return InboxRequest(f, values.get("overdue"), values.get("page", 1),
                        min(values.get("per_page", PER_PAGE), MAX_PER_PAGE))


def late(now: dt.datetime) -> Any:
    """SQL: late work. A deadline timer marks ``overdue``; a ``due`` property never fires, so a
    passed ``due_at`` counts too (the badge and the filter must agree)."""
    return or_(WorkflowTask.overdue.is_(True), WorkflowTask.due_at < now)


@dataclass(frozen=True)
class InboxRow:
    task: WorkflowTask
    unit_name: str
    collection_title: str
    status: str
    revision: int
    overdue: bool
    returned_by: str | None = None  # the role that sent the report back to this review, if one did
    skipped: str | None = None  # the step a deadline timer skipped to bring the report here (its name)
    collection_status: str = "open"  # a closed collection's tasks stay listed: the row says it is closed

    @property
    def status_label(self) -> str:
        # "已提交待审核" alone would read like a fresh report
        if self.skipped is not None:  # the latest move: the step before this one ran out of time
            return f"{self.skipped}超时跳过，待审核"
        if self.returned_by == self.task.role:  # this step sent it back and the village submitted it again
            return "退回后重新提交"
        if self.returned_by is not None:  # a step above sent it back down to this one
            role = ROLES.get(self.returned_by)
            return f"{role.label if role else '上级'}退回，待复核"
        return STATUS_LABELS.get(self.status, self.status)


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def inbox_page(session: Session, principal: Principal, req: InboxRequest, now: dt.datetime | None = None) -> InboxPage:
    now = now or dt.datetime.now(dt.UTC)
    query = inbox_query(principal, req.filter)
    if req.overdue is not None:
        query = query.where(late(now) if req.overdue else ~late(now))
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.execute(query.limit(req.per_page).offset((req.page - 1) * req.per_page)).all()
    returned = _returned_by(session, [t.submission_id for t, *_ in rows if t.kind == "review"])
    skipped = skipped_steps(session, [t.id for t, *_ in rows if t.kind == "review"])
    return InboxPage(
        [InboxRow(t, unit, title, status, revision, is_late(t, now),
                  returned.get(t.submission_id) if t.kind == "review" else None, skipped.get(t.id), collection_status)
         for t, unit, title, status, revision, collection_status in rows],
        total, req.page, req.per_page,
    )


def _returned_by(session: Session, submission_ids: list[int]) -> dict[int, str]:
    """Submission id -> the role whose review sent it back, where its latest review was a return (a review
    ready again after it is one a higher level sent down: the county returning it to the township)."""
    if not submission_ids:
        return {}
    latest = session.execute(
        select(WorkflowTask.submission_id, WorkflowTask.decision, WorkflowTask.role)
        .where(WorkflowTask.submission_id.in_(submission_ids), WorkflowTask.kind == "review",
               WorkflowTask.state == "completed")
        .order_by(WorkflowTask.submission_id, WorkflowTask.completed_at.desc(), WorkflowTask.id.desc())
        .distinct(WorkflowTask.submission_id)
    )
    return {sub_id: role for sub_id, decision, role in latest if decision == "return"}


def skipped_steps(session: Session, task_ids: list[int]) -> dict[int, str]:
    """Task id -> the name of the step skipped just before it, where the instance's latest task that left
    the inbox before this one became ready was cancelled. Only an interrupting boundary timer cancels a
    task (a deadline that moves the flow past a step nobody did, e.g. 乡镇审核 to 县级审核): a
    completion marks its row completed, and no other element the checker admits ends a task."""
    if not task_ids:
        return {}
    earlier = aliased(WorkflowTask)
    latest = session.execute(
        select(WorkflowTask.id, earlier.state, earlier.name)
        .join(earlier, and_(earlier.instance_id == WorkflowTask.instance_id, earlier.id < WorkflowTask.id,
                            earlier.state != "ready"))
        .where(WorkflowTask.id.in_(task_ids))
        .order_by(WorkflowTask.id, earlier.id.desc())
        .distinct(WorkflowTask.id)
    )
    return {task_id: name for task_id, state, name in latest if state == "cancelled"}


def is_late(task: WorkflowTask, now: dt.datetime | None = None) -> bool:
    now = now or dt.datetime.now(dt.UTC)
    return bool(task.overdue or (task.due_at is not None and task.due_at < now))


def inbox_collections(session: Session, principal: Principal) -> list[tuple[int, str, str]]:
    """(id, title, status) of the collections the caller has ready tasks in: the filter's choices."""
    rows = session.execute(
        select(Collection.id, Collection.title, Collection.status)
        .where(Collection.id.in_(select(WorkflowTask.collection_id)
                                 .where(WorkflowTask.state == "ready", actionable(principal))))
        .order_by(Collection.id.desc())
    )
    return [(r.id, r.title, r.status) for r in rows]


def child_units(session: Session, principal: Principal) -> list[OrgUnit]:
    """Units directly below the caller's units: the subtree filter's choices."""
    codes = {a.org_code for a in principal.assignments}
    return list(session.scalars(select(OrgUnit).where(OrgUnit.parent_code.in_(codes)).order_by(OrgUnit.code)))


# --- the report, for reading ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReportLine:
    """A heading (section, grid row, repeat row) or one field with its value, in definition order."""

    depth: int
    title: str
    data_path: str = ""
    value: str = ""
    unit: str | None = None
    is_field: bool = False
    warnings: tuple[str, ...] = ()


def _option_label(spec: FieldSpec, value: Any) -> str:
    return next((label for option, label in spec.options if option == value), str(value))


CHOICES_SEPARATOR = "、"


def choices_text(spec: FieldSpec, value: Any) -> str:
    """A multiple choice as a person reads it: the ticked options' titles joined by 、 (卫生室、文化礼堂);
    a value that is not an option is shown as stored, and none ticked as blank."""
    if not isinstance(value, list):
        return _option_label(spec, value)
    return CHOICES_SEPARATOR.join(_option_label(spec, v) for v in value) or BLANK


VALUE_TEXT: dict[str, Callable[[FieldSpec, Any], str]] = {
    "boolean": lambda spec, v: "是" if v else "否",
    "choice": _option_label,
    "multichoice": choices_text,
    "integer": lambda spec, v: number_text(v),
    "number": lambda spec, v: number_text(v),
}


def value_text(spec: FieldSpec | None, value: Any, *, masked: bool = False) -> str:
    if value is None or value == "":
        return BLANK
    if spec is None or value == MASK:
        return str(value)
    if masked and spec.sensitive:
        return MASK
    return VALUE_TEXT.get(spec.kind, lambda s, v: str(v))(spec, value)


def path_value_text(ind: IndicatorSet, data_path: str, value: Any) -> str:
    """A value at a data path (``elders.2.name``) as a person reads it."""
    return value_text(ind.fields.get(key_of(data_path)), value)


@dataclass
class _Walk:
    hidden: frozenset[str]
    masked: bool
    warnings: dict[str, list[str]]
    lines: list[ReportLine] = field(default_factory=list)

    def specs(self, specs: tuple[FieldSpec, ...], obj: Any, prefix: str, depth: int) -> None:
        obj = obj if isinstance(obj, Mapping) else {}
        for spec in specs:
            path = join(prefix, spec.name)
            if not is_hidden(path, self.hidden):
                WALKERS.get(spec.kind, _Walk.leaf)(self, spec, obj.get(spec.name), path, depth)

    def group(self, spec: FieldSpec, value: Any, path: str, depth: int) -> None:
        self.lines.append(ReportLine(depth, spec.title, path))
        self.specs(spec.children, value, path, depth + 1)

    def rows(self, spec: FieldSpec, value: Any, path: str, depth: int) -> None:
        rows = value if isinstance(value, list) else []
        self.lines.append(ReportLine(depth, f"{spec.title}（共 {len(rows)} 行）", path))
        for i, row in enumerate(rows):
            self.lines.append(ReportLine(depth + 1, f"第 {i + 1} 行", join(path, i)))
            self.specs(spec.children, row, join(path, i), depth + 2)

    def leaf(self, spec: FieldSpec, value: Any, path: str, depth: int) -> None:
        self.lines.append(ReportLine(depth, spec.title, path, value_text(spec, value, masked=self.masked),
                                     spec.unit, True, tuple(self.warnings.get(path, ()))))


WALKERS: dict[str, Callable[[_Walk, FieldSpec, Any, str, int], None]] = {
    "section": _Walk.group,
    "grid": _Walk.group,
    "array": _Walk.rows,
}


@dataclass(frozen=True)
class RuleWarning:
    rule_id: str
    message: str
    explanation: str  # the clerk's reason; "" when none was given


@dataclass(frozen=True)
class ReportView:
    lines: list[ReportLine]
    warnings: list[RuleWarning]
    data: dict[str, Any]  # as shown (masked where the caller may not read)


def report_view(ind: IndicatorSet, data: Mapping[str, Any], explanations: Mapping[str, str],
                warnings: list[Problem], *, masked: bool) -> ReportView:
    """``warnings`` and ``explanations`` as the reader may read them (``engine.masking``): the warnings
    about personal fields, which name no rule, are listed as one, their explanations hidden."""
    cleaned = clean(ind, dict(data))
    by_path: dict[str, list[str]] = {}
    rules: dict[str, RuleWarning] = {}
    for p in warnings:
        by_path.setdefault(p.data_path or "", []).append(p.message)
        if p.code == PERSONAL_PROBLEM:
            rules.setdefault(PERSONAL_PROBLEM, RuleWarning(PERSONAL_PROBLEM, p.message, MASKED_EXPLANATION))
            continue
        rule_id = p.rule_id or p.message
        rules.setdefault(rule_id, RuleWarning(rule_id, p.message, str(explanations.get(rule_id) or "").strip()))
    walk = _Walk(cleaned.hidden, masked, by_path)
    walk.specs(ind.sections, cleaned.data, "", 0)
    return ReportView(walk.lines, list(rules.values()),
                      mask_document(ind, cleaned.data) if masked else cleaned.data)


# --- what the reviewer acts on --------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewDiff:
    base_revision: int | None  # None: this post has not reviewed the submission before (首次审核)
    current_revision: int
    changes: list[Change]

    @property
    def first_review(self) -> bool:
        return self.base_revision is None


def previous_review(session: Session, task: WorkflowTask) -> WorkflowTask | None:
    """The last completed review of the same submission by the same post (role at the same unit)
    before ``task``: a colleague at the same township counts, since they share the inbox."""
    return session.scalar(
        select(WorkflowTask)
        .where(WorkflowTask.submission_id == task.submission_id, WorkflowTask.kind == "review",
               WorkflowTask.state == "completed", WorkflowTask.role == task.role,
               WorkflowTask.assignee_org_code == task.assignee_org_code, WorkflowTask.id < task.id,
               WorkflowTask.revision.is_not(None))
        .order_by(WorkflowTask.id.desc())
        .limit(1)
    )


def _data_at(session: Session, principal: Principal, sub: Submission, revision: int) -> dict[str, Any]:
    return sub.data if revision == sub.revision else revision_data(session, principal, sub.id, revision)


def review_diff(session: Session, principal: Principal, task: WorkflowTask, sub: Submission,
                ind: IndicatorSet, *, masked: bool) -> ReviewDiff:
    current = task.revision if task.state == "completed" and task.revision is not None else sub.revision
    previous = previous_review(session, task)
    if previous is None or previous.revision is None:  # revision: narrows the type; the query demands it
        return ReviewDiff(None, current, [])
    changes = diff_documents(ind, _data_at(session, principal, sub, previous.revision),
                             _data_at(session, principal, sub, current))
    if masked:
        changes = mask_changes(ind, changes)
    return ReviewDiff(previous.revision, current, changes)


@dataclass(frozen=True)
class TaskContext:
    """Everything the review page and ``GET /tasks/<id>`` show for one task."""

    task: WorkflowTask
    submission: Submission
    ind: IndicatorSet
    unit_name: str
    collection: Collection
    can_act: bool  # ready, and the caller holds the task's role at its unit
    report: ReportView
    diff: ReviewDiff
    returns: list[WorkflowTask]  # earlier "return" reviews, newest first (what the clerk must fix)
    text: FreeText  # comments and explanations as the caller may read them
    skipped: str | None = None  # a review: the step a deadline timer skipped to bring the report here

    @property
    def late(self) -> bool:
        return is_late(self.task)


def task_context(session: Session, principal: Principal, task: WorkflowTask) -> TaskContext:
    sub = session.get(Submission, task.submission_id)
    collection = session.get(Collection, task.collection_id)
    unit = session.get(OrgUnit, task.subject_org_code)
    assert sub is not None and collection is not None
    ind = model_for(session, sub)
    masked = not principal.sees_sensitive(sub.org_code)
    revision = task.revision if task.state == "completed" and task.revision is not None else sub.revision
    data = _data_at(session, principal, sub, revision)
    result = validate(session, sub, data, sub.explanations)
    text = report_text(session, principal, sub, ind)
    report = report_view(ind, data, text.explanations(sub.explanations),
                         readable_problems(principal, ind, sub.org_code, result.warnings), masked=masked)
    returns = list(session.scalars(
        select(WorkflowTask)
        .where(WorkflowTask.submission_id == sub.id, WorkflowTask.decision == "return", WorkflowTask.id < task.id)
        .order_by(WorkflowTask.id.desc())
    ))
    return TaskContext(
        task, sub, ind, unit.name if unit else task.subject_org_code, collection,
        task.state == "ready" and principal.has_role(task.role, task.assignee_org_code),
        report, review_diff(session, principal, task, sub, ind, masked=masked), returns, text,
        skipped_steps(session, [task.id]).get(task.id) if task.kind == "review" else None,
    )


# --- history --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryStep:
    task: WorkflowTask
    actor: User | None

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.task.state, self.task.state)


@dataclass(frozen=True)
class RevisionEntry:
    row: SubmissionRevision
    author: User | None


def _users(session: Session, ids: set[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))} if wanted else {}


def history_steps(session: Session, submission_id: int) -> Iterator[HistoryStep]:
    steps = history(session, submission_id)
    users = _users(session, {t.completed_by for t in steps})
    for t in steps:
        yield HistoryStep(t, users.get(t.completed_by) if t.completed_by else None)


def revision_entries(session: Session, rows: list[SubmissionRevision]) -> list[RevisionEntry]:
    users = _users(session, {r.created_by for r in rows})
    return [RevisionEntry(r, users.get(r.created_by) if r.created_by else None) for r in rows]
