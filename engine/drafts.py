"""The life of a definition version in the database: draft → published → retired.

A draft is a row with status ``draft`` that anyone with the province-admin role may change; every save
is checked by the same checker as ``grassroots definitions check`` and stored even when it has problems
(so nothing typed is lost), but only a draft without problems can be published. Publishing goes through
``engine.publishing`` (which makes the row immutable); retiring keeps the row and its history but stops
new collections from using it. Every change is audited. One open draft per code keeps the version
numbers — and the version a draft's ``x-mappings`` map from — unambiguous.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from engine.audit import record
from engine.db.models import Collection, IndicatorSetVersion, ProcessInstance, ProcessVersion, Submission
from engine.definitions import (
    IndicatorSet,
    check_indicator_set,
    content_hash,
    load_indicator_set,
    open_proposals,
)
from engine.definitions.proposals import Proposal
from engine.draft_edits import apply_operation
from engine.errors import BadInput, Conflict, DefinitionError, NotFound, Problem
from engine.publishing import (
    Published,
    indicator_set_from_row,
    previous_process_id,
    publish_indicator_set,
    publish_process,
)
from engine.workflows.definition import CODE_PATTERN, check_process_definition
from engine.workflows.vocabulary import BPMN_NS
from engine.workflows.xml_input import parse_xml, syntax_message

Row = IndicatorSetVersion | ProcessVersion


@dataclass(frozen=True)
class Kind:
    model: type[Row]
    object_type: str  # audit object type
    label: str
    source: str  # file path pattern under definitions/


KINDS: dict[str, Kind] = {
    "indicator_set": Kind(IndicatorSetVersion, "indicator_set", "指标集",
                          "definitions/indicators/{code}/v{version}.json"),
    "process": Kind(ProcessVersion, "process", "流程", "definitions/processes/{code}/v{version}.bpmn"),
}
KIND_OF_MODEL = {kind.model: kind for kind in KINDS.values()}


@dataclass
class Checked:
    """A stored version and what the checker says about it (empty: publishable)."""

    row: Row
    problems: list[Problem]
    notes: tuple[str, ...] = ()  # what a structured edit did beyond what was asked (engine.draft_edits)

    @property
    def ok(self) -> bool:
        return not self.problems


def object_id(row: Row) -> str:
    return f"{row.code}/v{row.version}"


def source_of(row: Row) -> str:
    return row.source or KIND_OF_MODEL[type(row)].source.format(code=row.code, version=row.version)


# --- catalogue ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionUse:
    row: Row
    collections: tuple[Collection, ...]
    submissions: int  # indicator sets: submissions on it; processes: process instances


def catalogue(session: Session, kind: str) -> dict[str, list[VersionUse]]:
    """Every version by code (newest first) with the collections that use it and how many reports."""
    model = KINDS[kind].model
    link, counted, count_link = (
        (Collection.indicator_set_version_id, Submission.id, Submission.indicator_set_version_id)
        if kind == "indicator_set"
        else (Collection.process_version_id, ProcessInstance.id, ProcessInstance.process_version_id)
    )
    counts = dict(session.execute(select(count_link, func.count(counted)).group_by(count_link)).all())
    collections: dict[int, list[Collection]] = {}
    for c in session.scalars(select(Collection).order_by(Collection.id)):
        collections.setdefault(getattr(c, link.key), []).append(c)
    result: dict[str, list[VersionUse]] = {}
    for row in session.scalars(select(model).order_by(model.code, model.version.desc())):
        result.setdefault(row.code, []).append(
            VersionUse(row, tuple(collections.get(row.id, ())), counts.get(row.id, 0))
        )
    return result


def get_version(session: Session, kind: str, version_id: int, *, lock: bool = False) -> Row:
    row = session.get(KINDS[kind].model, version_id, with_for_update=True if lock else None)
    if row is None:
        raise NotFound(f"{KINDS[kind].label}版本 {version_id} 不存在")
    return row


def _next_version(session: Session, model: type[Row], code: str) -> int:
    return (session.scalar(select(func.max(model.version)).where(model.code == code)) or 0) + 1


def open_draft(session: Session, kind: str, code: str) -> Row | None:
    model = KINDS[kind].model
    return session.scalar(select(model).where(model.code == code, model.status == "draft"))


def _require_no_draft(session: Session, kind: str, code: str) -> None:
    existing = open_draft(session, kind, code)
    if existing is not None:
        raise Conflict(f"{code} 已有未发布的草稿（第 {existing.version} 版），请继续编辑它或先删除",
                       details={"draft_id": existing.id, "version": existing.version})


def _require_draft(row: Row) -> None:
    if row.status != "draft":
        raise Conflict(f"{object_id(row)} 已{'发布' if row.status == 'published' else '停用'}，内容不能再改；"
                       "请基于它新建草稿")


def _require_note(note: str | None, what: str) -> str:
    if not (note or "").strip():
        raise BadInput(f"请填写{what}说明")
    return note.strip()


# --- indicator sets ------------------------------------------------------------------------------


def previous_indicator_set(session: Session, code: str, version: int) -> IndicatorSet | None:
    """The version a draft's mappings map from: the newest published (or retired) one below it."""
    row = session.scalar(
        select(IndicatorSetVersion)
        .where(IndicatorSetVersion.code == code, IndicatorSetVersion.version < version,
               IndicatorSetVersion.status.in_(("published", "retired")))
        .order_by(IndicatorSetVersion.version.desc()).limit(1)
    )
    return indicator_set_from_row(session, row) if row is not None else None


