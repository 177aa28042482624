"""Collections pages (Chinese): list with completeness, launch form, completeness per child unit with
drill-down to a village's submission, a bar chart per level, roll-up tables and cross-version comparison.

Charts are server-rendered SVG (geometry computed here, drawn by a template macro): no JavaScript build.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from admin_ui import ui
from admin_ui.template_helpers import register_nav
from engine.collections import close_collection, start_collection
from engine.completeness import (
    china_today,
    completeness,
    default_unit,
    get_collection,
    require_unit,
    visible_collections_clause,
)
from engine.db.models import Collection, IndicatorSetVersion, OrgUnit, ProcessVersion, Submission
from engine.errors import BadInput, GrassrootsError, NotFound
from engine.exports import FORMATS
from engine.orgs import ancestor_at, level_of
from engine.roles import LEVEL_BY_NAME, LEVEL_LABELS, Level
from engine.rollups import (
    collection_stages,
    compare_units,
    earlier_collections,
    format_number,
    format_percent,
    get_stage,
    previous_collection,
    rollup_report,
)
from engine.submissions import readable_clause
from web.auth import current_principal, login_required, roles_required
from web.db import db
from web.params import id_param

register_nav("采集任务", "ui.collections_list", "province_admin")


# --- charts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    text: str  # the value as shown
    width: float  # px within the plot area
    y: int
    href: str | None = None


PLOT_WIDTH, LABEL_WIDTH = 420, 150  # px in the SVG's own coordinates (it scales to the page)


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    height: int
    plot_width: int = PLOT_WIDTH
    label_width: int = LABEL_WIDTH


def bar_chart(title: str, items: list[tuple[str, float | None, str, str | None]]) -> BarChart:
    """items: (label, value, shown text, link). Bars scale to the largest value; none/negative draw empty."""
    top = max((v for _, v, _, _ in items if v is not None and v > 0), default=0)
    bars = [
        Bar(label, text, (v / top * PLOT_WIDTH) if top and v is not None and v > 0 else 0, 8 + i * 28, href)
        for i, (label, v, text, href) in enumerate(items)
    ]
    return BarChart(title, bars, 16 + 28 * len(bars))


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


# --- list and launch ------------------------------------------------------------------------------------


@ui.route("/collections")
@login_required
def collections_list():
    principal = current_principal()
    session = db()
    rows = []
    for c in session.scalars(select(Collection).where(visible_collections_clause(principal))
                             .order_by(Collection.id.desc())):
        code = default_unit(principal, c)
        rows.append((c, session.get(OrgUnit, code), completeness(session, c, code, with_children=False).unit))
    return render_template("collections/list.html", rows=rows, pct=_pct)


def _iso_date(form: FlaskForm, field: StringField) -> None:
    try:
        dt.date.fromisoformat(field.data or "")
    except ValueError:
        raise ValidationError("请按“年-月-日”填写日期，如 2026-03-31") from None


def _one_of(label: str):  # noqa: ANN202 (a WTForms validator)
    def check(form: FlaskForm, field: SelectField) -> None:
        if not field.data or field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(f"请选择{label}")

    return check


class LaunchForm(FlaskForm):
    title = StringField("采集任务名称", validators=[DataRequired("请填写采集任务名称"), Length(max=200, message="名称不超过200个字符")])
    indicator_set_version = SelectField("指标集版本", validate_choice=False, validators=[_one_of("已发布的指标集版本")])
    process_version = SelectField("审批流程版本", validate_choice=False, validators=[_one_of("已发布的审批流程版本")])
    period = StringField("期别", validators=[DataRequired("请填写期别，如 2025、2025Q3 或 2025-10")])
    scope = StringField("采集范围（区划代码）", default="390000000000",
                        validators=[DataRequired("请填写采集范围的区划代码"), Regexp(r"^\d{12}$", message="区划代码必须是12位数字")])
    reporting_level = SelectField("填报层级", default="village", validate_choice=False,
                                  validators=[_one_of("填报层级")],
                                  choices=[SelectChoice(name, LEVEL_LABELS[lv]) for name, lv in LEVEL_BY_NAME.items()])
    # a collection starts on its opening day (its flow's deadlines run from the launch): today by default
    opens_on = StringField("开始日期", validators=[DataRequired("请填写开始日期"), _iso_date],
                           default=lambda: china_today().isoformat())
    deadline = StringField("截止日期", validators=[DataRequired("请填写截止日期"), _iso_date])
    # shown once the engine refused a launch beside running collections of the same set and period
    confirm_overlap = BooleanField("确认重复发起：知道范围重叠的单位会收到同一期的两份填报任务，仍要发起")

    def validate_deadline(self, field: StringField) -> None:
        try:
            opens, deadline = dt.date.fromisoformat(self.opens_on.data or ""), dt.date.fromisoformat(field.data)
        except ValueError:
            return  # the format error is reported by _iso_date
        if deadline < opens:
            raise ValidationError("截止日期不能早于开始日期")


# start_collection's parameter (an error's data_path) -> the launch form's field
FORM_FIELDS = {"title": "title", "indicator_set_version_id": "indicator_set_version",
               "process_version_id": "process_version", "period": "period", "scope_org_code": "scope",
               "reporting_level": "reporting_level", "opens_on": "opens_on", "deadline": "deadline",
               "confirm_overlap": "confirm_overlap"}


def _field_for(form: LaunchForm, data_path: str | None) -> Any:
    name = FORM_FIELDS.get(data_path or "")
    return getattr(form, name) if name else None


def _version_choices(model: type[IndicatorSetVersion] | type[ProcessVersion]) -> list[SelectChoice]:
    rows = db().scalars(select(model).where(model.status == "published").order_by(model.code, model.version.desc()))
    choices, seen = [SelectChoice("", "请选择…")], set()
    # no default: launching a province-wide collection on whichever set sorts first is a costly slip
    for r in rows:  # newest first within a code: the first one of a code is its newest, said before the launch
        newest = "，最新" if r.code not in seen else ""
        seen.add(r.code)
        choices.append(SelectChoice(str(r.id), f"{r.title}（{r.code} 第 {r.version} 版{newest}）"))
    return choices


def _scope_units() -> list[tuple[str, str]]:
    """(code, name) of the units a collection is usually launched over (province, cities, counties), for
    the scope box's suggestions: typing a name finds the code."""
    rows = db().execute(select(OrgUnit.code, OrgUnit.name)
                        .where(OrgUnit.level <= Level.COUNTY, OrgUnit.valid_to.is_(None)).order_by(OrgUnit.code))
    return [(code, name) for code, name in rows]


