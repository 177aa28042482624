"""A comparison of two periods as a file: the compare page's table, row for row, and what it is based on.

The figures are ``engine.rollups.compare_units``'s, read with the caller's principal, so the file holds
what the page shows that caller (approved figures, personal fields left out, the caller's scope).
Numbers are numbers: plain digits in CSV, number cells in XLSX; 增减% is rounded as the page rounds it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.orm import Session

from engine.audit import record
from engine.auth import Principal
from engine.exports.writers import Sheet
from engine.rollups import Comparison, ComparisonRow, json_number

NOT_COMPARABLE = "不可比"  # in the previous period's cell, as on the page: an empty cell would read "no data"
_PERCENT_PLACES = Decimal("0.1")


def _percent(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(_PERCENT_PLACES, ROUND_HALF_UP)


def headers(result: Comparison) -> list[str]:
    return ["分组", "指标", "计量单位", f"本期 {result.current.period}（{result.units} 个单位）",
            f"对比期 {result.previous.period}（{result.previous_units} 个单位）", "增减", "增减%", "说明"]


def row(r: ComparisonRow) -> list[Any]:
    previous = json_number(r.previous) if r.comparable else NOT_COMPARABLE
    return [r.section, r.label, r.unit or "", json_number(r.current), previous, json_number(r.change),
            _percent(r.change_pct), r.note or ""]


def comparison_sheets(result: Comparison, unit_name: str) -> tuple[Sheet, Sheet]:
    """The table, then what it compares (an XLSX's second sheet; a CSV holds the table only)."""
    about = [
        ("单位", f"{unit_name}（{result.org_code}）"),
        ("本期", f"{result.current.period}（{result.current.title}），{result.units} 个单位"),
        ("对比期", f"{result.previous.period}（{result.previous.title}），{result.previous_units} 个单位"),
        ("汇总口径", result.stage.description),
        ("对应规则", "指标按定义中的映射对应：改名视为同一指标，换算单位已乘系数，合并指标以原各指标之和对比，"
                     "拆分指标以各部分之和与原指标对比；不可比的原因见“说明”列"),
    ]
    if result.units_note:
        about.append(("注意", result.units_note))
    return (Sheet("与上期对比", headers(result), [row(r) for r in result.rows]),
            Sheet("说明", ["项目", "内容"], about))


def comparison_filename(result: Comparison, unit_name: str, extension: str) -> str:
    return f"{result.current.title}-{unit_name}-与{result.previous.period}对比.{extension}"


def comparison_ascii_filename(result: Comparison, extension: str) -> str:
    return f"comparison-{result.current.id}-{result.previous.id}-{result.org_code}.{extension}"


def record_comparison_export(session: Session, principal: Principal, result: Comparison, fmt: str) -> None:
    """Audit it like any export: who took which figures out."""
    record(session, principal.user_id or None, "export", "collection", str(result.current.id), {
        "org_unit": result.org_code, "format": fmt, "comparison_with": result.previous.id,
        "stage": result.stage.code,
    })