def _scratch(code: str, version: int, title: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "x-code": code,
        "x-version": version,
        "x-period": "year",
        "properties": {"basic": {"type": "object", "title": "基本信息", "properties": {}}},
    }


def _from_base(base: IndicatorSetVersion, version: int) -> dict[str, Any]:
    """A copy of ``base`` numbered as the new version; its mappings were from base's predecessor."""
    doc = copy.deepcopy(base.content)
    doc.pop("x-mappings", None)
    if "x-version" in doc:
        doc["x-version"] = version
    if isinstance(doc.get("$id"), str) and doc["$id"].endswith(f"/v{base.version}.json"):
        doc["$id"] = doc["$id"][: -len(f"v{base.version}.json")] + f"v{version}.json"
    return doc


def create_indicator_draft(
    session: Session, code: str, *, start: str = "latest", title: str | None = None, actor_id: int | None = None
) -> Checked:
    """A new draft of ``code``: a copy of the latest published version (``start="latest"``), an
    almost empty set (``start="scratch"``, also how a brand-new set begins), or whichever of the two
    applies (``start="auto"``: the latest published version if there is one)."""
    code = (code or "").strip()
    if not CODE_PATTERN.fullmatch(code) or len(code) < 2:
        raise BadInput("指标集编码只能用小写字母、数字和下划线，以字母开头，至少 2 个字符")
    _require_no_draft(session, "indicator_set", code)
    version = _next_version(session, IndicatorSetVersion, code)
    base = session.scalar(
        select(IndicatorSetVersion)
        .where(IndicatorSetVersion.code == code, IndicatorSetVersion.status == "published")
        .order_by(IndicatorSetVersion.version.desc()).limit(1)
    )
    if start == "auto":
        start = "latest" if base is not None else "scratch"
    starters = {
        "latest": lambda: _from_base(base, version) if base is not None else None,
        "scratch": lambda: _scratch(code, version, (title or "").strip() or "新指标集"),
    }
    if start not in starters:
        raise BadInput("新草稿只能基于最新发布版（latest）、从空白开始（scratch）或自动选择（auto）")
    doc = starters[start]()
    if doc is None:
        raise BadInput(f"{code} 还没有已发布的版本，请从空白开始")
    if title and title.strip():
        doc["title"] = title.strip()
    row = IndicatorSetVersion(code=code, version=version, status="draft")
    session.add(row)
    _store_indicator(row, doc)
    session.flush()
    record(session, actor_id, "create_draft", "indicator_set", object_id(row),
           {"start": start, "base_version": base.version if start == "latest" and base else None})
    return Checked(row, check_indicator_row(session, row))


def _store_indicator(row: IndicatorSetVersion, doc: Any) -> None:
    row.content = doc
    # written even when equal as data: SQLAlchemy compares JSON values with ==, for which a dict with
    # its fields in another order is the same, and a moved field would not be stored
    flag_modified(row, "content")
    row.content_hash = content_hash(doc)
    title = doc.get("title") if isinstance(doc, dict) else None
    row.title = (title if isinstance(title, str) and title.strip() else row.code)[:200]
    row.source = KINDS["indicator_set"].source.format(code=row.code, version=row.version)


