"""Set-based reads and writes for batches: one parameter per table, one statement per batch, not per row.

The unit of work flushes 500 changed rows as 500 parameter sets, and builds each from the object's
attribute history in Python: for a batch of approvals that costs more than PostgreSQL's work. Here a
batch goes as one JSON document, unpacked on the server by ``jsonb_to_recordset``:

    UPDATE t SET a = r.a, b = r.b FROM jsonb_to_recordset(:rows) AS r(id bigint, a …, b …) WHERE t.id = r.id

and the objects' written attributes are marked as committed, so the session does not write them again
and every caller keeps reading current values from its objects. Several such writes (updates of
different tables, inserts) go together as data-modifying CTEs of one statement (``write_together``). The
rows must be locked (or otherwise owned) by the caller's transaction, as for any flush.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import ColumnElement, Table, any_, bindparam, inspect, literal, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstanceState, Session
from sqlalchemy.orm.attributes import set_committed_value

_DIALECT = postgresql.dialect()


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be written in a batch")


def rows_json(rows: Iterable[dict[str, Any]]) -> str:
    """Rows as one JSON array (timestamps as ISO 8601), for ``jsonb_to_recordset``."""
    return json_text(list(rows))


def json_text(value: Any) -> str:
    """``value`` as JSON text for a ``CAST(… AS jsonb)`` parameter.

    orjson encodes a batch of 500 reports about 8× faster than ``json``; what it refuses (an integer
    beyond 64 bits, which a clerk can type) goes the standard way."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, default=_json_default, separators=(",", ":"))


@lru_cache(maxsize=256)
def recordset_columns(table: Table, names: tuple[str, ...]) -> str:
    """``name type, …`` of ``table``'s columns, for ``jsonb_to_recordset(…) AS r(…)``: compiled once per
    table and column list (every batch and every HTTP submit asks for the same few)."""
    return ", ".join(f"{name} {column_type(table, name)}" for name in names)


@lru_cache(maxsize=256)
def column_type(table: Table, name: str) -> str:
    """The SQL type of ``table.name``, compiled once (~28 µs each time otherwise)."""
    return str(table.c[name].type.compile(dialect=_DIALECT))


