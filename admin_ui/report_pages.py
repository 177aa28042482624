"""Report pages (Chinese): the indicator form read-only with a unit's aggregated figures, drill-down to
the children and comparison with the previous period; roster queries (重阳节 counts); export links.

Figures come from the roll-up engine (``engine.rollups``); this module only arranges them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import render_template, request, url_for
from sqlalchemy import select

from admin_ui import ui
from admin_ui.template_helpers import register_nav
from engine.auth import Principal
from engine.completeness import default_unit, get_collection, require_unit, visible_collections_clause
from engine.db.models import Collection, OrgUnit
from engine.errors import BadInput, NotFound
from engine.exports import FORMATS
from engine.orgs import ancestor_at, level_of
from engine.publishing import indicator_set_model
from engine.roles import LEVEL_LABELS, ROLES, Level
from engine.rollups import (
    Comparison,
    ComparisonRow,
    FigureSpec,
    collection_stages,
    compare_units,
    format_number,
    format_percent,
    previous_collection,
    rollup_report,
)
from engine.rosters import RosterResult, count_rows
from web.auth import current_principal, login_required
from web.db import db
from web.params import id_param

register_nav("报表与导出", "ui.reports_index", *ROLES)


@dataclass(frozen=True)
class Section:
    title: str
    figures: list[FigureSpec]
    # the comparison's notes on its rows (how last period's figure was mapped, why one is not comparable),
    # shown under the table and marked 注1, 注2 … on the rows: a tooltip is not read on a phone or on paper
    notes: list[str] = field(default_factory=list)
    marks: dict[str, int] = field(default_factory=dict)  # row key -> its note's number

    def mark(self, row: ComparisonRow) -> None:
        if row.note:
            if row.note not in self.notes:  # the parts of a split share one note
                self.notes.append(row.note)
            self.marks[row.key] = self.notes.index(row.note) + 1


def sections_of(figures: list[FigureSpec], compared: Mapping[str, ComparisonRow] | None = None,
                split_totals: Mapping[str, ComparisonRow] | None = None) -> list[Section]:
    """Figures grouped by their section, in the definition's order (the read-only form's pages), with
    the notes of their comparison rows (``compare_units``'s, as the compare page shows them) numbered in
    the order the rows are shown."""
    compared, split_totals = compared or {}, split_totals or {}
    out: list[Section] = []
    for f in figures:
        if not out or out[-1].title != f.section:
            out.append(Section(f.section, []))
        out[-1].figures.append(f)
        for row in (compared.get(f.key), split_totals.get(f.key)):
            if row is not None:
                out[-1].mark(row)
    return out


def _unit(collection: Collection, param: str = "org_unit") -> OrgUnit:
    principal = current_principal()
    code = request.args.get(param) or request.args.get("org") or default_unit(principal, collection)
    require_unit(principal, code)
    unit = db().get(OrgUnit, code)
    if unit is None:
        raise NotFound("单位不存在或无权查看")
    return unit


def _trail(principal: Principal, code: str) -> list[OrgUnit]:
    codes = [ancestor_at(code, lv) for lv in Level if lv < level_of(code)]
    units = db().scalars(select(OrgUnit).where(OrgUnit.code.in_(codes)).order_by(OrgUnit.level))
    return [u for u in units if principal.can_see(u.code)]


@ui.route("/reports")
@login_required
def reports_index():
    principal = current_principal()
    session = db()
    rows = []
    for c in session.scalars(select(Collection).where(visible_collections_clause(principal))
                             .order_by(Collection.id.desc())):
        ind = indicator_set_model(session, c.indicator_set_version_id)
        repeats = [f for f in ind.fields.values() if f.kind == "array" and f.array_key is None]
        rows.append((c, session.get(OrgUnit, default_unit(principal, c)), repeats))
    return render_template("reports/index.html", rows=rows, formats=FORMATS)


@ui.route("/collections/<int:collection_id>/report")
@login_required
def collection_report(collection_id: int):
    principal = current_principal()
    collection = get_collection(db(), principal, collection_id)
    unit = _unit(collection)
    report = rollup_report(db(), collection, unit.code, stage=request.args.get("stage"), principal=principal)
    previous = previous_collection(db(), principal, collection, unit.code, id_param(request.args, "with", "对比期"))
    comparison: Comparison | None = None
    if previous is not None:
        comparison = compare_units(db(), collection.id, previous.id, unit.code, stage=report.stage.code,
                                   principal=principal)
    compared: dict[str, ComparisonRow] = {r.key: r for r in comparison.rows} if comparison else {}
    # a split's parts are each "not comparable"; their sum is, shown after the last part
    split_totals = {r.key.split("+")[-1]: r for r in compared.values() if "+" in r.key}
    reporting = report.breakdown_level == collection.reporting_level

    def child_link(child) -> str | None:
        if reporting:
            return f"/submissions/{child.submission_id}" if child.submission_id else None
        return url_for("ui.collection_report", collection_id=collection.id, org_unit=child.code,
                       stage=report.stage.code)

    return render_template(
        "reports/report.html", collection=collection, unit=unit, trail=_trail(principal, unit.code),
        report=report, sections=sections_of(report.figures, compared, split_totals), compared=compared,
        comparison=comparison,
        split_totals=split_totals,
        child_link=child_link, fmt=format_number, percent=format_percent,
        stages=collection_stages(db(), collection), formats=FORMATS,
        level_labels=LEVEL_LABELS,
    )


def _default_group_level(levels: list[Level]) -> Level:
    """Townships (the 重阳节 table) when the unit is above them, else the unit's own level."""
    return next((lv for lv in levels if lv >= Level.TOWNSHIP), levels[-1] if levels else Level.TOWNSHIP)


@ui.route("/collections/<int:collection_id>/roster-query")
@login_required
def roster_query_page(collection_id: int):
    principal = current_principal()
    session = db()
    collection = get_collection(session, principal, collection_id)
    unit = _unit(collection)
    ind = indicator_set_model(session, collection.indicator_set_version_id)
    repeats = [f for f in ind.fields.values() if f.kind == "array" and f.array_key is None]
    levels = [lv for lv in Level if unit.level <= lv <= collection.reporting_level]
    args = request.args
    form = {
        "array_key": args.get("array_key") or (repeats[0].key if repeats else ""),
        "condition": args.get("condition", ""),
        "group_level": args.get("group_level") or str(int(_default_group_level(levels))),
        "list": args.get("list") == "1",
    }
    result: RosterResult | None = None
    error: str | None = None
    if form["condition"].strip():
        try:
            result = count_rows(session, principal, collection.id, form["array_key"], form["condition"],
                                form["group_level"], unit.code, list_rows=form["list"])
        except BadInput as exc:  # a wrong condition is a form error, not an error page
            error = exc.message
    return render_template("reports/roster.html", collection=collection, unit=unit, repeats=repeats,
                           levels=levels, form=form, result=result, error=error, level_labels=LEVEL_LABELS)