def check_indicator_row(session: Session, row: IndicatorSetVersion) -> list[Problem]:
    return check_indicator_set(row.content, source_of(row), code=row.code, version=row.version,
                               previous=previous_indicator_set(session, row.code, row.version))


def update_indicator_draft(
    session: Session,
    version_id: int,
    *,
    content: Any = None,
    operations: Sequence[dict[str, Any]] | None = None,
    expected_hash: str | None = None,
    actor_id: int | None = None,
) -> Checked:
    """Replace the draft's document (raw) or apply structured operations to it; saved with problems.

    ``expected_hash`` is the content hash the editor started from: a stale editor gets a Conflict
    instead of silently overwriting someone else's save.
    """
    row = get_version(session, "indicator_set", version_id, lock=True)
    _require_draft(row)
    if expected_hash and expected_hash != row.content_hash:
        # not "by someone else": it is as often the same person in another tab
        raise Conflict("草稿已在别处被修改，本次修改未保存", details={"content_hash": row.content_hash})
    if (content is None) == (operations is None):
        raise BadInput("请提交完整的定义（content）或编辑操作（operations）之一")
    notes: list[str] = []
    if operations is not None:
        doc = copy.deepcopy(row.content)
        previous = previous_indicator_set(session, row.code, row.version)
        for operation in operations:
            extra = {"from_version": previous.version} if previous and operation.get("op") == "add_mapping" else {}
            notes += apply_operation(doc, {**extra, **operation})
    else:
        doc = content
    if not isinstance(doc, dict):
        raise BadInput("指标集定义必须是 JSON 对象")
    _store_indicator(row, doc)
    session.flush()
    record(session, actor_id, "update_draft", "indicator_set", object_id(row),
           {"content_hash": row.content_hash,
            "operations": [o.get("op") for o in operations] if operations is not None else ["raw"]})
    return Checked(row, check_indicator_row(session, row), tuple(notes))


def preview_model(session: Session, row: IndicatorSetVersion) -> IndicatorSet:
    """The form model of any version, for the preview. Published rows come from the shared cache; a
    draft is loaded without its predecessor, so only a mapping problem does not block trying the form."""
    if row.status != "draft":
        return indicator_set_from_row(session, row)
    return load_indicator_set(row.content, source_of(row), code=row.code, version=row.version)


def indicator_proposals(session: Session, row: IndicatorSetVersion) -> list[Proposal]:
    """What a draft still owes the version it maps from: one proposal per field of that version it
    moved, removed, retitled, re-typed or re-united without a mapping (none for a published version)."""
    if row.status != "draft":
        return []
    return open_proposals(row.content, previous_indicator_set(session, row.code, row.version), source_of(row))


@dataclass(frozen=True)
class Decision:
    action: str  # audit action
    mappings: Callable[[Proposal], tuple[dict[str, Any], ...]]  # what it writes (empty: does not apply)
    label: Callable[[Proposal], str]  # its button
    refused: str  # why, when it does not apply


# accept: the proposed mapping; dismiss (确认不对应 / 口径未变): what says there is no such correspondence
DECISIONS: dict[str, Decision] = {
    "accept": Decision("accept_proposal", lambda p: (p.mapping,), lambda p: p.accept_label, ""),
    "dismiss": Decision("dismiss_proposal", lambda p: p.dismiss, lambda p: p.dismiss_label,
                        "只能采用建议或另行声明映射（类型或单位改变后，与上一版本的数据不能当作同一指标）"),
}


