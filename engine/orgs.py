"""The org hierarchy, keyed by the 12-digit statistical division code (统计用区划代码).

Code structure (国统字〔2009〕91号): 2 province + 2 city + 2 county + 3 township + 3 village digits.
A unit's parent is its code truncated at its own level and zero-filled, so a unit's subtree is the set
of codes that start with its *prefix* (2, 4, 6, 9 or 12 digits). Scope filters and roll-ups use that
prefix on an index with ``varchar_pattern_ops`` and never walk the tree.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, case, insert, select, update
from sqlalchemy.orm import Session

from engine.audit import record
from engine.db.models import OrgUnit, Submission
from engine.errors import BadInput, NotFound, Problem
from engine.roles import LEVEL_LABELS, Level

CODE_RE = re.compile(r"^[0-9]{12}$")  # ASCII: \d would take full-width digits

# Level -> how many leading digits identify a unit of that level (its subtree prefix).
PREFIX_LENGTH: dict[Level, int] = {
    Level.PROVINCE: 2,
    Level.CITY: 4,
    Level.COUNTY: 6,
    Level.TOWNSHIP: 9,
    Level.VILLAGE: 12,
}
# Checked from the deepest level up: the first non-zero segment decides the level.
_SEGMENTS: tuple[tuple[Level, slice], ...] = (
    (Level.VILLAGE, slice(9, 12)),
    (Level.TOWNSHIP, slice(6, 9)),
    (Level.COUNTY, slice(4, 6)),
    (Level.CITY, slice(2, 4)),
)

SAMPLE_PROVINCE_CSV = Path(__file__).resolve().parents[1] / "data" / "sample_province.csv"


def code_problem(code: str) -> str | None:
    """A Chinese reason why ``code`` is not a well-formed division code, or None."""
    if not CODE_RE.match(code or ""):
        return "区划代码必须是12位数字"
    if code[:2] == "00":
        return "区划代码前两位(省级)不能为00"
    township, village = int(code[6:9]), int(code[9:12])
    if township > 599:
        return "乡级代码(第7–9位)应在001–599之间"
    if village > 599:
        return "村级代码(第10–12位)应在001–599之间"
    if village and not township:
        return "村级单位必须属于一个乡级单位(第7–9位不能为000)"
    return None


def level_of(code: str) -> Level:
    for level, seg in _SEGMENTS:
        if int(code[seg]):
            return level
    return Level.PROVINCE


def prefix_of(code: str) -> str:
    return code[: PREFIX_LENGTH[level_of(code)]]


def parent_of(code: str) -> str | None:
    level = level_of(code)
    if level == Level.PROVINCE:
        return None
    keep = PREFIX_LENGTH[Level(level - 1)]
    return code[:keep].ljust(12, "0")


def ancestor_at(code: str, level: Level) -> str:
    """The code of ``code``'s ancestor (or itself) at ``level``."""
    return code[: PREFIX_LENGTH[level]].ljust(12, "0")


def in_subtree(column: ColumnElement[str], code: str) -> ColumnElement[bool]:
    """SQL: ``column`` names ``code`` or a unit below it (uses the pattern-ops index)."""
    return column.like(prefix_of(code) + "%")


def is_within(code: str, ancestor: str) -> bool:
    return code.startswith(prefix_of(ancestor))


CLOSED_MARK = " [已撤销]"


def unit_label(name: str, valid_to: dt.date | None, today: dt.date) -> str:
    """A unit's name as a list shows it: a unit closed since a collection began still reports in it
    (its units are fixed when it starts), marked as the division lists mark it."""
    return name + CLOSED_MARK if valid_to is not None and valid_to <= today else name


def unit_label_sql(today: dt.date) -> ColumnElement[str]:
    """``unit_label`` of OrgUnit's row, in SQL (for queries that read many units' names)."""
    return case((OrgUnit.valid_to <= today, OrgUnit.name + CLOSED_MARK), else_=OrgUnit.name)


def overlaps(code: str, other: str) -> bool:
    """One of the two units is within the other: a collection's scope and a unit it has figures for."""
    return is_within(code, other) or is_within(other, code)


