"""psycopg's ``cursor.description``, built only when a column of it is read.

psycopg 3 builds a ``Column`` object for every column of the result each time ``description`` is read
(~0.8 µs a column here; psycopg/psycopg#446, #1240). SQLAlchemy reads it after every statement, but
for a statement it has run before it only asks whether there is one: the columns are described by the
result metadata it keeps with the compiled statement. The submit's locked read returns 52 columns, so
every submit built over 50 ``Column`` objects that nothing looked at.

``LazyDescriptionCursor.description`` answers with the number of columns at once and builds the
``Column`` objects (psycopg's own, for the result it was asked about) when one is first read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import psycopg
from psycopg import Column, pq

# psycopg describes a result with no columns too when it says it carries rows (``SELECT ;``).
_ROWS = frozenset({pq.ExecStatus.TUPLES_OK, pq.ExecStatus.SINGLE_TUPLE, pq.ExecStatus.TUPLES_CHUNK})


class _ResultOf:
    """What psycopg's ``Column`` reads from its cursor, with the result fixed: the description stays
    that of the statement it was asked about after the cursor has run the next one."""

    __slots__ = ("pgresult", "_cursor")

    def __init__(self, cursor: psycopg.Cursor[Any], pgresult: pq.abc.PGresult) -> None:
        self.pgresult = pgresult
        self._cursor = cursor

    @property
    def _encoding(self) -> str:
        return self._cursor._encoding  # psycopg is pinned; tests compare with psycopg's own description

    @property
    def adapters(self) -> Any:
        return self._cursor.adapters


class LazyDescription(Sequence[Column]):
    __slots__ = ("_result", "_count", "_columns")

    def __init__(self, result: _ResultOf, count: int) -> None:
        self._result = result
        self._count = count
        self._columns: list[Column] | None = None

    def _built(self) -> list[Column]:
        if self._columns is None:
            self._columns = [Column(self._result, i) for i in range(self._count)]  # type: ignore[arg-type]
        return self._columns

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> Column: ...

    @overload
    def __getitem__(self, index: slice) -> list[Column]: ...

    def __getitem__(self, index: int | slice) -> Column | list[Column]:
        return self._built()[index]

    def __iter__(self) -> Iterator[Column]:
        return iter(self._built())

    def __repr__(self) -> str:
        return repr(self._built())


class LazyDescriptionCursor(psycopg.Cursor[Any]):
    """psycopg's cursor, with ``description`` as above. Set as a connection's ``cursor_factory``."""

    @property
    def description(self) -> LazyDescription | None:  # type: ignore[override]
        result = self.pgresult
        if result and (result.nfields or result.status in _ROWS):
            return LazyDescription(_ResultOf(self, result), result.nfields)
        return None
