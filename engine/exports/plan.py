"""An export plan: what is read (``Selection``), which tables and columns, and how each row is labelled."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from engine.audit import record
from engine.auth import Principal
from engine.errors import BadInput
from engine.exports.source import (
    DEFAULT_APPROVED_AT,
    DEFAULT_BATCH,
    AncestorNames,
    Selection,
    approval_label,
    select_for,
)
from engine.exports.tables import Record, RowContext, Table, tables_for
from engine.publishing import indicator_set_model
from engine.roles import Level


@dataclass(frozen=True)
class ExportPlan:
    selection: Selection
    tables: tuple[Table, ...]
    names: AncestorNames
    show_sensitive: bool  # the personal columns are present (cells stay empty where the caller may not look)

    def table(self, key: str | None) -> Table:
        for t in self.tables:
            if t.key == key or (key is not None and t.title == key):
                return t
        choices = "、".join(f"{t.key}（{t.title}）" for t in self.tables if t.key)
        raise BadInput(f"没有名为「{key}」的明细表" + (f"，可选：{choices}" if choices else "，本指标集没有明细表"))

    def filename(self, extension: str, table: Table | None = None) -> str:
        parts = [self.selection.collection_title, self.selection.root_name]
        if table is not None and table.key is not None:
            parts.append(table.title)
        return "-".join(parts) + f".{extension}"

    def ascii_filename(self, extension: str) -> str:
        return f"collection-{self.selection.collection_id}-{self.selection.root_code}.{extension}"

    def batches(self, session: Session) -> Iterator[list[tuple[Record, RowContext]]]:
        for batch in self.selection.batches(session):
            yield [(rec, self._context(rec)) for rec in batch]

    def _context(self, rec: Record) -> RowContext:
        visible = self.show_sensitive and self.selection.principal.sees_sensitive(rec.org_code)
        return RowContext(
            county=self.names.at(rec.org_code, Level.COUNTY),
            township=self.names.at(rec.org_code, Level.TOWNSHIP),
            status=approval_label(rec.status, rec.approved_level),
            show_sensitive=visible,
        )


def plan_export(
    session: Session,
    principal: Principal,
    collection_id: int,
    org_unit: str | None = None,
    *,
    approved_at: int = DEFAULT_APPROVED_AT,
    all_units: bool = False,
    batch_size: int = DEFAULT_BATCH,
) -> ExportPlan:
    """Check the request and fix the columns; raises NotFound / PermissionDenied / BadInput (Chinese)."""
    selection = select_for(session, principal, collection_id, org_unit, approved_at=approved_at,
                           all_units=all_units, batch_size=batch_size)
    ind = indicator_set_model(session, selection.indicator_set_version_id)
    show = selection.sensitive_anywhere()
    tables = tables_for(ind) if show else tuple(t.without_sensitive() for t in tables_for(ind))
    return ExportPlan(selection, tables, AncestorNames(session, selection.root_code), show)


def record_export(session: Session, plan: ExportPlan, fmt: str, table: str | None = None) -> None:
    """Audit an export (who took which data out, and whether personal fields were in it)."""
    sel = plan.selection
    record(session, sel.principal.user_id or None, "export", "collection", str(sel.collection_id), {
        "org_unit": sel.root_code, "format": fmt, "table": table, "approved_at": sel.approved_at,
        "all_units": sel.all_units, "personal_fields": plan.show_sensitive,
    })
