"""Loading an indicator set: check everything, then build the frozen model.

Structural problems (meta-schema, unsupported keywords, x- values) are reported first, with only the
expressions' syntax beside them: the semantic checks (names, kinds, cycles) read the document's shape and
would only add noise on a malformed one. An x- value that only reads wrong (a rule's message without
Chinese, an id in capitals, an unknown unit) leaves the shape sound, so every other check still runs.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from engine.definitions.builder import FieldTreeBuilder
from engine.definitions.choice_checks import check_choice_expressions
from engine.definitions.expression_checks import ExpressionChecker, check_syntax_only
from engine.definitions.field_checks import FieldChecker
from engine.definitions.hashing import content_hash
from engine.definitions.json_text import parse_json
from engine.definitions.labels import labelled
from engine.definitions.mapping_checks import MappingChecker, parse_mappings
from engine.definitions.model import IndicatorSet
from engine.definitions.proposals import Proposal, mentioned_keys, propose
from engine.definitions.vocabulary import check_structure
from engine.errors import BadInput, DefinitionError, DefinitionRef, Problem, ProblemList

DEFAULT_ROOT = "definitions/indicators"
VERSION_FILE = re.compile(r"v([1-9][0-9]*)\.json")
REPO_ROOT = Path(__file__).resolve().parents[2]


def check_indicator_set(
    doc: Any,
    source: str = "<memory>",
    *,
    code: str | None = None,
    version: int | None = None,
    previous: IndicatorSet | None = None,
) -> list[Problem]:
    """Every problem of ``doc`` (empty when it loads)."""
    problems, _ = _check_and_build(doc, source, code, version, previous)
    return problems.items


def load_indicator_set(
    doc: Any,
    source: str = "<memory>",
    *,
    code: str | None = None,
    version: int | None = None,
    previous: IndicatorSet | None = None,
    stored: bool = False,
) -> IndicatorSet:
    """The checked model; raises DefinitionError listing every problem. ``code``/``version`` (from the
    file's path) win over ``x-code``/``x-version``, which must agree when present; ``previous`` is the
    version the ``x-mappings`` map from, used to check mappings and meaning changes.

    ``stored``: a version published earlier, loaded to run its collections. The checks that judge the
    author's choices (bounds no value meets, options given twice, a ratio without an aggregate,
    comparisons that can never hold, fields of the previous version the mappings leave unsaid) gate
    publishing only: a later, stricter checker must not stop a published version, and every report and
    roll-up on it, from loading. What the model is built from (shape, names, kinds, cycles, mappings) is
    checked as always."""
    problems, indicator_set = _check_and_build(doc, source, code, version, previous, stored)
    problems.raise_if_any(DefinitionError, summary=f"指标集定义 {source} 有错误")
    assert indicator_set is not None  # no problems means it was built
    # Compile the validator (jsonschema + fast accept path) with the model, not on a first request;
    # imported here because engine.validation imports this package.
    from engine.validation.schema import compiled_schema

    compiled_schema(indicator_set)
    return indicator_set


def open_proposals(doc: Any, previous: IndicatorSet | None, source: str = "<memory>") -> list[Proposal]:
    """The mappings ``doc`` still owes ``previous`` (``engine.definitions.proposals``), also while it
    has other problems (a draft being edited); none when its shape is too broken to read its fields."""
    if previous is None or not isinstance(doc, dict):
        return []
    doc, scratch = copy.deepcopy(doc), ProblemList()
    if not check_structure(doc, source, scratch):
        return []
    built = FieldTreeBuilder(doc, source, scratch).build()
    return propose(previous.fields, built.fields, mentioned_keys(parse_mappings(doc.get("x-mappings"))))


def _check_and_build(
    doc: Any, source: str, code: str | None, version: int | None, previous: IndicatorSet | None,
    stored: bool = False,
) -> tuple[ProblemList, IndicatorSet | None]:
    problems = ProblemList()
    if not isinstance(doc, dict):
        problems.add("指标集定义必须是 JSON 对象", definition=DefinitionRef(source, ""), code="metaschema")
        return problems, None
    doc = copy.deepcopy(doc)  # the model owns its copy; callers may keep mutating theirs
    if not check_structure(doc, source, problems):  # the shape is broken: the other checks would misread it
        check_syntax_only(doc, source, problems)
        return problems, None
    code, version = _identity(doc, source, code, version, problems)
    built = FieldTreeBuilder(doc, source, problems).build()
    if not stored:
        FieldChecker(source, problems).check(built.fields, built.keyword_pointers)
    expressions = ExpressionChecker(built.fields, built.keyword_pointers, source, problems, judge=not stored)
    expressions.check_fields()
    expressions.check_cycles()
    rules = expressions.check_rules(built.rules)
    check_choice_expressions(built.fields, built.keyword_pointers, rules, source, problems)
    mappings = parse_mappings(doc.get("x-mappings"))
    MappingChecker(source, problems).check(mappings, built.fields, version, previous, judge=not stored)
    if problems or code is None or version is None:
        return problems, None
    return problems, IndicatorSet(
        code=code,
        version=version,
        title=doc["title"],
        description=doc.get("description"),
        schema=doc,
        content_hash=content_hash(doc),
        source=source,
        period=doc.get("x-period"),
        sections=built.sections,
        fields=built.fields,
        rules=tuple(rules),
        mappings=mappings,
    )


def _identity(
    doc: dict[str, Any], source: str, code: str | None, version: int | None, problems: ProblemList
) -> tuple[str | None, int | None]:
    """Code and version: from the path when known; x-code/x-version must then agree."""
    for keyword, given, label in (("x-code", code, "目录名"), ("x-version", version, "文件名")):
        declared = doc.get(keyword)
        if declared is not None and given is not None and declared != given:
            problems.add(
                f"{labelled(keyword)}是「{declared}」，与{label}给出的「{given}」不一致",
                definition=DefinitionRef(source, f"/{keyword}"),
                code="identity",
            )
        elif declared is None and given is None:
            problems.add(
                f"无法确定指标集的{'编码' if keyword == 'x-code' else '版本'}：请写{labelled(keyword)}"
                "或从 <编码>/v<N>.json 文件加载",
                definition=DefinitionRef(source, ""),
                code="identity",
            )
    return (code if code is not None else doc.get("x-code")), (
        version if version is not None else doc.get("x-version")
    )


def _path_identity(path: Path) -> tuple[str, int]:
    match = VERSION_FILE.fullmatch(path.name)
    if match is None:
        raise DefinitionError(
            f"指标集文件名必须是 v<N>.json：{path}", definition=DefinitionRef(str(path), "")
        )
    return path.parent.name, int(match.group(1))


def load_indicator_file(path: str | Path, previous: IndicatorSet | None = None) -> IndicatorSet:
    """Load ``.../<code>/v<N>.json``. Without ``previous``, v<N-1>.json next to it (when present) is loaded
    as the previous version, so mappings and meaning changes are always checked."""
    path = Path(path)
    code, version = _path_identity(path)
    if previous is None:
        sibling = path.with_name(f"v{version - 1}.json")
        if version > 1 and sibling.is_file():
            previous = load_indicator_file(sibling)
    try:
        doc = parse_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(
            f"无法读取指标集文件 {path}：{exc}", definition=DefinitionRef(str(path), "")
        ) from exc
    except BadInput as exc:  # not JSON, or a key twice: where, in Chinese
        raise DefinitionError(f"指标集文件 {path}：{exc.message}", definition=DefinitionRef(str(path), "")) from exc
    return load_indicator_set(doc, str(path), code=code, version=version, previous=previous)


def discover(root: str | Path = DEFAULT_ROOT) -> list[Path]:
    """Every ``<code>/v<N>.json`` under ``root``, ordered by code then version number (v2 before v10).
    A relative ``root`` that does not exist from the working directory is taken from the repository."""
    base = Path(root)
    if not base.is_absolute() and not base.is_dir():
        base = REPO_ROOT / base
    found = [p for p in base.glob("*/v*.json") if VERSION_FILE.fullmatch(p.name)]
    return sorted(found, key=lambda p: (p.parent.name, int(VERSION_FILE.fullmatch(p.name).group(1))))


def load_all(root: str | Path = DEFAULT_ROOT) -> dict[str, list[IndicatorSet]]:
    """Every version of every set under ``root``, each checked against its predecessor."""
    loaded: dict[str, list[IndicatorSet]] = {}
    for path in discover(root):
        versions = loaded.setdefault(path.parent.name, [])
        versions.append(load_indicator_file(path, previous=versions[-1] if versions else None))
    return loaded