def require_in_scope(unit: OrgUnit, scope_org_code: str) -> None:
    """A unit beside a collection's scope has nothing in it: say so rather than answer with an empty
    table that reads as "reported nothing" (a unit above the scope reads the scope's figures)."""
    if not overlaps(unit.code, scope_org_code):
        raise NotFound(f"{unit.name}（{unit.code}）不在本采集任务的范围内")


@dataclass(frozen=True)
class UnitRow:
    code: str
    name: str
    parent: str | None = None
    urban_rural_class: str | None = None
    line: int | None = None  # the line in the file (as an editor or Excel numbers it); None: not from a file


class ImportFailed(BadInput):
    """The import file has bad rows; nothing was imported."""


# 城乡分类代码 (国统字〔2008〕76号), as the village_basic indicator set offers them.
URBAN_RURAL_CLASSES: dict[str, str] = {
    "111": "主城区", "112": "城乡结合区", "121": "镇中心区", "122": "镇乡结合区", "123": "特殊区域",
    "210": "乡中心区", "220": "村庄",
}
NAME_MAX = OrgUnit.__table__.c.name.type.length
HEADER_FIRST_CELLS = {"code", "区划代码", "代码"}
# A file saved with another separator reads as one column per line: say so once, not once per line.
OTHER_SEPARATORS: dict[str, str] = {"\t": "制表符", ";": "分号", "，": "中文逗号", "|": "竖线"}
# What Excel writes: UTF-8 (with a BOM when "CSV UTF-8"), or the system code page on Chinese Windows
# (GBK, of which GB18030 is the superset).
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


def decode_csv(data: bytes, source: str = "<csv>") -> str:
    """The text of a CSV file in one of ``CSV_ENCODINGS``, or BadInput (an .xlsx, any other binary)."""
    if b"\0" not in data:  # binary files (xlsx is a zip) have NUL bytes; text in these encodings never
        for encoding in CSV_ENCODINGS:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise BadInput(f"文件不是 CSV 文本（UTF-8 或 GBK 编码）：{source}。Excel 文件请先“另存为”CSV 格式")


def read_units_file(path: Path) -> list[UnitRow]:
    return read_units_csv(decode_csv(path.read_bytes(), str(path)), str(path))


def read_units_csv(text: str, source: str = "<csv>") -> list[UnitRow]:
    """Parse ``code,name[,parent[,urban_rural_class]]`` rows (a header row is optional); each row keeps
    its line number in the file."""
    rows: list[UnitRow] = []
    first = True
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    for fields in reader:
        if not fields or not "".join(fields).strip():
            continue
        if first:
            first = False
            separator = next((name for sep, name in OTHER_SEPARATORS.items()
                              if len(fields) == 1 and sep in fields[0]), None)
            if separator:
                raise BadInput(f"{source} 的各列应以英文逗号分隔（code,name,parent,urban_rural_class），"
                               f"第{reader.line_num}行用的是{separator}：请另存为“CSV（逗号分隔）”")
            if fields[0].strip().lower() in HEADER_FIRST_CELLS:
                continue
        cells = [c.strip() for c in fields] + ["", "", ""]
        rows.append(UnitRow(cells[0], cells[1], cells[2] or None, cells[3] or None, line=reader.line_num))
    return rows


