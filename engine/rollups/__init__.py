"""Live roll-ups of approved figures for every org unit, their stages, and cross-version comparison.

Importing this package registers the approval listener (``store._on_approval_changed``), so the
figures change in the very transaction that approves or withdraws a report. See docs/rollups.md.
"""

from engine.rollups.compare import (
    Comparison,
    ComparisonRow,
    compare_units,
    earlier_collections,
    previous_collection,
)
from engine.rollups.measures import AGGREGATE_LABELS, UNITS_KEY, Measure, Stat, document_stats, measures_of
from engine.rollups.read import (
    FigureSpec,
    RollupReport,
    UnitFigures,
    format_number,
    format_percent,
    json_number,
    parse_level,
    rollup_report,
    unit_values,
)
from engine.rollups.stages import DEFAULT_STAGE, STAGES, Stage, collection_stages, get_stage, stages_for
from engine.rollups.store import rebuild_rollups, stored_rows, sync_submission, sync_submissions

__all__ = [
    "AGGREGATE_LABELS",
    "DEFAULT_STAGE",
    "STAGES",
    "UNITS_KEY",
    "Comparison",
    "ComparisonRow",
    "FigureSpec",
    "Measure",
    "RollupReport",
    "Stage",
    "Stat",
    "UnitFigures",
    "collection_stages",
    "compare_units",
    "document_stats",
    "earlier_collections",
    "format_number",
    "format_percent",
    "get_stage",
    "json_number",
    "measures_of",
    "parse_level",
    "previous_collection",
    "rebuild_rollups",
    "rollup_report",
    "stages_for",
    "stored_rows",
    "sync_submission",
    "sync_submissions",
    "unit_values",
]