def resolve_proposal(
    session: Session,
    version_id: int,
    proposal_id: str,
    decision: str,
    *,
    expected_hash: str | None = None,
    actor_id: int | None = None,
) -> Checked:
    """Settle one open proposal of a draft by writing its mappings into ``x-mappings``: the decision
    travels with the version, a re-check does not raise it again, and the audit log says who decided.
    The result's note says what was decided about what."""
    row = get_version(session, "indicator_set", version_id, lock=True)
    _require_draft(row)
    if expected_hash and expected_hash != row.content_hash:
        raise Conflict("草稿已在别处被修改，本次操作未保存", details={"content_hash": row.content_hash})
    chosen = DECISIONS.get(decision)
    if chosen is None:
        raise BadInput("请选择采用建议（accept）或确认不对应（dismiss）", data_path="decision")
    open_now = indicator_proposals(session, row)
    proposal = next((p for p in open_now if p.key == proposal_id), None)
    if proposal is None:
        raise Conflict(f"「{proposal_id}」没有待确认的对应关系（可能已处理，或草稿已改）",
                       details={"open": [p.key for p in open_now]})
    mappings = [dict(m) for m in chosen.mappings(proposal)]
    if not mappings:
        raise BadInput(f"{proposal.reason}：{chosen.refused}", data_path=proposal.key)
    previous = previous_indicator_set(session, row.code, row.version)
    doc = copy.deepcopy(row.content)
    for mapping in mappings:
        apply_operation(doc, {"op": "add_mapping", "from_version": previous.version if previous else None, **mapping})
    _store_indicator(row, doc)
    session.flush()
    record(session, actor_id, chosen.action, "indicator_set", object_id(row),
           {"proposal": proposal.key, "reason": proposal.reason, "mappings": mappings,
            "content_hash": row.content_hash})
    return Checked(row, check_indicator_row(session, row), (f"{chosen.label(proposal)}。{proposal.reason}",))


def publish_indicator_draft(
    session: Session, version_id: int, *, change_note: str | None, actor_id: int | None = None
) -> Published:
    row = get_version(session, "indicator_set", version_id, lock=True)
    _require_draft(row)
    note = _require_note(change_note, "变更")
    problems = check_indicator_row(session, row)
    if problems:
        owed = indicator_proposals(session, row)
        message = f"{object_id(row)} 还有 {len(problems)} 处错误，不能发布" + (
            f"：与上一版本的对应关系有 {len(owed)} 项待确认，请逐项采用建议或确认不对应" if owed else "")
        raise DefinitionError(message, problems=problems, details={"proposals": [p.to_json() for p in owed]})
    return publish_indicator_set(session, row.content, code=row.code, version=row.version,
                                 source=source_of(row), actor_id=actor_id, change_note=note)


# --- processes -----------------------------------------------------------------------------------


def _process_identity(bpmn: bytes) -> tuple[str | None, str | None, str | None]:
    """(process id, a title, why the XML cannot be read) read from the XML without trusting it (the
    checker reports its problems)."""
    try:
        root = parse_xml(bpmn)
    except etree.XMLSyntaxError as err:
        return None, None, syntax_message(err, bpmn)
    process = root.find(f"{{{BPMN_NS}}}process")
    participant = root.find(f".//{{{BPMN_NS}}}participant")
    if process is None:
        return None, None, None
    title = (participant.get("name") if participant is not None else None) or process.get("name")
    return process.get("id"), title, None


def _store_process(row: ProcessVersion, bpmn: bytes, title: str | None) -> None:
    try:
        row.bpmn = bpmn.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("BPMN 文件必须是 UTF-8 编码") from None
    row.content_hash = content_hash_bytes(bpmn)
    row.title = (title or row.code)[:200]
    row.source = KINDS["process"].source.format(code=row.code, version=row.version)


def content_hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_process_row(session: Session, row: ProcessVersion) -> list[Problem]:
    return check_process_definition(row.bpmn.encode("utf-8"), source_of(row), code=row.code, version=row.version,
                                    previous_process_id=previous_process_id(session, row.code, row.version))


def upload_process_draft(
    session: Session, bpmn: bytes, *, code: str | None = None, actor_id: int | None = None
) -> Checked:
    """A BPMN file from a modeller as the next version's draft (replacing the open draft, if any).
    The code defaults to the process id, which stays the same in every version."""
    if not bpmn.strip():
        raise BadInput("请选择要上传的 BPMN 文件")
    process_id, title, unreadable = _process_identity(bpmn)
    code = (code or process_id or "").strip()
    if not CODE_PATTERN.fullmatch(code):
        if unreadable:  # the code was not given and the file that would name it is broken: say the latter
            raise BadInput(f"文件不是有效的 BPMN 文件（{unreadable}），请检查文件是否完整")
        raise BadInput("无法确定流程编码：请填写编码（小写字母、数字、下划线），或检查文件中的 process id")
    row = open_draft(session, "process", code)
    action = "update_draft"
    if row is None:
        row = ProcessVersion(code=code, version=_next_version(session, ProcessVersion, code), status="draft")
        session.add(row)
        action = "create_draft"
    _store_process(row, bpmn, title)
    session.flush()
    record(session, actor_id, action, "process", object_id(row), {"content_hash": row.content_hash})
    return Checked(row, check_process_row(session, row))


