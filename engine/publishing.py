"""Definitions in PostgreSQL: published versions are immutable, identified by code + version + hash.

Publishing the same content again is a no-op; different content under a published version number is
refused. Loaded models (indicator sets, process definitions) are cached by content hash: they are
immutable, so one parsed copy serves every request and every instance of that version.
``indicator_set_model`` / ``process_model`` read only a version's head (code, version, hash, status) —
the content only when no cached model has that hash — and within one transaction not even that.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from engine.audit import record
from engine.db.models import IndicatorSetVersion, ProcessVersion
from engine.definitions import IndicatorSet, content_hash, discover, load_indicator_file, load_indicator_set
from engine.definitions.json_text import parse_json
from engine.definitions.loader import VERSION_FILE
from engine.errors import BadInput, Conflict, NotFound
from engine.workflows.definition import ProcessDefinition, load_process_definition, load_process_file

T = TypeVar("T")


class _HashCache:
    """A small LRU keyed by content hash, safe across request threads."""

    def __init__(self, size: int = 64) -> None:
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], build: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()  # built outside the lock: parsing can take milliseconds
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


_INDICATOR_CACHE = _HashCache()
_PROCESS_CACHE = _HashCache()


@dataclass(frozen=True)
class Published:
    kind: str  # "indicator_set" | "process"
    code: str
    version: int
    id: int
    created: bool  # False: the same content was already published (no-op)


# Published and retired versions never change, so within one transaction a model found once is
# kept in session.info (no query at all the next time). Keyed by the innermost transaction: a version
# published in a transaction or savepoint that is rolled back must not outlive it.
_MEMO_KEY = "grassroots.published_models"
_IMMUTABLE = ("published", "retired")


def _memo(session: Session) -> dict[tuple[str, int], Any] | None:
    txn = session.get_nested_transaction() or session.get_transaction()
    if txn is None:
        return None
    held = session.info.get(_MEMO_KEY)
    if held is None or held[0]() is not txn:
        held = session.info[_MEMO_KEY] = (weakref.ref(txn), {})
    return held[1]


def _memoised(session: Session, key: tuple[str, int], build: Callable[[], tuple[T, bool]]) -> T:
    memo = _memo(session)
    if memo is not None and key in memo:
        return memo[key]
    value, immutable = build()
    memo = _memo(session)  # build() may have begun the transaction
    if immutable and memo is not None:
        memo[key] = value
    return value


def head_columns(model: type[IndicatorSetVersion] | type[ProcessVersion]) -> tuple[Any, ...]:
    """A version's identity columns (which cached model it is). A query that already joins the version
    row can read them along and hand them to ``indicator_set_model``/``process_model`` as ``head``,
    saving the model lookup its own round trip."""
    return model.code, model.version, model.content_hash, model.status


@dataclass(frozen=True)
class Head:
    code: str
    version: int
    content_hash: str
    status: str


def _head(model: type[IndicatorSetVersion] | type[ProcessVersion]) -> Any:
    # built once: the statement (and its cache key) is the same on every call
    return select(*head_columns(model)).where(model.id == bindparam("id"))


_INDICATOR_HEAD = _head(IndicatorSetVersion)
_PROCESS_HEAD = _head(ProcessVersion)


def indicator_set_model(session: Session, version_id: int, head: Head | None = None) -> IndicatorSet:
    return _memoised(session, ("ind", version_id), lambda: _load_indicator_set(session, version_id, head))


def _load_indicator_set(session: Session, version_id: int, head: Any = None) -> tuple[IndicatorSet, bool]:
    """Only the identity columns: the 20 KB content is read when the model cache does not hold the hash."""
    v = IndicatorSetVersion
    head = head or session.execute(_INDICATOR_HEAD, {"id": version_id}).first()
    if head is None:
        raise NotFound(f"指标集版本 {version_id} 不存在")
    if head.status not in _IMMUTABLE:  # a draft: its row may be changing in this session
        row = session.get(IndicatorSetVersion, version_id)
        if row is None:
            raise NotFound(f"指标集版本 {version_id} 不存在")
        return indicator_set_from_row(session, row), False

    def build() -> IndicatorSet:
        content, source = session.execute(select(v.content, v.source).where(v.id == version_id)).one()
        return _build_indicator_set(session, head.code, head.version, content, source)

    return _INDICATOR_CACHE.get(("ind", head.code, head.version, head.content_hash), build), True


def indicator_set_from_row(session: Session, row: IndicatorSetVersion) -> IndicatorSet:
    return _INDICATOR_CACHE.get(
        ("ind", row.code, row.version, row.content_hash),
        lambda: _build_indicator_set(session, row.code, row.version, row.content, row.source),
    )


def _build_indicator_set(session: Session, code: str, version: int, content: dict[str, Any],
                         source: str | None) -> IndicatorSet:
    previous = _previous_indicator_set(session, code, version)
    return load_indicator_set(content, source or f"{code}/v{version}.json", code=code, version=version,
                              previous=previous, stored=True)


def process_model(session: Session, version_id: int, head: Head | None = None) -> ProcessDefinition:
    return _memoised(session, ("proc", version_id), lambda: _load_process(session, version_id, head))


def _load_process(session: Session, version_id: int, head: Any = None) -> tuple[ProcessDefinition, bool]:
    """Only the identity columns: the BPMN text is read when the model cache does not hold the hash."""
    v = ProcessVersion
    head = head or session.execute(_PROCESS_HEAD, {"id": version_id}).first()
    if head is None:
        raise NotFound(f"流程版本 {version_id} 不存在")
    if head.status not in _IMMUTABLE:
        row = session.get(ProcessVersion, version_id)
        if row is None:
            raise NotFound(f"流程版本 {version_id} 不存在")
        return process_from_row(row), False

    def build() -> ProcessDefinition:
        bpmn, source = session.execute(select(v.bpmn, v.source).where(v.id == version_id)).one()
        return _build_process(head.code, head.version, bpmn, source, published=True)

    return _PROCESS_CACHE.get(("proc", head.code, head.version, head.content_hash), build), True


def process_from_row(row: ProcessVersion) -> ProcessDefinition:
    return _PROCESS_CACHE.get(
        ("proc", row.code, row.version, row.content_hash),
        lambda: _build_process(row.code, row.version, row.bpmn, row.source, published=row.status in _IMMUTABLE),
    )


def _build_process(code: str, version: int, bpmn: str, source: str | None, *, published: bool) -> ProcessDefinition:
    """A stored version's model. A published one is loaded by the rules its instances rely on only: it
    cannot change, and a rule added after it was published must not stop them (``checks.LOAD_RULES``)."""
    return load_process_definition(bpmn.encode("utf-8"), source or f"{code}/v{version}.bpmn",
                                   code=code, version=version, published=published)


def previous_process_id(session: Session, code: str, version: int) -> str | None:
    """The process id of the version of ``code`` published (or retired) last before ``version``: a new
    version must keep it."""
    v = ProcessVersion
    previous = session.scalar(
        select(v.id).where(v.code == code, v.version < version, v.status.in_(_IMMUTABLE))
        .order_by(v.version.desc()).limit(1)
    )
    return process_model(session, previous).process_id if previous is not None else None


def _previous_indicator_set(session: Session, code: str, version: int) -> IndicatorSet | None:
    v = IndicatorSetVersion
    previous_id = session.scalar(
        select(v.id)
        .where(v.code == code, v.version < version, v.status.in_(_IMMUTABLE))
        .order_by(v.version.desc())
        .limit(1)
    )
    return indicator_set_model(session, previous_id) if previous_id is not None else None


def indicator_set_chain(session: Session, old: IndicatorSet, new: IndicatorSet) -> list[IndicatorSet]:
    """``old``, the published (or retired) versions of its set between the two, and ``new``: the steps
    their x-mappings declare, each from the version published before it."""
    v = IndicatorSetVersion
    between = session.scalars(
        select(v.id)
        .where(v.code == old.code, v.version > old.version, v.version < new.version, v.status.in_(_IMMUTABLE))
        .order_by(v.version)
    ).all()
    return [old, *(indicator_set_model(session, version_id) for version_id in between), new]


def latest_published_indicator_set(session: Session, code: str) -> IndicatorSetVersion | None:
    return session.scalar(
        select(IndicatorSetVersion)
        .where(IndicatorSetVersion.code == code, IndicatorSetVersion.status == "published")
        .order_by(IndicatorSetVersion.version.desc())
        .limit(1)
    )


# kind -> (row class, Chinese name): the two kinds of definition share one immutability rule.
_KINDS: dict[str, tuple[type[IndicatorSetVersion] | type[ProcessVersion], str]] = {
    "indicator_set": (IndicatorSetVersion, "指标集"),
    "process": (ProcessVersion, "流程"),
}


def _publish(
    session: Session,
    kind: str,
    *,
    code: str,
    version: int,
    content_hash: str,
    fields: dict[str, Any],
    actor_id: int | None,
    change_note: str | None,
) -> Published:
    """Store a checked version once: the same content again is a no-op, other content is refused."""
    model, label = _KINDS[kind]
    row = session.scalar(select(model).where(model.code == code, model.version == version))
    if row is not None and row.status != "draft":
        if row.content_hash == content_hash:
            return Published(kind, code, version, row.id, created=False)
        raise Conflict(
            f"{label} {code} 第 {version} 版已发布，内容不能再改；请另建新版本",
            details={"code": code, "version": version, "published_hash": row.content_hash},
        )
    if row is None:
        row = model(code=code, version=version)
        session.add(row)
    for name, value in {**fields, "content_hash": content_hash, "status": "published", "change_note": change_note,
                        "published_at": dt.datetime.now(dt.UTC), "published_by": actor_id}.items():
        setattr(row, name, value)
    if "content" in fields:  # over a draft equal as data but in another key order: still written
        flag_modified(row, "content")
    session.flush()
    record(session, actor_id, "publish", kind, f"{code}/v{version}",
           {"content_hash": content_hash, "change_note": change_note})
    return Published(kind, code, version, row.id, created=True)


def publish_indicator_set(
    session: Session,
    doc: dict[str, Any],
    *,
    code: str,
    version: int,
    source: str | None = None,
    actor_id: int | None = None,
    change_note: str | None = None,
) -> Published:
    """Check against the previous published version, then store immutably (or no-op)."""
    same = _already_published(session, code, version, content_hash(doc))
    if same is not None:
        return same
    source = source or f"{code}/v{version}.json"
    ind = load_indicator_set(
        doc, source, code=code, version=version, previous=_previous_indicator_set(session, code, version)
    )
    return _publish(session, "indicator_set", code=code, version=version, content_hash=ind.content_hash,
                    fields={"title": ind.title, "content": ind.schema, "source": source},
                    actor_id=actor_id, change_note=change_note)


def publish_process(
    session: Session,
    bpmn: bytes,
    *,
    code: str,
    version: int,
    source: str | None = None,
    actor_id: int | None = None,
    change_note: str | None = None,
) -> Published:
    source = source or f"{code}/v{version}.bpmn"
    defn = load_process_definition(bpmn, source, code=code, version=version,
                                   previous_process_id=previous_process_id(session, code, version))
    return _publish(session, "process", code=code, version=version, content_hash=defn.content_hash,
                    fields={"title": defn.spec.description or defn.process_id, "bpmn": bpmn.decode("utf-8"),
                            "spec": defn.spec_dict, "source": source},
                    actor_id=actor_id, change_note=change_note)


def _already_published(session: Session, code: str, version: int, digest: str) -> Published | None:
    """This very content, published before: a no-op without checking it again. A later, stricter checker
    (correspondences left unsaid, say) must not stop a definitions tree that holds a version published
    under the old one from being published again (``make demo`` publishes definitions/ on every start)."""
    v = IndicatorSetVersion
    row = session.scalar(select(v).where(v.code == code, v.version == version))
    if row is not None and row.status in _IMMUTABLE and row.content_hash == digest:
        return Published("indicator_set", code, version, row.id, created=False)
    return None


def _published_file(session: Session, path: Path) -> Published | None:
    match = VERSION_FILE.fullmatch(path.name)
    try:
        doc = parse_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, BadInput):
        return None  # the full load below says what is wrong
    if match is None or not isinstance(doc, dict):
        return None
    return _already_published(session, path.parent.name, int(match.group(1)), content_hash(doc))


def publish_indicator_file(session: Session, path: Path, **kw: Any) -> Published:
    same = _published_file(session, path)
    if same is not None:
        return same
    ind = load_indicator_file(path)  # file-level check incl. the sibling previous version
    return publish_indicator_set(session, ind.schema, code=ind.code, version=ind.version,
                                 source=_display_path(path), **kw)


def publish_process_file(session: Session, path: Path, **kw: Any) -> Published:
    defn = load_process_file(path)
    return publish_process(session, path.read_bytes(), code=defn.code, version=defn.version,
                           source=_display_path(path), **kw)


def publish_tree(session: Session, root: Path, *, actor_id: int | None = None) -> list[Published]:
    """Publish every indicator set and process under ``root`` (``indicators/``, ``processes/``)."""
    results = [publish_indicator_file(session, p, actor_id=actor_id) for p in discover(root / "indicators")]
    for path in sorted((root / "processes").glob("*/v*.bpmn"), key=_version_order):
        results.append(publish_process_file(session, path, actor_id=actor_id))
    return results


def _version_order(path: Path) -> tuple[str, int]:
    return path.parent.name, int(path.stem[1:]) if path.stem[1:].isdigit() else 0


def _display_path(path: Path) -> str:
    parts = path.resolve().parts
    if "definitions" in parts:
        return "/".join(parts[parts.index("definitions"):])
    return path.as_posix()


def find_process_version(session: Session, code: str, version: int | None = None) -> ProcessVersion:
    q = select(ProcessVersion).where(ProcessVersion.code == code, ProcessVersion.status == "published")
    if version is not None:
        q = q.where(ProcessVersion.version == version)
    row = session.scalar(q.order_by(ProcessVersion.version.desc()).limit(1))
    if row is None:
        raise NotFound(f"未找到已发布的流程 {code}" + (f" 第 {version} 版" if version else ""))
    return row


def find_indicator_set_version(session: Session, code: str, version: int | None = None) -> IndicatorSetVersion:
    q = select(IndicatorSetVersion).where(IndicatorSetVersion.code == code,
                                          IndicatorSetVersion.status == "published")
    if version is not None:
        q = q.where(IndicatorSetVersion.version == version)
    row = session.scalar(q.order_by(IndicatorSetVersion.version.desc()).limit(1))
    if row is None:
        raise NotFound(f"未找到已发布的指标集 {code}" + (f" 第 {version} 版" if version else ""))
    return row
