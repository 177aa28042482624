"""Checks of everything written as an expression: it compiles, its names resolve in the right scope,
relevance/calculation has no cycles, and each rule can be satisfied by what users enter."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from engine.definitions import pointers
from engine.definitions.builder import EXPRESSION_KEYWORDS, RawRule
from engine.definitions.labels import labelled
from engine.definitions.model import FieldSpec, RuleSpec
from engine.definitions.names import NameIndex, NameProblem
from engine.definitions.satisfiability import ALWAYS, FAILS, NEVER, Impossible, impossible_comparisons
from engine.errors import DefinitionRef, ExpressionError, ProblemList
from engine.expressions import compile_expression

# What a comparison that cannot do what it says means where it is written.
RULE_OUTCOMES = {NEVER: "永远不成立", ALWAYS: "永远成立，起不到检查作用", FAILS: "无法计算，填报时会出错"}
RELEVANCE_OUTCOMES = {
    NEVER: "永远不成立，{what}永远不会显示（也不会要求填写、不会收集）",
    ALWAYS: "永远成立，这个条件不起作用",
    FAILS: "无法计算，填报时会出错",
}


def _finding(found: Impossible) -> str:
    return f"{found.reason}" + (f"。{found.hint}" if found.hint else "")


@dataclass
class ExpressionChecker:
    fields: Mapping[str, FieldSpec]
    keyword_pointers: Mapping[str, Mapping[str, str]]
    file: str
    problems: ProblemList
    index: NameIndex = field(init=False)
    # field key -> keys its relevance/calculation reads (edges of the dependency graph)
    depends_on: dict[str, set[str]] = field(init=False, default_factory=dict)
    # fields whose calculation is reported broken: what they read is unknown, so nothing is concluded
    # from it (a rule reading one is not also "beyond the user's influence": one mistake, one finding)
    broken: set[str] = field(init=False, default_factory=set)
    # False for a version published earlier and loaded to run: whether a comparison can ever hold is the
    # publisher's gate (see loader.load_indicator_set), not a condition of running it
    judge: bool = True

    def __post_init__(self) -> None:
        self.index = NameIndex(self.fields)

    def _problem(self, message: str, pointer: str, code: str = "expression") -> None:
        self.problems.add(message, definition=DefinitionRef(self.file, pointer), code=code)

    def references(self, source: str, row_of: str | None, pointer: str) -> set[str] | None:
        """The keys an expression reads (row_of = the array whose row it runs in); None if it is broken."""
        try:
            expression = compile_expression(source)
        except ExpressionError as exc:
            self._problem(f"表达式「{source}」无效：{exc.message}", pointer)
            return None
        keys: set[str] = set()
        ok = True
        for ref in expression.references:
            try:
                rows = self.index.resolve_array(ref.row_of, row_of) if ref.row_of else row_of
                keys.add(self.index.resolve(ref.name, rows))
            except NameProblem as exc:
                self._problem(f"表达式「{source}」引用错误：{exc}", pointer)
                ok = False
        return keys if ok else None

    def check_fields(self) -> None:
        for key, spec in self.fields.items():
            reads: set[str] = set()
            for keyword, source in zip(EXPRESSION_KEYWORDS, (spec.relevant, spec.calculate), strict=True):
                if source:
                    found = self.references(source, spec.array_key, self.keyword_pointers[key][keyword])
                    if found is None and source is spec.calculate:
                        self.broken.add(key)
                    if found is not None and source is spec.relevant and self.judge:
                        self._check_relevance(spec, self.keyword_pointers[key][keyword])
                    reads |= found or set()
            parent = key.rpartition(".")[0]
            # A field is only visible when its container is, so it depends on the container's relevance.
            self.depends_on[key] = reads | ({parent} if parent else set())

    def _check_relevance(self, spec: FieldSpec, pointer: str) -> None:
        """A condition that can never be true hides its field for good: never shown, required or kept."""
        tree = ast.parse(spec.relevant or "", mode="eval").body  # already compiled, so it parses
        what = "该分组" if spec.is_container else "该字段"
        for found in impossible_comparisons(tree, lambda name: self._field_or_none(name, spec.array_key)):
            outcome = RELEVANCE_OUTCOMES[found.outcome].format(what=what)
            self._problem(
                f"字段「{spec.title}」（{spec.key}）的{labelled('x-relevant')}中的比较「{found.text}」{outcome}："
                f"{_finding(found)}",
                pointer,
                "relevance",
            )

    def check_cycles(self) -> None:
        for cycle in _cycles(self.depends_on):
            first = next(
                k for k in self.fields if k in cycle and (self.fields[k].relevant or self.fields[k].calculate)
            )
            keyword = "x-calculate" if self.fields[first].calculate else "x-relevant"
            path = " → ".join(_cycle_path(first, cycle, self.depends_on))
            self._problem(
                f"字段「{self.fields[first].title}」（{first}）的{labelled(keyword)}存在循环依赖：{path}"
                "（每个字段的值要先算出或先决定是否显示，才能用于另一个字段）",
                self.keyword_pointers[first][keyword],
                "cycle",
            )

    def check_rules(self, raw_rules: Iterable[RawRule]) -> list[RuleSpec]:
        rules: list[RuleSpec] = []
        seen: dict[str, str] = {}
        for raw in raw_rules:
            body, pointer = raw.body, raw.pointer
            if body["id"] in seen:
                self._problem(
                    f"规则编号「{body['id']}」重复（首次出现在 {seen[body['id']]}）", pointer + "/id", "rule"
                )
            seen.setdefault(body["id"], pointer)
            reads = self.references(body["expr"], raw.scope, pointer + "/expr")
            shown_on = self._rule_fields(body, raw.scope, pointer)
            if reads is not None and self.judge:
                self._check_satisfiable(body, raw.scope, reads, pointer)
            rules.append(
                RuleSpec(
                    id=body["id"],
                    expr=body["expr"],
                    message=body["message"],
                    severity=body["severity"],
                    fields=tuple(shown_on),
                    scope=raw.scope,
                    pointer=pointer,
                )
            )
        return rules

    def _rule_fields(self, body: dict, scope: str | None, pointer: str) -> list[str]:
        keys = []
        for i, name in enumerate(body["fields"]):
            try:
                keys.append(self.index.resolve(name, scope))
            except NameProblem as exc:
                self._problem(
                    f"规则「{body['id']}」的{labelled('fields')}引用错误：{exc}", f"{pointer}/fields/{i}", "rule"
                )
        return keys

    def _check_satisfiable(self, body: dict, scope: str | None, reads: set[str], pointer: str) -> None:
        if not any(self._depends_on_input(k, set()) for k in reads):
            self._problem(
                f"规则「{body['id']}」只引用计算字段或常量，填报人无法影响其结果（要么永远成立，要么永远不成立）",
                pointer + "/expr",
                "rule",
            )
        tree = ast.parse(body["expr"], mode="eval").body  # already compiled, so it parses
        for found in impossible_comparisons(tree, lambda name: self._field_or_none(name, scope)):
            self._problem(
                f"规则「{body['id']}」中的比较「{found.text}」{RULE_OUTCOMES[found.outcome]}：{_finding(found)}",
                pointer + "/expr",
                "rule",
            )

    def _field_or_none(self, name: str, scope: str | None) -> FieldSpec | None:
        """The field ``name`` reads as one value in ``scope`` (a row field outside its rows is a column)."""
        try:
            spec = self.fields[self.index.resolve(name, scope)]
        except NameProblem:
            return None
        return spec if spec.array_key in (None, scope) else None

    def _depends_on_input(self, key: str, visiting: set[str]) -> bool:
        """True when the value of ``key`` comes (directly or through calculations) from user input."""
        spec = self.fields[key]
        if not spec.calculate or key in self.broken:
            return True
        if key in visiting:
            return False
        visiting.add(key)
        reads = self.depends_on.get(key, set()) - {key.rpartition(".")[0]}
        return any(self._depends_on_input(k, visiting) for k in reads)


def _cycles(graph: Mapping[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with a cycle (Tarjan), in discovery order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return found


def _cycle_path(start: str, component: set[str], graph: Mapping[str, set[str]]) -> list[str]:
    """One concrete loop through ``component`` starting and ending at ``start`` (for the message)."""
    path, node = [start], start
    while True:
        options = sorted(graph.get(node, set()) & component)
        nxt = start if start in options else next((o for o in options if o not in path), options[0])
        path.append(nxt)
        if nxt == start or len(path) > len(component) + 1:
            return path
        node = nxt


def check_syntax_only(doc: object, file: str, problems: ProblemList, pointer: str = "") -> None:
    """Compile every expression of a structurally broken document, wherever it is written.

    Names need the field tree, which a malformed document does not have; but a typo in an expression
    does not depend on the shape around it, and reporting it now saves the author a second round."""
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            check_syntax_only(item, file, problems, pointers.join(pointer, i))
        return
    if not isinstance(doc, dict):
        return
    for key, value in doc.items():
        at = pointers.join(pointer, key)
        if key in EXPRESSION_KEYWORDS and isinstance(value, str):
            _syntax_problem(value, at, file, problems)
        elif key == "x-rules" and isinstance(value, list):
            for i, body in enumerate(value):
                if isinstance(body, dict) and isinstance(body.get("expr"), str):
                    _syntax_problem(body["expr"], pointers.join(at, i, "expr"), file, problems)
        elif isinstance(value, (dict, list)):
            check_syntax_only(value, file, problems, at)


def _syntax_problem(source: str, pointer: str, file: str, problems: ProblemList) -> None:
    try:
        compile_expression(source)
    except ExpressionError as exc:
        problems.add(
            f"表达式「{source}」无效：{exc.message}", definition=DefinitionRef(file, pointer), code="expression"
        )
