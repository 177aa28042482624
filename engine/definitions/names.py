"""How a name written in an expression, a rule's ``fields`` or a mapping finds its field.

Outside repeats a name is a full key (``population.pop_total``) or a bare leaf name that is unique among
the fields outside repeats (``pop_total``). Inside a row (per-row rules, row fields' expressions, the
per-row argument of sum/count/min/max/avg) the row's own fields come first, then the document's.
A full row key (``elders.id_number``) at document level means the column: every row's value.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Mapping

from engine.definitions.model import FieldSpec

# Constants as other languages (JSON, SQL, JavaScript) spell them -> this language's spelling
CONSTANT_SPELLINGS = {"true": "True", "false": "False", "TRUE": "True", "FALSE": "False", "null": "None",
                      "NULL": "None", "none": "None", "nil": "None", "undefined": "None"}  # fmt: skip


class NameProblem(Exception):
    """A name that does not resolve; the message is Chinese and goes into a Problem."""

    pass


class NameIndex:
    def __init__(self, fields: Mapping[str, FieldSpec]) -> None:
        self.fields = fields
        self.by_name: dict[str, list[str]] = defaultdict(list)
        self.row_names: dict[str, list[str]] = defaultdict(list)
        self.by_title: dict[str, list[str]] = defaultdict(list)  # an official writes the label she sees
        for key, spec in fields.items():
            (self.row_names if spec.array_key else self.by_name)[spec.name].append(key)
            self.by_title[spec.title].append(key)

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
        raise NameProblem(f"「{name}」不是本指标集的字段{self._hint(name)}")

    def _hint(self, name: str) -> str:
        """What the author probably meant: a constant's spelling, a field by its title, a near key."""
        if name in CONSTANT_SPELLINGS:
            return f"；真假值和空值请写 True、False、None（首字母大写），此处应写 {CONSTANT_SPELLINGS[name]}"
        titled = self.by_title.get(name)
        if titled:
            written = "、".join(f"字段 {key} 的标题，表达式中请写 {self._shortest(key)}" for key in titled)
            return f"；「{name}」是{written}"
        near = difflib.get_close_matches(name, [*self.by_name, *self.fields], n=1, cutoff=0.8)
        return f"；是不是 {near[0]}？" if near else ""

    def _shortest(self, key: str) -> str:
        """The name an expression can use for ``key``: its bare name where that is unique (or in its row)."""
        spec = self.fields[key]
        return spec.name if spec.array_key or len(self.by_name.get(spec.name, [])) == 1 else key

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