def any_of(column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column = ANY(:array)``: one parameter for a batch's ids. ``IN`` would send one placeholder per
    value, and a query string that long is parsed again by psycopg on every execution."""
    return column == any_(literal(list(values), ARRAY(column.type)))


def any_param(column: Any, name: str) -> ColumnElement[bool]:
    """``column = ANY(:name)``, the array given when the statement runs: for statements built once
    (a statement object that is reused keeps its cache key; building a select and its key costs more
    than PostgreSQL's work for a one-row lookup)."""
    return column == any_(bindparam(name, type_=ARRAY(column.type)))


def one_param(column: Any, name: str) -> ColumnElement[bool]:
    """``column = :name``: ``any_param``'s twin for one value (see ``ByCount``)."""
    return column == bindparam(name, type_=column.type)


S = TypeVar("S")


@dataclass(frozen=True)
class ByCount(Generic[S]):
    """A statement built once in two shapes: for one id (``column = :name``) and for a batch
    (``column = ANY(:name)``).

    PostgreSQL keeps a prepared statement's generic plan only when its estimated cost is no higher than
    that of the plans it makes for each execution's values. It estimates ``= ANY(:array)`` at ten rows,
    so a one-row statement written with ``ANY`` is planned again at every execution: for an HTTP submit
    that was ~0.7 ms of the server's CPU in its read alone. Written with ``=``, it is planned once per
    connection."""

    one: S
    many: S

    @classmethod
    def build(cls, make: Callable[[Callable[[Any, str], ColumnElement[bool]]], S]) -> ByCount[S]:
        """``make(match)`` builds the statement, ``match(column, name)`` being its id condition."""
        return cls(make(one_param), make(any_param))

    def pick(self, **ids: Sequence[Any]) -> tuple[S, dict[str, Any]]:
        """The statement and its parameters for these id lists: the one-row shape when each has one id."""
        match, params = shape_for(**ids)
        return (self.one if match is one_param else self.many), params


def shape_for(**ids: Sequence[Any]) -> tuple[Callable[[Any, str], ColumnElement[bool]], dict[str, Any]]:
    """The id condition for these id lists (``one_param`` when each has one id, else ``any_param``) and
    their parameters: ``ByCount.pick``'s choice, for a statement that cannot be built once."""
    if all(len(values) == 1 for values in ids.values()):
        return one_param, {name: values[0] for name, values in ids.items()}
    return any_param, {name: list(values) for name, values in ids.items()}


def _settle(obj: Any, row: dict[str, Any], session: Session) -> None:
    """Mark the written values of ``obj`` as committed, so no flush writes them again.

    When the write carries every change the object holds (the usual case), the whole object is marked
    unmodified at once; ``set_committed_value`` per column would also leave it in the session's
    modified set, and every later flush would walk those objects to find nothing (a tenth of a batch
    of 500 submits). An object holding other changes keeps them for the flush. (SQLAlchemy has no
    public call for the first case: the version is pinned, and tests guard the behaviour.)"""
    state: InstanceState[Any] = inspect(obj)
    if state.committed_state.keys() <= row.keys():
        if state.modified:
            state._commit_all(state.dict, session.identity_map)
        return
    for name, value in row.items():
        if name != "id":
            set_committed_value(obj, name, value)


@dataclass(frozen=True)
class Copy:
    """Also append the rows an ``Update`` wrote to a history ``table``, from the updated rows themselves
    (so a report travels to the server once, not once per table). ``columns``: history column -> column
    of the updated table; ``constants``: history column -> one value for every row."""

    table: Table
    columns: Mapping[str, str]
    constants: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Update:
    """Write ``columns`` of ``objects`` (one mapped class, primary key ``id``)."""

    objects: Sequence[Any]
    columns: Sequence[str]
    copy: Copy | None = None


@dataclass(frozen=True)
class Insert:
    """INSERT ``rows`` (dicts with the same keys) into ``table``; columns they do not name keep their
    defaults. (The ORM's bulk insert sends one parameter set per row: for a batch of 500 new tasks that
    cost as much as the batch's validation.)"""

    table: Table
    rows: Sequence[dict[str, Any]]
    # key columns: rows already there are skipped (ON CONFLICT DO NOTHING), the rest inserted in key
    # order, so concurrent batches take the key locks in one order and cannot deadlock
    skip_existing: tuple[str, ...] = ()


def write_together(session: Session, *writes: Update | Insert) -> None:
    """The writes as one statement: each an ``UPDATE … FROM jsonb_to_recordset`` or ``INSERT … SELECT``,
    several joined as data-modifying CTEs, which PostgreSQL runs once each, whether read or not. One
    round trip and one statement's overhead in the driver and SQLAlchemy instead of one per table.
    The statements must touch different rows (a row changed twice in one statement is an error).
    An ``Update`` with a ``Copy`` is two parts: the UPDATE … RETURNING and the INSERT reading it.
    Foreign keys are checked at the end of the statement, so a row may refer to one inserted with it."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    for n, write in enumerate(writes):
        if isinstance(write, Update):
            parts += _update(session, write, n, len(parts), params)
        elif write.rows:
            parts.append(_insert(write, n, params))
    if not parts:
        return
    sql = parts[0] if len(parts) == 1 else "WITH " + ", ".join(
        f"w{k} AS ({part})" for k, part in enumerate(parts[:-1])) + " " + parts[-1]
    with session.no_autoflush:
        session.execute(_statement(sql), params)


# A batch's statement has one of a few shapes (one per combination of parts): each is parsed for its
# parameters once, and the reused object keeps its cache key.
_statement = lru_cache(maxsize=512)(text)


def _update(session: Session, write: Update, n: int, at: int, params: dict[str, Any]) -> list[str]:
    """The UPDATE (part ``w{at}``), and the INSERT of its copy reading that part's RETURNING."""
    if not write.objects:
        return []
    table: Table = type(write.objects[0]).__table__
    rows = [{"id": obj.id, **{name: getattr(obj, name) for name in write.columns}} for obj in write.objects]
    for obj, row in zip(write.objects, rows, strict=True):  # before the statement: nothing left to flush
        _settle(obj, row, session)
    params[f"rows{n}"] = rows_json(rows)
    # one row: "=" rather than "= ANY", so PostgreSQL keeps its generic plan (see ByCount)
    if len(rows) == 1:
        params[f"ids{n}"], which = rows[0]["id"], f"t.id = CAST(:ids{n} AS bigint)"
    else:
        params[f"ids{n}"], which = [row["id"] for row in rows], f"t.id = ANY(CAST(:ids{n} AS bigint[]))"
    assignments = ", ".join(f"{name} = r.{name}" for name in write.columns)
    update = (
        f"UPDATE {table.name} AS t SET {assignments}"
        f" FROM jsonb_to_recordset(CAST(:rows{n} AS jsonb)) AS r({recordset_columns(table, ('id', *write.columns))})"
        # the ids make the rows to change an index lookup: a function's rows are estimated at 100,
        # and a hash join against that would read the whole table
        f" WHERE t.id = r.id AND {which}"
    )
    if write.copy is None:
        return [update]
    copy = write.copy
    sources = ", ".join(f"t.{source}" for source in copy.columns.values())
    constants = []
    for k, (name, value) in enumerate(copy.constants.items()):
        params[f"c{n}_{k}"] = value
        constants.append(f"CAST(:c{n}_{k} AS {column_type(copy.table, name)})")
    return [f"{update} RETURNING {sources}",
            f"INSERT INTO {copy.table.name} ({', '.join([*copy.columns, *copy.constants])})"
            f" SELECT {', '.join(['*', *constants])} FROM w{at}"]


def _insert(write: Insert, n: int, params: dict[str, Any]) -> str:
    first = write.rows[0]
    if any(row.keys() != first.keys() for row in write.rows):
        raise ValueError(f"rows for {write.table.name} name different columns")
    params[f"rows{n}"] = rows_json(write.rows)
    listed = ", ".join(first)
    key = ", ".join(write.skip_existing)
    return (f"INSERT INTO {write.table.name} ({listed}) SELECT {listed}"
            f" FROM jsonb_to_recordset(CAST(:rows{n} AS jsonb)) AS r({recordset_columns(write.table, tuple(first))})"
            + (f" ORDER BY {key} ON CONFLICT ({key}) DO NOTHING" if key else ""))
