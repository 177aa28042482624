"""Roll-up stages: which approved reports a figure includes (the UI always states which)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import BadInput


@dataclass(frozen=True)
class Stage:
    code: str
    label: str  # short, for selectors and table headers
    description: str  # the sentence shown next to every figure of this stage
    includes: Callable[[int | None, bool], bool]  # (approved_level, final) -> the report counts


STAGES: dict[str, Stage] = {
    s.code: s
    for s in (
        Stage(
            "approved",
            "含乡镇审核通过",
            "口径：包含乡镇及以上审核通过的全部单位（含县级终审通过的单位）",
            lambda level, final: level is not None or final,
        ),
        Stage(
            "final",
            "仅县级终审通过",
            "口径：仅包含已由县级终审通过（审批流程结束）的单位",
            lambda level, final: final,
        ),
    )
}
DEFAULT_STAGE = "approved"


def get_stage(code: str | None) -> Stage:
    stage = STAGES.get(code or DEFAULT_STAGE)
    if stage is None:
        choices = "、".join(f"{s.label}（{s.code}）" for s in STAGES.values())
        raise BadInput(f"未知的汇总口径“{code}”，可选：{choices}", data_path="stage")
    return stage


def stages_of(approved_level: int | None, final: bool) -> frozenset[str]:
    return frozenset(code for code, s in STAGES.items() if s.includes(approved_level, final))
