"""Local ``$ref``/``$defs`` resolution. Sibling keywords next to ``$ref`` (title, description, x-...) override
the target's, so a shared definition can be reused under a different label."""

from __future__ import annotations

import copy
from typing import Any

from engine.definitions import pointers
from engine.errors import DefinitionRef, ProblemList


class RefResolver:
    def __init__(self, doc: dict[str, Any], file: str, problems: ProblemList) -> None:
        self.doc = doc
        self.file = file
        self.problems = problems
        self._reported: set[tuple[str, str]] = set()

    def _report(self, message: str, pointer: str) -> None:
        if (message, pointer) not in self._reported:  # a shared $def is visited once per use
            self._reported.add((message, pointer))
            self.problems.add(message, definition=DefinitionRef(self.file, pointer), code="ref")

    def resolve(self, node: Any, pointer: str) -> tuple[dict[str, Any], dict[str, str]]:
        """Follow a chain of $ref; returns the merged schema and, per keyword, the pointer of the node
        that supplied it (so problems point at the line the author has to change)."""
        layers: list[tuple[dict[str, Any], str]] = []
        seen: set[str] = set()
        while isinstance(node, dict) and "$ref" in node:
            layers.append((node, pointer))
            ref = node["$ref"]
            target_pointer = pointers.from_fragment(ref) if isinstance(ref, str) else None
            if target_pointer is None:
                self._report(
                    f"只支持本文件内的 $ref（以 # 开头），不支持「{ref}」", pointers.join(pointer, "$ref")
                )
                node = {}
                break
            if target_pointer in seen:
                self._report(f"$ref「{ref}」形成循环引用", pointers.join(pointer, "$ref"))
                node = {}
                break
            seen.add(target_pointer)
            target = pointers.lookup(self.doc, target_pointer)
            if target is pointers.MISSING or not isinstance(target, dict):
                self._report(f"$ref「{ref}」指向的定义不存在", pointers.join(pointer, "$ref"))
                node = {}
                break
            node, pointer = target, target_pointer
        if not isinstance(node, dict):
            return {}, {}
        merged = {k: v for k, v in node.items() if k != "$ref"}
        origin = dict.fromkeys(merged, pointer)
        for layer, layer_pointer in reversed(layers):
            for k, v in layer.items():
                if k != "$ref":
                    merged[k] = v
                    origin[k] = layer_pointer
        return merged, origin

    def deep(self, node: Any, pointer: str, _stack: tuple[str, ...] = ()) -> Any:
        """A copy of ``node`` with every nested $ref resolved (for FieldSpec.schema)."""
        if isinstance(node, list):
            return [self.deep(v, pointers.join(pointer, i), _stack) for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return copy.deepcopy(node)
        if "$ref" in node:
            target = node["$ref"]
            if target in _stack:
                self._report(f"$ref「{target}」形成循环引用", pointers.join(pointer, "$ref"))
                return {}
            merged, origin = self.resolve(node, pointer)
            _stack = (*_stack, target)
        else:
            merged, origin = node, dict.fromkeys(node, pointer)
        return {
            k: self._deep_keyword(k, v, pointers.join(origin.get(k, pointer), k), _stack)
            for k, v in merged.items()
        }

    def _deep_keyword(self, keyword: str, value: Any, pointer: str, stack: tuple[str, ...]) -> Any:
        if keyword in SCHEMA_MAPS and isinstance(value, dict):
            return {name: self.deep(sub, pointers.join(pointer, name), stack) for name, sub in value.items()}
        if keyword in SCHEMA_LISTS and isinstance(value, list):
            return [self.deep(sub, pointers.join(pointer, i), stack) for i, sub in enumerate(value)]
        if keyword in SCHEMA_SINGLES:
            return self.deep(value, pointer, stack)
        return copy.deepcopy(value)  # data (enum, const, default, x- values...): never look for $ref inside


SCHEMA_MAPS = frozenset({"properties", "$defs", "patternProperties", "dependentSchemas"})
SCHEMA_LISTS = frozenset({"oneOf", "allOf", "anyOf", "prefixItems"})
SCHEMA_SINGLES = frozenset({"items", "if", "then", "else", "not", "additionalProperties", "contains"})