def import_units(session: Session, rows: list[UnitRow], *, source: str = "<csv>", actor_id: int | None = None) -> int:
    """Validate every row, then insert all of them, or raise ImportFailed naming each bad row.

    Parents may come earlier or later in the same file, or already exist in the database.
    The caller owns the transaction: on ImportFailed nothing has been written.
    """
    if not rows:
        raise ImportFailed(f"导入失败：{source} 中没有单位数据（空文件，或只有表头）")
    problems: list[Problem] = []
    codes = [r.code for r in rows]
    existing = set(session.scalars(select(OrgUnit.code).where(OrgUnit.code.in_(codes))))
    seen: dict[str, int] = {}
    lines = [row.line or i for i, row in enumerate(rows, start=1)]
    for n, row in zip(lines, rows, strict=True):
        where = f"第{n}行"

        def bad(msg: str, row: UnitRow = row, where: str = where, n: int = n) -> None:
            problems.append(Problem(f"{where}（{row.code}）：{msg}", data_path=str(n), code="bad_row"))

        if not row.name:
            bad("名称不能为空")
        elif len(row.name) > NAME_MAX:
            bad(f"名称不能超过{NAME_MAX}个字符（现有{len(row.name)}个）")
        if row.urban_rural_class and row.urban_rural_class not in URBAN_RURAL_CLASSES:
            allowed = "、".join(f"{k} {v}" for k, v in URBAN_RURAL_CLASSES.items())
            bad(f"城乡分类代码 {row.urban_rural_class} 无效（应为空，或 {allowed}）")
        reason = code_problem(row.code)
        if reason:
            bad(reason)
            continue
        if row.code in seen:
            bad(f"区划代码重复（与第{seen[row.code]}行相同）")
            continue
        seen[row.code] = n
        if row.code in existing:
            bad("区划代码已存在")
        derived = parent_of(row.code)
        if row.parent and row.parent != derived:
            bad(f"上级代码 {row.parent} 与区划代码不一致（应为 {derived}）")
    wanted_parents = {parent_of(r.code) for r in rows if not code_problem(r.code)} - {None} - set(seen)
    known_parents = set(session.scalars(select(OrgUnit.code).where(OrgUnit.code.in_(wanted_parents))))
    for n, row in zip(lines, rows, strict=True):
        parent = None if code_problem(row.code) else parent_of(row.code)
        if parent and parent not in seen and parent not in known_parents:
            problems.append(
                Problem(f"第{n}行（{row.code}）：上级单位 {parent} 不存在", data_path=str(n), code="unknown_parent")
            )
    if problems:
        bad_rows = len({p.data_path for p in problems})
        problems.sort(key=lambda p: int(p.data_path or 0))  # in file order, a row's problems together
        raise ImportFailed(f"导入失败：{bad_rows} 行有错误，未导入任何数据", problems=problems)
    ordered = sorted(rows, key=lambda r: level_of(r.code))
    session.execute(
        insert(OrgUnit),
        [
            {
                "code": r.code,
                "name": r.name,
                "level": int(level_of(r.code)),
                "parent_code": parent_of(r.code),
                "urban_rural_class": r.urban_rural_class,
            }
            for r in ordered
        ],
    )
    # one entry per import, on its topmost unit; the file and the count say the rest
    record(session, actor_id, "import_units", "org_unit", ordered[0].code, {"source": source, "units": len(ordered)})
    return len(ordered)


def close_unit(
    session: Session, code: str, *, on: dt.date, replaced_by: str | None = None, actor_id: int | None = None
) -> None:
    """Close (or merge away) a unit without rewriting history: its rows and data stay.

    A successor named in ``replaced_by`` starts being valid on the same day when it is new (it has never
    reported); an existing unit the other is merged into keeps its start. Refused: a unit closed
    already (its closing date is history), one with open subordinate units (they would hang under a
    closed unit), a merge into itself, into a unit of another level, or into a closed unit.
    """
    unit = session.get(OrgUnit, code, with_for_update=True)
    if unit is None:
        raise NotFound(f"区划代码 {code} 不存在")
    if unit.valid_to is not None:
        merged = f"并入 {unit.replaced_by}" if unit.replaced_by else "撤销"
        raise BadInput(f"单位 {code}（{unit.name}）已于 {unit.valid_to} {merged}，不能再次撤销（历史不能改写）")
    successor = session.get(OrgUnit, replaced_by) if replaced_by is not None else None
    if replaced_by is not None:
        if replaced_by == code:
            raise BadInput(f"单位 {code} 不能并入自身")
        if successor is None:
            raise NotFound(f"合并后的单位 {replaced_by} 不存在")
        if successor.level != unit.level:
            raise BadInput(f"只能并入同级单位：{code} 是{LEVEL_LABELS[Level(unit.level)]}级，"
                           f"{replaced_by} 是{LEVEL_LABELS[Level(successor.level)]}级")
        if successor.valid_to is not None and successor.valid_to <= on:
            raise BadInput(f"合并后的单位 {replaced_by}（{successor.name}）已于 {successor.valid_to} 撤销")
    open_children = session.scalars(
        select(OrgUnit.code).where(OrgUnit.parent_code == code, OrgUnit.valid_to.is_(None) | (OrgUnit.valid_to > on))
        .order_by(OrgUnit.code)
    ).all()
    if open_children:
        shown = "、".join(open_children[:5]) + ("等" if len(open_children) > 5 else "")
        raise BadInput(f"单位 {code} 还有 {len(open_children)} 个未撤销的下级单位（{shown}），请先撤销或合并它们")
    session.execute(update(OrgUnit).where(OrgUnit.code == code).values(valid_to=on, replaced_by=replaced_by))
    if successor is not None and _starts_with_the_merge(session, successor, on):
        successor.valid_from = on
    record(session, actor_id, "close_unit", "org_unit", code, {"on": on.isoformat(), "replaced_by": replaced_by})