@ui.route("/collections/new", methods=["GET", "POST"])
@roles_required("province_admin")
def collection_new():
    form = LaunchForm()
    form.indicator_set_version.choices = _version_choices(IndicatorSetVersion)
    form.process_version.choices = _version_choices(ProcessVersion)
    problem = None
    if form.validate_on_submit():
        session = db()
        try:
            started = start_collection(
                session, title=form.title.data or "", indicator_set_version_id=int(form.indicator_set_version.data),
                process_version_id=int(form.process_version.data), period=(form.period.data or "").strip(),
                scope_org_code=form.scope.data or "", opens_on=dt.date.fromisoformat(form.opens_on.data),
                deadline=dt.date.fromisoformat(form.deadline.data),
                reporting_level=LEVEL_BY_NAME[form.reporting_level.data], actor_id=current_principal().user_id,
                confirm_overlap=bool(form.confirm_overlap.data),
            )
        except GrassrootsError as err:  # shown on the form; everything typed stays in the fields
            session.rollback()
            field = _field_for(form, err.data_path)
            if field is None:
                problem = err.message
            else:  # next to the field it is about, like the form's own checks
                field.errors = [*field.errors, err.message]
        else:
            session.commit()
            c = started.collection
            flash(f"已发起采集任务“{c.title}”，共 {started.submissions} 个填报单位" if started.created
                  else f"采集任务“{c.title}”已存在，未重复创建", "success" if started.created else "warning")
            if started.overlapping:
                flash("已确认重复发起，范围与进行中的采集任务重叠："
                      + "；".join(o.describe() for o in started.overlapping), "warning")
            for warning in started.warnings:
                flash(warning, "warning")
            return redirect(url_for("ui.collection_detail", collection_id=c.id))
    status = 400 if form.is_submitted() and (problem or any(f.errors for f in form)) else 200
    return render_template("collections/new.html", form=form, problem=problem, scope_units=_scope_units()), status


@ui.route("/collections/<int:collection_id>/close", methods=["POST"])
@roles_required("province_admin")
def collection_close(collection_id: int):
    session = db()
    collection = get_collection(session, current_principal(), collection_id)
    closed_now = close_collection(session, collection.id, actor_id=current_principal().user_id)
    session.commit()
    if closed_now:
        flash("采集任务已关闭，不能再填报或审核", "success")
    else:  # a second tab, or a reload of the post
        flash("采集任务早已关闭，无需再关", "info")
    return redirect(url_for("ui.collection_detail", collection_id=collection_id))


# --- one collection ---------------------------------------------------------------------------------


