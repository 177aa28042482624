"""File formats: a lookup table from format code to its writer (add a format = add an entry).

XLSX uses openpyxl's write-only mode (rows go to per-sheet temporary files, not memory), one sheet per
table. CSV holds one table (the main one unless another is named) and starts with a UTF-8 BOM so that
Excel detects the encoding. Both write batch by batch and report progress through ``on_batch``.
Small tables already computed (``Sheet``: a comparison of two periods) are written by ``write_sheets``.
"""

from __future__ import annotations

import csv
import io
import math
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from sqlalchemy.orm import Session

from engine.errors import BadInput
from engine.exports.plan import ExportPlan
from engine.exports.tables import Table, sheet_title

OnBatch = Callable[[int], None] | None


@dataclass(frozen=True)
class Sheet:
    """A small table already computed (a comparison of two periods): a sheet of an XLSX, or a CSV."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]

CHUNK = 64 * 1024
_HEADER_FONT = Font(bold=True)
_FORMULA_START = ("=", "+", "-", "@")  # a spreadsheet would run such a text as a formula


def _notify(on_batch: OnBatch, n: int) -> None:
    if on_batch is not None:
        on_batch(n)


# --- XLSX ------------------------------------------------------------------------------------------


def _xlsx_value(ws: Any, value: Any) -> Any:
    if isinstance(value, Decimal):  # a figure: a number cell (an integer when whole)
        return int(value) if value == value.to_integral_value() else float(value)
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters are not allowed in the XML
    if value.startswith("="):
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"  # keep it text: openpyxl would store it as a formula
        return cell
    return value


def write_xlsx(session: Session, plan: ExportPlan, table_key: str | None, out: BinaryIO, on_batch: OnBatch) -> None:
    tables = plan.tables if table_key is None else (plan.table(table_key),)
    wb = Workbook(write_only=True)
    sheets = {}
    for table in tables:
        ws = sheets[table.key] = wb.create_sheet(table.title)
        ws.freeze_panes = "A2"
        ws.append([_header_cell(ws, h) for h in table.headers])
    for batch in plan.batches(session):
        for rec, ctx in batch:
            for table in tables:
                ws = sheets[table.key]
                for row in table.rows(rec, ctx):
                    ws.append([_xlsx_value(ws, v) for v in row])
        _notify(on_batch, len(batch))
    wb.save(out)


def write_xlsx_sheets(sheets: Sequence[Sheet], out: BinaryIO) -> None:
    """Small tables held in memory (a comparison, not a collection's reports), one sheet each."""
    wb = Workbook(write_only=True)
    taken: set[str] = set()
    for sheet in sheets:
        ws = wb.create_sheet(sheet_title(sheet.title, taken))
        ws.freeze_panes = "A2"
        ws.append([_header_cell(ws, h) for h in sheet.headers])
        for row in sheet.rows:
            ws.append([_xlsx_value(ws, v) for v in row])
    wb.save(out)


def _header_cell(ws: Any, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=text)
    cell.font = _HEADER_FONT
    return cell


def xlsx_chunks(session: Session, plan: ExportPlan, table_key: str | None, on_batch: OnBatch) -> Iterator[bytes]:
    # A zip file is finished only at the end, so it is spooled to a temporary file and then streamed.
    with tempfile.TemporaryFile(prefix="grassroots-export-") as spool:
        write_xlsx(session, plan, table_key, spool, on_batch)
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk


# --- CSV -------------------------------------------------------------------------------------------


def _csv_value(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if isinstance(value, float) and math.isfinite(value):
        # plain digits (0.00005, not Python's 5e-05, which a clerk's spreadsheet may read as text);
        # repr is the shortest spelling that reads back as the same float
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Decimal) and value.is_finite():  # a figure: 5435600, not 5435600.000 or 5.4356E+6
        return format(value.normalize(), "f")
    return value


def csv_chunks(session: Session, plan: ExportPlan, table_key: str | None, on_batch: OnBatch) -> Iterator[bytes]:
    table: Table = plan.table(table_key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(table.headers)
    yield _drain(buffer)
    for batch in plan.batches(session):
        for rec, ctx in batch:
            writer.writerows([_csv_value(v) for v in row] for row in table.rows(rec, ctx))
        yield _drain(buffer)
        _notify(on_batch, len(batch))


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


def write_csv(session: Session, plan: ExportPlan, table_key: str | None, out: BinaryIO, on_batch: OnBatch) -> None:
    for chunk in csv_chunks(session, plan, table_key, on_batch):
        out.write(chunk)


def write_csv_sheets(sheets: Sequence[Sheet], out: BinaryIO) -> None:
    """The first table only: a CSV file holds one (as a collection's export does)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(sheets[0].headers)
    writer.writerows([_csv_value(v) for v in row] for row in sheets[0].rows)
    out.write(buffer.getvalue().encode("utf-8"))


# --- the table -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFormat:
    code: str
    label: str
    extension: str
    content_type: str
    write: Callable[[Session, ExportPlan, str | None, BinaryIO, OnBatch], None]
    chunks: Callable[[Session, ExportPlan, str | None, OnBatch], Iterator[bytes]]
    write_sheets: Callable[[Sequence[Sheet], BinaryIO], None]  # small tables held in memory

    def sheets_bytes(self, sheets: Sequence[Sheet]) -> bytes:
        out = io.BytesIO()
        self.write_sheets(sheets, out)
        return out.getvalue()


FORMATS: dict[str, ExportFormat] = {
    f.code: f
    for f in (
        ExportFormat("xlsx", "Excel 工作簿（每个明细表一个工作表）", "xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     write_xlsx, xlsx_chunks, write_xlsx_sheets),
        ExportFormat("csv", "CSV（UTF-8，单个表）", "csv", "text/csv; charset=utf-8",
                     write_csv, csv_chunks, write_csv_sheets),
    )
}


def format_for(code: str | None) -> ExportFormat:
    fmt = FORMATS.get((code or "xlsx").lower())
    if fmt is None:
        raise BadInput(f"不支持的导出格式「{code}」，可选：{'、'.join(FORMATS)}")
    return fmt


def export_to_file(
    session: Session, plan: ExportPlan, fmt: ExportFormat, path: Path, *, table: str | None = None,
    on_batch: OnBatch = None,
) -> None:
    """Write the export to ``path`` (a partial file is removed when writing fails)."""
    try:
        with path.open("wb") as out:
            fmt.write(session, plan, table, out, on_batch)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