def _starts_with_the_merge(session: Session, successor: OrgUnit, on: dt.date) -> bool:
    """A successor made for the merge begins on its day; one that already existed (it has reported in a
    collection) keeps its start, or the years it reported would read as before it existed."""
    if successor.valid_from is not None:
        return successor.valid_from > on
    reported = session.scalar(
        select(Submission.id).where(Submission.org_code == successor.code).limit(1)
    )
    return reported is None


def active_on(day: dt.date) -> ColumnElement[bool]:
    started = OrgUnit.valid_from.is_(None) | (OrgUnit.valid_from <= day)
    return started & (OrgUnit.valid_to.is_(None) | (OrgUnit.valid_to > day))


def load_sample_province(session: Session) -> int:
    """The fictional province 39 (示范省) from the reference; a no-op when already loaded."""
    rows = read_units_csv(SAMPLE_PROVINCE_CSV.read_text(encoding="utf-8"), str(SAMPLE_PROVINCE_CSV))
    if session.get(OrgUnit, rows[0].code) is not None:
        return 0
    return import_units(session, rows, source=str(SAMPLE_PROVINCE_CSV))


# --- province-scale generator (benchmark) ----------------------------------------------------

_CITY_NAMES = "青山 碧水 临川 云岭 东海 南屏 西岭 北原 金沙 玉泉 松涛 梅溪 桂林 兰亭 竹海".split()
_SYLLABLES = "东 西 南 北 上 下 新 老 大 小 前 后 石 山 河 桥 溪 塘 湾 林 坪 岭 岙 沙 柳 枫 梅 桃 李 杏 竹 茶".split()


def generate_province(
    *,
    province: str = "39",
    cities: int = 11,
    counties: int = 90,
    townships: int = 1500,
    villages: int = 35065,
    seed: int = 39,
) -> Iterator[UnitRow]:
    """A synthetic province with the requested unit counts, spread as evenly as the codes allow.

    Deterministic for a seed. Township codes use the 100–199 (镇) block, village codes the
    200–399 (村委会) block, so every generated code is well-formed.
    """
    rng = random.Random(seed)
    yield UnitRow(f"{province}0000000000", "示范省")
    county_codes: list[str] = []
    for c in range(cities):
        city = f"{province}{c + 1:02d}00000000"
        yield UnitRow(city, f"{_CITY_NAMES[c % len(_CITY_NAMES)]}市")
        n_counties = _share(counties, cities, c)
        for k in range(n_counties):
            county = f"{city[:4]}{21 + k:02d}000000"
            county_codes.append(county)
            yield UnitRow(county, f"{_name(rng)}县")
    township_codes: list[str] = []
    for i, county in enumerate(county_codes):
        for t in range(_share(townships, len(county_codes), i)):
            township = f"{county[:6]}{100 + t:03d}000"
            township_codes.append(township)
            yield UnitRow(township, f"{_name(rng)}镇")
    for i, township in enumerate(township_codes):
        for v in range(_share(villages, len(township_codes), i)):
            yield UnitRow(f"{township[:9]}{200 + v:03d}", f"{_name(rng)}村委会", urban_rural_class="220")


def _share(total: int, parts: int, index: int) -> int:
    base, extra = divmod(total, parts)
    return base + (1 if index < extra else 0)


def _name(rng: random.Random) -> str:
    return rng.choice(_SYLLABLES) + rng.choice(_SYLLABLES)


def generated_rows_csv(rows: Iterable[UnitRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "name", "parent", "urban_rural_class"])
    for r in rows:
        writer.writerow([r.code, r.name, r.parent or "", r.urban_rural_class or ""])
    return out.getvalue()
