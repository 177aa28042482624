"""How a name written in an expression, a rule's ``fields`` or a mapping finds its field.

Outside repeats a name is a full key (``population.pop_total``) or a bare leaf name that is unique among
the fields outside repeats (``pop_total``). Inside a row (per-row rules, row fields' expressions, the
per-row argument of sum/count/min/max/avg) the row's own fields come first, then the document's.
A full row key (``elders.id_number``) at document level means the column: every row's value.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from engine.definitions.model import FieldSpec


class NameProblem(Exception):
    """A name that does not resolve; the message is Chinese and goes into a Problem."""

    pass


class NameIndex:
    def __init__(self, fields: Mapping[str, FieldSpec]) -> None:
        self.fields = fields
        self.by_name: dict[str, list[str]] = defaultdict(list)
        self.row_names: dict[str, list[str]] = defaultdict(list)
        for key, spec in fields.items():
            (self.row_names if spec.array_key else self.by_name)[spec.name].append(key)

    def resolve(self, name: str, row_of: str | None = None) -> str:
        """The full key ``name`` refers to (with ``row_of`` = the array whose row is in scope)."""
        if row_of is not None:
            in_row = name if name.startswith(row_of + ".") else f"{row_of}.{name}"
            if in_row in self.fields and self.fields[in_row].array_key == row_of:
                return in_row
        if name in self.fields:
            return name
        keys = self.by_name.get(name, [])
        if len(keys) == 1:
            return keys[0]
        if len(keys) > 1:
            raise NameProblem(f"名称「{name}」不唯一，可能是：{'、'.join(keys)}；请写完整键")
        rows = self.row_names.get(name)
        if rows:
            raise NameProblem(
                f"「{name}」是数组的行字段（{'、'.join(rows)}），只能在该数组的行规则或 sum/count 等的行表达式中直接使用，"
                "或写完整键表示整列"
            )
        raise NameProblem(f"「{name}」不是本指标集的字段")

    def resolve_array(self, name: str, row_of: str | None = None) -> str:
        key = self.resolve(name, row_of)
        if self.fields[key].kind != "array":
            raise NameProblem(f"「{name}」不是数组（重复行），不能作为 sum/count/min/max/avg 的行集合")
        return key


def unique_leaf_aliases(fields: Mapping[str, FieldSpec]) -> dict[str, tuple[str, ...]]:
    """Bare name -> path for every name unique among the fields outside repeats (what MappingScope needs)."""
    index = NameIndex(fields)
    return {
        name: fields[keys[0]].path
        for name, keys in index.by_name.items()
        if len(keys) == 1 and name not in fields and keys[0] != name
    }