def _context(collection_id: int) -> tuple[Collection, OrgUnit, list[OrgUnit]]:
    """The collection, the unit asked for (checked against the caller's scope) and its visible ancestors."""
    principal = current_principal()
    session = db()
    collection = get_collection(session, principal, collection_id)
    code = request.args.get("org") or default_unit(principal, collection)
    require_unit(principal, code)
    unit = session.get(OrgUnit, code)
    if unit is None:
        raise NotFound("单位不存在或无权查看")
    trail_codes = [ancestor_at(code, lv) for lv in Level if lv < level_of(code)]
    trail = [u for u in session.scalars(select(OrgUnit).where(OrgUnit.code.in_(trail_codes)).order_by(OrgUnit.level))
             if principal.can_see(u.code)]
    return collection, unit, trail


@ui.route("/collections/<int:collection_id>")
@login_required
def collection_detail(collection_id: int):
    collection, unit, trail = _context(collection_id)
    session = db()
    report = completeness(session, collection, unit.code)
    submissions = {}
    if report.child_level == collection.reporting_level or unit.level == collection.reporting_level:
        codes = [c.code for c in report.children] or [unit.code]
        submissions = dict(session.execute(select(Submission.org_code, Submission.id).where(
            Submission.collection_id == collection.id, Submission.org_code.in_(codes),
            readable_clause(current_principal()))).all())
    chart = bar_chart(
        f"各{LEVEL_LABELS[report.child_level]}终审完成率" if report.child_level else "终审完成率",
        [(c.name, c.final_rate, _pct(c.final_rate),
          None if c.code in submissions else url_for("ui.collection_detail", collection_id=collection.id, org=c.code))
         for c in report.children],
    )
    return render_template("collections/detail.html", collection=collection, unit=unit, trail=trail,
                           report=report, statuses=report.statuses, chart=chart, pct=_pct, submissions=submissions,
                           others=earlier_collections(session, current_principal(), collection, unit.code),
                           level_labels=LEVEL_LABELS)


@ui.route("/collections/<int:collection_id>/rollups")
@login_required
def collection_rollups(collection_id: int):
    collection, unit, trail = _context(collection_id)
    report = rollup_report(db(), collection, unit.code, stage=request.args.get("stage"),
                           principal=current_principal(), with_breakdown=False)
    can_drill = unit.level < collection.reporting_level
    return render_template("collections/rollups.html", collection=collection, unit=unit, trail=trail, report=report,
                           stages=collection_stages(db(), collection), fmt=format_number, can_drill=can_drill)


@ui.route("/collections/<int:collection_id>/rollups/<path:key>")
@login_required
def collection_figure(collection_id: int, key: str):
    collection, unit, trail = _context(collection_id)
    if unit.level >= collection.reporting_level:
        raise BadInput("填报单位没有下级明细")
    report = rollup_report(db(), collection, unit.code, stage=request.args.get("stage"), keys=[key],
                           principal=current_principal())
    figure = report.figures[0]
    children = report.breakdown
    reporting = report.breakdown_level == collection.reporting_level

    def link(child) -> str | None:
        if reporting:
            return f"/submissions/{child.submission_id}" if child.submission_id else None
        return url_for("ui.collection_figure", collection_id=collection.id, key=key, org=child.code,
                       stage=report.stage.code)

    chart = bar_chart(
        f"{figure.label}：各{LEVEL_LABELS[report.breakdown_level]}（{report.stage.label}）",
        [(c.name, float(c.values[key]) if c.values[key] is not None else None, format_number(c.values[key]),
          link(c)) for c in children],
    )
    return render_template("collections/figure.html", collection=collection, unit=unit, trail=trail, report=report,
                           figure=figure, children=children, link=link, chart=chart, fmt=format_number,
                           stages=collection_stages(db(), collection), reporting=reporting,
                           level_labels=LEVEL_LABELS)


@ui.route("/collections/<int:collection_id>/compare")
@login_required
def collection_compare(collection_id: int):
    collection, unit, trail = _context(collection_id)
    principal = current_principal()
    others = earlier_collections(db(), principal, collection, unit.code)
    previous = previous_collection(db(), principal, collection, unit.code, id_param(request.args, "with", "对比期"))
    if previous is None:
        raise BadInput("没有同一指标集、期别更早、覆盖该单位的采集任务可以对比")
    stages = collection_stages(db(), collection)
    stage = get_stage(request.args.get("stage"), stages)
    result = compare_units(db(), collection.id, previous.id, unit.code, stage=stage.code, principal=principal)
    return render_template("collections/compare.html", collection=collection, unit=unit, trail=trail,
                           result=result, others=others, chosen=previous.id, stages=stages, fmt=format_number,
                           percent=format_percent, formats=FORMATS)
