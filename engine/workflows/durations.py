"""ISO 8601 durations for deadlines ("P14D", "PT72H").

Checked strictly at publish time because SpiffWorkflow raises a bare ``Exception('Invalid duration')``
from inside ``do_engine_steps()`` on a bad one (reference §1.9). Date arithmetic reuses the library's
own month/leap-day logic so a ``due`` property and a BPMN timer with the same text agree.
"""

from __future__ import annotations

import re
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

_DURATION = re.compile(
    r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(?:[.,]\d+)?S)?)?",
)


def duration_format_problem(text: object) -> str | None:
    """None when ``text`` is written as a duration both we and SpiffWorkflow read, else a Chinese reason."""
    if not isinstance(text, str) or not _DURATION.fullmatch(text):
        return f'「{text}」不是 ISO 8601 时长（例如 "P14D" 表示 14 天，"PT72H" 表示 72 小时）'
    try:
        TimerEventDefinition.parse_iso_duration(text)
    except Exception:  # the library raises a bare Exception for what it cannot handle (e.g. P1W2D)
        return f"「{text}」这种写法流程引擎不支持（周不能与年、月、日混用）"
    return None


def duration_problem(text: object) -> str | None:
    """None when ``text`` is a duration we accept for a deadline: readable and longer than zero (a zero
    deadline is due the moment the task is ready, so every report would be overdue at once)."""
    reason = duration_format_problem(text)
    if reason is None and not any(TimerEventDefinition.parse_iso_duration(str(text)).values()):
        return f'「{text}」是零时长：期限必须大于零（例如 "P14D" 表示 14 天）'
    return reason


_UNITS = (("年", 1), ("个月", 2), ("周", 3), ("天", 4), ("小时", 6), ("分钟", 7), ("秒", 8))


def duration_text(text: str) -> str:
    """``"P14D"`` -> ``"14天（P14D）"`` for people; a text that is no duration is returned as it is."""
    match = _DURATION.fullmatch(text.strip().strip('"')) if isinstance(text, str) else None
    if not match:
        return text
    parts = [f"{match.group(group)[:-1]}{unit}" for unit, group in _UNITS if match.group(group)]
    return f"{''.join(parts)}（{match.group(0)}）"


def add_duration(start: datetime, text: str) -> datetime:
    """``start`` + the duration ``text`` (calendar-aware for months and years)."""
    parsed = TimerEventDefinition.parse_iso_duration(text)
    return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)
