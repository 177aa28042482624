"""定义管理: the provincial administrators' workbench for indicator sets and approval flows, and the
audit log. Pages work without JavaScript: every edit is a small POST form; a failed edit re-renders the
editor with what was typed and the reason.

The structured editor and the raw JSON editor edit the same stored draft (``engine.drafts``), so they
stay in sync by construction; every save shows the checker's problems at their field (JSON pointer) or
BPMN element id. The preview renders the generated form with the same macros the village clerk sees,
keeps what is typed in a hidden field between pages, and stores nothing.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from admin_ui import ui
from admin_ui.submission_pages import checking
from admin_ui.template_helpers import register_nav
from api.definitions import export_response
from engine import drafts
from engine.bpmn_svg import render_svg
from engine.db.models import AuditEntry, User
from engine.definition_diff import diff_indicator_sets, diff_processes
from engine.definitions import content_hash
from engine.definitions.json_text import parse_json
from engine.draft_edits import (
    AGGREGATE_LABELS,
    FIELD_TYPES,
    FILL_LABELS,
    PERIOD_LABELS,
    SENSITIVITY_LABELS,
    SEVERITY_LABELS,
    DocChange,
    apply_operation,
    document_changes,
    outline,
    place_problems,
    references_to,
    units,
    walk,
)
from engine.errors import BadInput, Conflict, DefinitionError, GrassrootsError
from engine.forms import apply_row_action, explanations_from, first_error_page, navigation, page_view, pages
from engine.validation import validate_submission
from web.auth import current_principal, roles_required
from web.db import db
from web.errors import status_for

ADMIN = "province_admin"
PREVIEW_DATA = "__preview_data__"
PREVIEW_EXPLANATIONS = "__preview_explanations__"

register_nav("定义管理", "ui.workbench_index", ADMIN)
register_nav("审计日志", "ui.audit_log", ADMIN)

# Endpoint of the collection launch page (admin_ui/collection_pages.py), linked when it is installed.
COLLECTION_LAUNCH_ENDPOINT = "ui.collection_new"

EDITOR_CHOICES = {
    "field_types": {code: ft.label for code, ft in FIELD_TYPES.items()},
    "sensitivity": SENSITIVITY_LABELS,
    "aggregates": AGGREGATE_LABELS,
    "fills": FILL_LABELS,
    "periods": PERIOD_LABELS,
    "severities": SEVERITY_LABELS,
    "mapping_kinds": {"rename": "改键名（可比）", "unit": "换单位（乘系数）", "split": "拆分", "merge": "合并",
                      "not_comparable": "口径改变（不可比）", "removed": "删除", "same": "仅改名称（口径未变，可比）",
                      "added": "新增（上一版本无对应）"},
}
STATUS_LABELS = drafts.STATUS_LABELS
# every action and object engine.audit.record is called with (tests/db/test_workbench_pages.py holds it to that)
AUDIT_ACTIONS = {"create_draft": "新建草稿", "update_draft": "修改草稿", "discard_draft": "删除草稿",
                 "publish": "发布", "retire": "停用", "accept_proposal": "采用映射建议",
                 "dismiss_proposal": "确认不对应（映射建议）", "export": "导出", "start": "发起采集", "close": "关闭采集",
                 "submit": "提交", "review_approve": "审核通过", "review_return": "退回修改",
                 "timer_fired": "期限到期（系统）",
                 # operators' commands (grassroots users|orgs …)
                 "create_user": "新建用户", "grant_role": "授予角色", "deactivate_user": "停用用户",
                 "reset_password": "重设密码", "issue_token": "发放接口令牌", "revoke_token": "吊销接口令牌",
                 "clear_login_failures": "解除登录限制",
                 "import_units": "导入区划单位", "close_unit": "撤销或合并单位"}
AUDIT_OBJECTS = {"indicator_set": "指标集", "process": "流程", "collection": "采集任务", "submission": "填报表",
                 "user": "用户", "org_unit": "区划单位", "login_limit": "登录限制"}


def _actor() -> int:
    return current_principal().user_id


def _launch_url() -> str | None:
    # Another module owns that page: link to it only when it is installed.
    return url_for(COLLECTION_LAUNCH_ENDPOINT) if COLLECTION_LAUNCH_ENDPOINT in current_app.view_functions else None


# --- list --------------------------------------------------------------------------------------


def _index(*, new_draft: dict[str, str] | None = None, new_error: str | None = None, status: int = 200) -> Any:
    return render_template(
        "workbench/index.html",
        indicator_sets=drafts.catalogue(db(), "indicator_set"),
        processes=drafts.catalogue(db(), "process"),
        status_labels=STATUS_LABELS,
        launch_url=_launch_url(),
        new_draft=new_draft or {},
        new_error=new_error,
    ), status


@ui.route("/definitions")
@roles_required(ADMIN)
def workbench_index():
    return _index()


@ui.route("/definitions/indicators/new", methods=["POST"])
@roles_required(ADMIN)
def workbench_new_indicator():
    start = request.form.get("start", "auto")
    try:
        checked = drafts.create_indicator_draft(db(), request.form.get("code", ""), start=start,
                                                title=request.form.get("title"), actor_id=_actor())
    except Conflict as err:
        flash(err.message, "warning")
        draft_id = err.details.get("draft_id")
        return redirect(url_for("ui.workbench_indicator", version_id=draft_id) if draft_id
                        else url_for("ui.workbench_index"))
    except BadInput as err:  # the page again, with what was typed beside the reason
        db().rollback()
        typed = {k: request.form.get(k, "") for k in ("code", "title", "start")}
        return _index(new_draft=typed, new_error=err.message, status=400)
    db().commit()
    scratch = start == "auto" and checked.row.version == 1
    flash(f"已新建草稿 {drafts.object_id(checked.row)}"
          + ("（还没有已发布的版本，从空白开始）" if scratch else ""), "success")
    return redirect(url_for("ui.workbench_indicator", version_id=checked.row.id))


# --- indicator-set editor ----------------------------------------------------------------------


def _problem_places(tree: list[Any], rules: list[Any], rule_problems: dict[int, list[Any]],
                    problems: list[Any]) -> list[tuple[str, str | None]]:
    """For each problem, (where, in words; its anchor on this page), from where ``place_problems`` put
    it: the rule by its id, the field by its key, else the JSON pointer (the list at the top links each
    finding to where it is fixed)."""
    owners = {id(p): (f"字段 {node.key}", f"f-{node.key}") for node in walk(tree) for p in node.problems}
    for index, placed in rule_problems.items():
        rule_id = rules[index].get("id") if index < len(rules) and isinstance(rules[index], dict) else None
        if rule_id:
            owners.update({id(p): (f"规则「{rule_id}」", f"rule-{rule_id}") for p in placed})
    # a correspondence left unsaid is settled in the publish box, where each has its buttons
    owners.update({id(p): ("发布 › 待确认的对应关系", "open-proposals") for p in problems if p.code == "correspondence"})
    return [owners.get(id(p), ((p.definition.pointer if p.definition else "") or "/", None)) for p in problems]


# Edits whose form shows what was typed: after a conflict, the choice to overwrite sits in that form
# (the buttons' edits — move, remove — get it in a small form of their own at the top of the page).
TYPED_OPERATIONS = frozenset({"set_meta", "add_section", "add_repeat", "add_field", "update_field", "add_rule",
                              "update_rule", "add_mapping"})


@dataclass(frozen=True)
class EditConflict:
    """A save refused because the draft changed since the user's page was loaded (another tab, another
    admin). The page keeps what the user typed and the hash it was based on — saving again is refused
    again — and shows what changed, until the user chooses: overwrite (posts ``overwrite_hash``, the
    newest draft's hash) or throw their edit away and load the newest draft."""

    yours: list[DocChange] | None  # what saving the user's content changes in the newest draft (None: unknown)
    elsewhere: list[DocChange] | None  # what changed since the user's page was loaded (None: unknown)


def _expected_hash(form: MultiDict) -> str | None:
    """The draft the save is based on: the page's, or after a conflict, the newest draft's hash that the
    user chose to overwrite (the 以我的内容覆盖 button)."""
    return form.get("overwrite_hash") or form.get("expected_hash") or None


def _changes_by(content: Any, operation: dict[str, Any]) -> list[DocChange] | None:
    doc = copy.deepcopy(content)
    try:
        apply_operation(doc, operation)
    except BadInput:
        return None
    return document_changes(content, doc)


def _changes_since(base_text: str | None, base_hash: str | None, content: Any) -> list[DocChange] | None:
    """What changed in the stored draft since the user's page was loaded, from the copy the raw editor
    carries (``base_content``), when that copy is the version the user's hash names."""
    try:
        base = json.loads(base_text or "")
    except ValueError:
        return None
    return document_changes(base, content) if base_hash and content_hash(base) == base_hash else None


def _removal(row: Any, operation: dict[str, Any]) -> dict[str, Any] | None:
    """What a 删除 button would remove and what uses it, for the confirmation step (None: nothing by
    that name, the edit itself says so)."""
    if operation.get("op") == "remove_rule":
        rules = row.content.get("x-rules", []) if isinstance(row.content, dict) else []
        rule = next((r for r in rules if isinstance(r, dict) and r.get("id") == operation.get("id")), None)
        return None if rule is None else {"what": "规则", "title": rule.get("message") or rule.get("id"),
                                          "key": rule.get("id"), "inside": 0, "shared": False, "references": []}
    key = str(operation.get("key") or "")
    node = next((n for n in walk(outline(row.content)) if n.key == key), None)
    if node is None:
        return None
    what = {"grid": "表格", "grid_row": "表格的一行", "repeat": "明细表", "page": "分组", "section": "分组"}.get(
        node.kind, "列" if node.in_grid else "字段")
    return {"what": what, "title": node.title, "key": key, "inside": sum(1 for _ in walk(node.children)),
            "shared": node.in_grid and node.shared_by > 1, "references": references_to(row.content, key)}


@dataclass(frozen=True)
class PublishBox:
    """What the publish box shows again after a post from it: the typed change note and tick (a refusal
    or a settled proposal must not lose them), and what happened (``error`` or ``notice``)."""

    change_note: str = ""
    confirm: bool = False
    error: str | None = None
    notice: str | None = None


def _publish_box(form: MultiDict, *, error: str | None = None, notice: str | None = None) -> PublishBox:
    return PublishBox(form.get("change_note", ""), form.get("confirm") == "1", error, notice)


def _editor(row: Any, *, status: int = 200, posted: dict[str, Any] | None = None, raw_text: str | None = None,
            error: str | None = None, posted_hash: str | None = None, raw_base: str | None = None,
            conflict: EditConflict | None = None, removal: dict[str, Any] | None = None,
            publish: PublishBox | None = None) -> Any:
    """The editor page; after a failed save, ``posted`` (a structured edit) or ``raw_text`` (the JSON
    editor's text) is what the user sent, shown again with the hash it was based on (``posted_hash``)."""
    problems = drafts.check_indicator_row(db(), row)
    tree = outline(row.content)
    rule_problems, general = place_problems(tree, problems)
    rules = row.content.get("x-rules", []) if isinstance(row.content, dict) else []
    versions = drafts.catalogue(db(), "indicator_set").get(row.code, [])
    editable = row.status == "draft"
    stored_text = json.dumps(row.content, ensure_ascii=False, indent=2)
    return render_template(
        "workbench/indicator.html",
        row=row,
        tree=tree,
        problems=problems,
        rule_problems=rule_problems,
        general_problems=general,
        rules=rules,
        places=_problem_places(tree, rules, rule_problems, problems),
        mappings=(row.content.get("x-mappings") or {}).get("fields", []) if isinstance(row.content, dict) else [],
        raw_text=raw_text if raw_text is not None and editable else stored_text,
        # a published version shows what is stored; a text posted to it is shown apart, as not saved
        unsaved_text=raw_text if raw_text is not None and not editable else None,
        raw_hash=posted_hash if raw_text is not None and posted_hash else row.content_hash,
        raw_base=raw_base if raw_text is not None and raw_base else json.dumps(row.content, ensure_ascii=False),
        raw_conflict=conflict if raw_text is not None else None,
        posted={**posted, "_hash": posted_hash, "_conflict": conflict} if posted else {},
        typed_operations=TYPED_OPERATIONS,
        removal=removal,
        error=error,
        proposals=drafts.indicator_proposals(db(), row),
        publish=publish or PublishBox(),
        versions=versions,
        units=units(),
        choices=EDITOR_CHOICES,
        status_labels=STATUS_LABELS,
        launch_url=_launch_url(),
    ), status


@ui.route("/definitions/indicators/<int:version_id>")
@roles_required(ADMIN)
def workbench_indicator(version_id: int):
    return _editor(drafts.get_version(db(), "indicator_set", version_id))


def _operation(form: MultiDict) -> dict[str, Any]:
    """The posted edit as an operation: one value per name, a checkbox read with its hidden fallback."""
    operation: dict[str, Any] = {k: form.get(k) for k in form
                                 if k not in ("csrf_token", "expected_hash", "overwrite_hash")}
    for flag in ("required", "column_required"):
        if flag in form:
            operation[flag] = "1" in form.getlist(flag)
    return operation


@ui.route("/definitions/indicators/<int:version_id>/edit", methods=["POST"])
@roles_required(ADMIN)
def workbench_edit_indicator(version_id: int):
    operation = _operation(request.form)
    if operation.get("op") in ("remove_field", "remove_rule") and operation.pop("confirm", None) != "1":
        # 删除 first asks (without JavaScript: a page with the confirmation), saying what uses it
        row = drafts.get_version(db(), "indicator_set", version_id)
        removal = _removal(row, operation) if row.status == "draft" else None
        if removal is not None:
            return _editor(row, posted=operation, posted_hash=_expected_hash(request.form), removal=removal)
    try:
        checked = drafts.update_indicator_draft(db(), version_id, operations=[operation],
                                                expected_hash=_expected_hash(request.form), actor_id=_actor())
    except (BadInput, Conflict) as err:
        db().rollback()
        row = drafts.get_version(db(), "indicator_set", version_id)
        conflict = (EditConflict(yours=_changes_by(row.content, operation), elsewhere=None)
                    if isinstance(err, Conflict) and row.status == "draft" else None)
        return _editor(row, status=400 if isinstance(err, BadInput) else 409, posted=operation, error=err.message,
                       posted_hash=request.form.get("expected_hash"), conflict=conflict)
    db().commit()
    if request.form.get("overwrite_hash"):
        flash("已以您的内容覆盖最新草稿", "success")
    for note in checked.notes:
        flash(note, "warning")
    if operation.get("op") in ("remove_field", "remove_rule"):
        flash(f"已删除{'规则' if operation['op'] == 'remove_rule' else ''}「{operation.get('key') or operation.get('id')}」"
              + (f"，检查发现 {len(checked.problems)} 处问题，见页首" if checked.problems else ""), "success")
    anchor = operation.get("key") or operation.get("parent") or (
        operation.get("name") if operation.get("op") in ("add_section", "add_repeat") else "")
    return redirect(url_for("ui.workbench_indicator", version_id=version_id,
                            _anchor=f"f-{anchor}" if anchor else "editor"))


@ui.route("/definitions/indicators/<int:version_id>/raw", methods=["POST"])
@roles_required(ADMIN)
def workbench_raw_indicator(version_id: int):
    text = request.form.get("content", "")
    posted_hash, base = request.form.get("expected_hash"), request.form.get("base_content")
    try:
        content = parse_json(text)
        drafts.update_indicator_draft(db(), version_id, content=content,
                                      expected_hash=_expected_hash(request.form), actor_id=_actor())
    except (BadInput, Conflict) as err:
        db().rollback()
        row = drafts.get_version(db(), "indicator_set", version_id)
        conflict = (EditConflict(yours=document_changes(row.content, content),
                                 elsewhere=_changes_since(base, posted_hash, row.content))
                    if isinstance(err, Conflict) and row.status == "draft" else None)
        return _editor(row, status=400 if isinstance(err, BadInput) else 409, raw_text=text, error=err.message,
                       posted_hash=posted_hash, raw_base=base, conflict=conflict)
    db().commit()
    flash("已以您的内容覆盖最新草稿" if request.form.get("overwrite_hash") else "已保存 JSON", "success")
    return redirect(url_for("ui.workbench_indicator", version_id=version_id, _anchor="raw"))


# --- preview -----------------------------------------------------------------------------------


def _preview_data(form: MultiDict, name: str = PREVIEW_DATA) -> dict[str, Any]:
    try:
        data = json.loads(form.get(name) or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


@ui.route("/definitions/indicators/<int:version_id>/preview", methods=["GET", "POST"])
@roles_required(ADMIN)
def workbench_preview(version_id: int):
    row = drafts.get_version(db(), "indicator_set", version_id)
    try:
        ind = drafts.preview_model(db(), row)
    except DefinitionError as err:
        return render_template("workbench/preview.html", row=row, view=None, problems=err.problems), 200
    data: dict[str, Any] = {}
    explanations: dict[str, str] = {}
    wanted = request.args.get("page", "1")
    number: int | str = int(wanted) if wanted.isdigit() else wanted  # a page number or a section key
    check = checking()
    submitted = False
    if request.method == "POST":
        data = _preview_data(request.form)
        explanations = {k: str(v) for k, v in _preview_data(request.form, PREVIEW_EXPLANATIONS).items()}
        explanations = explanations_from(request.form, explanations)
        current = pages(ind)[min(max(request.form.get("__page__", 1, type=int), 1), len(pages(ind))) - 1]
        data, _ = apply_row_action(ind, request.form, data=data, page=current)
        nav = navigation(request.form, current=current.number, total=len(pages(ind)))
        number = nav.page
        submitted = nav.kind == "submit"
    # as on the clerk's fill pages: a failed 提交 opens the first page with an error, and from then on
    # (?check=1) every page shows the results, the steps their counts
    result = validate_submission(ind, data, explanations=explanations) if check or submitted else None
    if submitted and not result.ok:
        number, check = first_error_page(ind, result), True
    view = page_view(ind, data, number, result=result, explanations=explanations)
    return render_template("workbench/preview.html", row=row, view=view, result=result, problems=[],
                           submitted=submitted, preview_data=json.dumps(data, ensure_ascii=False),
                           preview_field=PREVIEW_DATA, explanations_field=PREVIEW_EXPLANATIONS,
                           preview_explanations=json.dumps(explanations, ensure_ascii=False),
                           action=url_for("ui.workbench_preview", version_id=row.id, check="1" if check else None))


# --- compare -----------------------------------------------------------------------------------


def _compare_pair(kind: str, code: str) -> tuple[list[Any], Any, Any]:
    versions = [u.row for u in drafts.catalogue(db(), kind).get(code, [])]
    if not versions:
        raise BadInput(f"没有 {code} 的版本")
    by_id = {r.id: r for r in versions}
    new = by_id.get(request.args.get("to", type=int)) or versions[0]
    older = [r for r in versions if r.version < new.version]
    old = by_id.get(request.args.get("from", type=int)) or (older[0] if older else new)
    return versions, old, new


@ui.route("/definitions/indicators/compare/<code>")
@roles_required(ADMIN)
def workbench_compare_indicators(code: str):
    versions, old, new = _compare_pair("indicator_set", code)
    diff, problem = None, None
    try:
        diff = diff_indicator_sets(drafts.preview_model(db(), old), drafts.preview_model(db(), new))
    except DefinitionError as err:
        problem = f"{err.message}：请先在编辑器中修正，再比较"
    return render_template("workbench/compare_indicators.html", code=code, versions=versions, old=old, new=new,
                           diff=diff, problem=problem, status_labels=STATUS_LABELS,
                           mapping_kinds=EDITOR_CHOICES["mapping_kinds"])


def _back(form: MultiDict) -> str | None:
    back = str(form.get("back") or "")
    return back if back.startswith("/definitions/") else None


@ui.route("/definitions/indicators/<int:version_id>/proposals", methods=["POST"])
@roles_required(ADMIN)
def workbench_resolve_proposal(version_id: int):
    """Accept or dismiss one open proposal (the button's name is the decision, its value the proposal).
    From the publish box the page comes back with the typed change note; from the compare page, ``back``."""
    decision = next((d for d in drafts.DECISIONS if request.form.get(d)), "")
    back = _back(request.form)
    try:
        checked = drafts.resolve_proposal(db(), version_id, request.form.get(decision, ""), decision,
                                          expected_hash=request.form.get("expected_hash") or None, actor_id=_actor())
    except (BadInput, Conflict) as err:
        db().rollback()
        if back:
            flash(err.message, "error")
            return redirect(back)
        return _editor(drafts.get_version(db(), "indicator_set", version_id),
                       status=400 if isinstance(err, BadInput) else 409,
                       publish=_publish_box(request.form, error=err.message))
    db().commit()
    notice = f"已记录（写入与上一版本的映射，并记入审计日志）：{checked.notes[0]}"
    if back:
        flash(notice, "success")
        return redirect(back)
    return _editor(checked.row, publish=_publish_box(request.form, notice=notice))


# --- lifecycle (either kind) --------------------------------------------------------------------

VIEW_ENDPOINTS = {"indicator_set": "ui.workbench_indicator", "process": "ui.workbench_process"}
KIND_SLUGS = {"indicators": "indicator_set", "processes": "process"}


def _kind(slug: str) -> str:
    if slug not in KIND_SLUGS:
        raise BadInput("未知的定义类型")
    return KIND_SLUGS[slug]


def _confirmed(what: str) -> None:
    if request.form.get("confirm") != "1":
        raise BadInput(f"请勾选确认后再{what}")


@ui.route("/definitions/<slug>/<int:version_id>/publish", methods=["POST"])
@roles_required(ADMIN)
def workbench_publish(slug: str, version_id: int):
    kind = _kind(slug)
    try:
        _confirmed("发布")
        drafts.publish_draft(db(), kind, version_id, change_note=request.form.get("change_note"), actor_id=_actor())
    except GrassrootsError as err:  # the page again, the typed change note kept beside the reason
        db().rollback()
        owed = err.details.get("proposals")  # the message says what to do with them already
        message = err.message if not err.problems or owed else f"{err.message}，请先修正下列错误"
        return PAGES[kind](drafts.get_version(db(), kind, version_id), status=status_for(err),
                           publish=_publish_box(request.form, error=message))
    db().commit()
    flash("已发布：此版本从此不可修改，可用于新的采集任务", "success")
    return redirect(url_for(VIEW_ENDPOINTS[kind], version_id=version_id))


@ui.route("/definitions/<slug>/<int:version_id>/retire", methods=["POST"])
@roles_required(ADMIN)
def workbench_retire(slug: str, version_id: int):
    kind = _kind(slug)
    try:
        _confirmed("停用")
        drafts.retire_version(db(), kind, version_id, change_note=request.form.get("change_note"), actor_id=_actor())
    except (BadInput, Conflict) as err:
        db().rollback()
        flash(err.message, "error")
        return redirect(url_for(VIEW_ENDPOINTS[kind], version_id=version_id))
    db().commit()
    flash("已停用：不能再用于新的采集任务，进行中的任务不受影响", "success")
    return redirect(url_for(VIEW_ENDPOINTS[kind], version_id=version_id))


@ui.route("/definitions/<slug>/<int:version_id>/discard", methods=["POST"])
@roles_required(ADMIN)
def workbench_discard(slug: str, version_id: int):
    kind = _kind(slug)
    _confirmed("删除草稿")
    drafts.discard_draft(db(), kind, version_id, actor_id=_actor())
    db().commit()
    flash("草稿已删除", "success")
    return redirect(url_for("ui.workbench_index"))


@ui.route("/definitions/<slug>/<int:version_id>/export")
@roles_required(ADMIN)
def workbench_export(slug: str, version_id: int):
    kind = _kind(slug)
    return export_response(kind, drafts.get_version(db(), kind, version_id))


@ui.route("/definitions/<slug>/<int:version_id>/export", methods=["POST"])
@roles_required(ADMIN)
def workbench_export_to_tree(slug: str, version_id: int):
    """Write the file into the server's definitions/ folder (what `grassroots definitions export` does)."""
    kind = _kind(slug)
    row = drafts.get_version(db(), kind, version_id)
    root = current_app.config["GRASSROOTS_SETTINGS"].definitions_path
    try:
        target = drafts.export_to(row, root, actor_id=_actor(), session=db())
    except Conflict as err:
        flash(err.message, "error")
        return redirect(url_for(VIEW_ENDPOINTS[kind], version_id=version_id))
    db().commit()
    flash(f"已导出到 {target}", "success")
    return redirect(url_for(VIEW_ENDPOINTS[kind], version_id=version_id))


# --- processes ---------------------------------------------------------------------------------


@ui.route("/definitions/processes/upload", methods=["POST"])
@roles_required(ADMIN)
def workbench_upload_process():
    upload = request.files.get("bpmn")
    data = upload.read() if upload else b""
    try:
        checked = drafts.upload_process_draft(db(), data, code=request.form.get("code") or None, actor_id=_actor())
    except BadInput as err:
        flash(err.message, "error")
        return redirect(url_for("ui.workbench_index", _anchor="processes"))
    db().commit()
    flash(f"已上传为草稿 {drafts.object_id(checked.row)}"
          + (f"，检查发现 {len(checked.problems)} 处问题" if checked.problems else "，检查通过"),
          "warning" if checked.problems else "success")
    return redirect(url_for("ui.workbench_process", version_id=checked.row.id))


@ui.route("/definitions/processes/<int:version_id>")
@roles_required(ADMIN)
def workbench_process(version_id: int):
    return _process_page(drafts.get_version(db(), "process", version_id))


def _process_page(row: Any, *, status: int = 200, publish: PublishBox | None = None) -> Any:
    checked = drafts.Checked(row, drafts.check_process_row(db(), row))
    marked = [p.definition.element_id for p in checked.problems if p.definition and p.definition.element_id]
    try:
        diagram, diagram_error = render_svg(row.bpmn.encode("utf-8"), marked), None
    except BadInput as err:
        diagram, diagram_error = None, err.message
    return render_template("workbench/process.html", row=row, problems=checked.problems, diagram=diagram,
                           diagram_error=diagram_error, status_labels=STATUS_LABELS,
                           publish=publish or PublishBox(),
                           versions=drafts.catalogue(db(), "process").get(row.code, [])), status


# the page a publish refusal shows again, by kind
PAGES = {"indicator_set": _editor, "process": _process_page}


@ui.route("/definitions/processes/compare/<code>")
@roles_required(ADMIN)
def workbench_compare_processes(code: str):
    versions, old, new = _compare_pair("process", code)
    diff = diff_processes(old.bpmn.encode("utf-8"), new.bpmn.encode("utf-8"))
    return render_template("workbench/compare_processes.html", code=code, versions=versions, old=old, new=new,
                           diff=diff, status_labels=STATUS_LABELS)


# --- audit -------------------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 100


@ui.route("/audit")
@roles_required(ADMIN)
def audit_log():
    object_type = request.args.get("type") or None
    page = max(request.args.get("page", 1, type=int), 1)
    query = select(AuditEntry, User).outerjoin(User, User.id == AuditEntry.actor_id)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    rows = db().execute(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                        .offset((page - 1) * AUDIT_PAGE_SIZE).limit(AUDIT_PAGE_SIZE + 1)).all()
    return render_template("workbench/audit.html", entries=rows[:AUDIT_PAGE_SIZE],
                           more=len(rows) > AUDIT_PAGE_SIZE, page=page, object_type=object_type,
                           actions=AUDIT_ACTIONS, objects=AUDIT_OBJECTS)