def update_process_draft(
    session: Session, version_id: int, bpmn: bytes, *, actor_id: int | None = None
) -> Checked:
    row = get_version(session, "process", version_id, lock=True)
    _require_draft(row)
    _store_process(row, bpmn, _process_identity(bpmn)[1])
    session.flush()
    record(session, actor_id, "update_draft", "process", object_id(row), {"content_hash": row.content_hash})
    return Checked(row, check_process_row(session, row))


def publish_process_draft(
    session: Session, version_id: int, *, change_note: str | None, actor_id: int | None = None
) -> Published:
    row = get_version(session, "process", version_id, lock=True)
    _require_draft(row)
    note = _require_note(change_note, "变更")
    problems = check_process_row(session, row)
    if problems:
        raise DefinitionError(f"{object_id(row)} 还有 {len(problems)} 处错误，不能发布", problems=problems)
    return publish_process(session, row.bpmn.encode("utf-8"), code=row.code, version=row.version,
                           source=source_of(row), actor_id=actor_id, change_note=note)


# --- either kind ---------------------------------------------------------------------------------

CHECKERS = {"indicator_set": lambda session, row: check_indicator_row(session, row),
            "process": lambda session, row: check_process_row(session, row)}
PUBLISHERS = {"indicator_set": publish_indicator_draft, "process": publish_process_draft}


def check_version(session: Session, kind: str, version_id: int) -> Checked:
    row = get_version(session, kind, version_id)
    return Checked(row, CHECKERS[kind](session, row))


def publish_draft(
    session: Session, kind: str, version_id: int, *, change_note: str | None, actor_id: int | None = None
) -> Published:
    return PUBLISHERS[kind](session, version_id, change_note=change_note, actor_id=actor_id)


def retire_version(
    session: Session, kind: str, version_id: int, *, change_note: str | None, actor_id: int | None = None
) -> Row:
    """Stop offering a published version for new collections; running ones finish on it."""
    row = get_version(session, kind, version_id, lock=True)
    if row.status != "published":
        raise Conflict(f"只有已发布的版本可以停用（{object_id(row)} 当前是{STATUS_LABELS[row.status]}）")
    note = _require_note(change_note, "停用")
    row.status = "retired"
    session.flush()
    record(session, actor_id, "retire", KINDS[kind].object_type, object_id(row),
           {"change_note": note, "retired_at": dt.datetime.now(dt.UTC).isoformat()})
    return row


def discard_draft(session: Session, kind: str, version_id: int, *, actor_id: int | None = None) -> None:
    row = get_version(session, kind, version_id, lock=True)
    _require_draft(row)
    record(session, actor_id, "discard_draft", KINDS[kind].object_type, object_id(row),
           {"content_hash": row.content_hash})
    session.delete(row)
    session.flush()


STATUS_LABELS = {"draft": "草稿", "published": "已发布", "retired": "已停用"}


def export_text(row: Row) -> tuple[str, str]:
    """The version as file text, exactly as ``grassroots definitions export`` writes it, and its type."""
    if isinstance(row, IndicatorSetVersion):
        return json.dumps(row.content, ensure_ascii=False, indent=2) + "\n", "application/json"
    return row.bpmn, "application/xml"


def export_to(row: Row, definitions_root: Path, *, actor_id: int | None = None, session: Session) -> Path:
    """Write the version under ``definitions_root`` (``indicators/<code>/v<N>.json`` …). A different file
    already there is not overwritten: published files are the record, a clash needs a person."""
    relative = KIND_OF_MODEL[type(row)].source.format(code=row.code, version=row.version).split("/", 1)[1]
    target = definitions_root / relative
    text, _ = export_text(row)
    if target.exists() and target.read_text(encoding="utf-8") != text:
        raise Conflict(f"{relative} 已存在且内容不同，未覆盖；请先核对该文件")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    record(session, actor_id, "export", KIND_OF_MODEL[type(row)].object_type, object_id(row), {"path": relative})
    return target
