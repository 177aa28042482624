"""Roll-up stages: which approved reports a figure includes (the UI always states which).

What a stage includes is fixed (``approved_level`` and the flow's end); how it is named depends on the
collection's flow: the shipped one reads 含乡镇审核通过 / 仅县级终审通过, a flow whose city review ends it
仅市级终审通过. ``collection_stages`` words them from the flow's own steps (``engine.flow_shape``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from sqlalchemy.orm import Session

from engine.db.models import Collection
from engine.errors import BadInput
from engine.flow_shape import StepNames, step_names


@dataclass(frozen=True)
class Stage:
    code: str
    label: str  # short, for selectors and table headers
    description: str  # the sentence shown next to every figure of this stage
    includes: Callable[[int | None, bool], bool]  # (approved_level, final) -> the report counts


# code -> (label, description, includes); the texts are formatted with StepNames.words(), and read
# without names ("仅终审通过") when a flow has no such step
_STAGES: dict[str, tuple[str, str, Callable[[int | None, bool], bool]]] = {
    "approved": ("含{first}审核通过", "口径：包含{first_up}审核通过的全部单位（含{final}终审通过的单位）",
                 lambda level, final: level is not None or final),
    "final": ("仅{final}终审通过", "口径：仅包含已{by_final}终审通过（审批流程结束）的单位",
              lambda level, final: final),
}
DEFAULT_STAGE = "approved"


@lru_cache(maxsize=64)  # one entry per distinct wording, i.e. a handful of flows
def stages_for(names: StepNames) -> Mapping[str, Stage]:
    words = names.words()
    return MappingProxyType({code: Stage(code, label.format(**words), description.format(**words), includes)
                             for code, (label, description, includes) in _STAGES.items()})


STAGES = stages_for(StepNames())  # the codes and what they include; wording without a flow's names


def collection_stages(session: Session, collection: Collection) -> Mapping[str, Stage]:
    return stages_for(step_names(session, collection.process_version_id))


def get_stage(code: str | None, stages: Mapping[str, Stage] = STAGES) -> Stage:
    stage = stages.get(code or DEFAULT_STAGE)
    if stage is None:
        choices = "、".join(f"{s.label}（{s.code}）" for s in stages.values())
        raise BadInput(f"未知的汇总口径“{code}”，可选：{choices}", data_path="stage")
    return stage


def stages_of(approved_level: int | None, final: bool) -> frozenset[str]:
    return frozenset(code for code, s in STAGES.items() if s.includes(approved_level, final))
