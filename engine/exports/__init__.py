"""Exports of approved data (XLSX, CSV), streamed in batches; see docs/exports.md.

```python
plan = plan_export(session, principal, collection_id, "390121000000")   # checks scope, fixes the columns
fmt = format_for("xlsx")
for chunk in fmt.chunks(session, plan, None, on_batch):  ...            # bytes, batch by batch
export_to_file(session, plan, fmt, Path("out.xlsx"))
fmt.sheets_bytes(comparison_sheets(result, unit_name))                 # engine.exports.comparison: two periods
```
"""

from engine.exports.plan import ExportPlan, plan_export, record_export
from engine.exports.source import (
    DEFAULT_APPROVED_AT,
    DEFAULT_BATCH,
    AncestorNames,
    Selection,
    approval_label,
    approved_clause,
    parse_level,
    select_for,
)
from engine.exports.tables import Column, Record, RowContext, Table, tables_for
from engine.exports.writers import FORMATS, ExportFormat, Sheet, export_to_file, format_for

__all__ = [
    "DEFAULT_APPROVED_AT",
    "DEFAULT_BATCH",
    "FORMATS",
    "AncestorNames",
    "Column",
    "ExportFormat",
    "ExportPlan",
    "Record",
    "RowContext",
    "Selection",
    "Sheet",
    "Table",
    "approval_label",
    "approved_clause",
    "export_to_file",
    "format_for",
    "parse_level",
    "plan_export",
    "record_export",
    "select_for",
    "tables_for",
]
