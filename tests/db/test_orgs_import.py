import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from engine.db.models import OrgUnit
from engine.orgs import ImportFailed, active_on, close_unit, import_units, in_subtree, read_units_csv


def count(db):
    return db.scalar(select(func.count()).select_from(OrgUnit))


def test_sample_province_loads_with_derived_parents(sample_province):
    db = sample_province
    assert count(db) == 42
    village = db.get(OrgUnit, "390121101201")
    assert (village.name, village.level, village.parent_code) == ("溪口村委会", 5, "390121101000")
    in_county = db.scalars(select(OrgUnit.code).where(in_subtree(OrgUnit.code, "390121000000"))).all()
    assert len(in_county) == 1 + 2 + 5 + 5  # the county, its 2 townships and their 5 + 5 villages
    assert all(code.startswith("390121") for code in in_county)


def test_import_with_a_bad_row_imports_nothing(sample_province):
    db = sample_province
    csv_text = "\n".join(
        [
            "code,name,parent",
            "390121101205,新村委会,390121101000",  # fine
            "39012110120,短代码,",  # bad code
            "390121301000,不存在的乡,",  # parent county exists: fine
            "390121302201,孤儿村,",  # unknown parent township 390121302000
            "390121101205,重复村,",  # duplicate in file
            "390121101201,溪口村委会,",  # already exists
            "390121101206,错上级,390102101000",  # parent does not match code
        ]
    )
    before = count(db)
    with pytest.raises(ImportFailed) as info:
        import_units(db, read_units_csv(csv_text))
    db.rollback()
    messages = [p.message for p in info.value.problems]
    # line numbers of the file (the header is line 1), as an editor or Excel shows them
    assert any("第3行" in m and "12位数字" in m for m in messages)
    assert any("第5行" in m and "上级单位 390121302000 不存在" in m for m in messages)
    assert any("第6行" in m and "重复（与第2行相同）" in m for m in messages)
    assert any("第7行" in m and "已存在" in m for m in messages)
    assert any("第8行" in m and "不一致" in m for m in messages)
    assert "未导入任何数据" in info.value.message
    assert count(db) == before


def test_import_accepts_children_before_parents(sample_province):
    db = sample_province
    rows = read_units_csv("390121301201,新村,\n390121301000,新乡,\n")
    assert import_units(db, rows) == 2
    db.commit()
    assert db.get(OrgUnit, "390121301201").parent_code == "390121301000"


def test_merge_keeps_history(sample_province):
    db = sample_province
    import_units(db, read_units_csv("390121201206,双岙村委会,\n"))
    for old in ("390121201203", "390121201204"):
        close_unit(db, old, on=dt.date(2021, 1, 1), replaced_by="390121201206")
    db.commit()
    old = db.get(OrgUnit, "390121201203")
    assert old.valid_to == dt.date(2021, 1, 1) and old.replaced_by == "390121201206"
    active_2021 = set(db.scalars(select(OrgUnit.code).where(OrgUnit.parent_code == "390121201000",
                                                             active_on(dt.date(2021, 6, 1)))))
    assert "390121201203" not in active_2021 and "390121201206" in active_2021
    active_2020 = set(db.scalars(select(OrgUnit.code).where(OrgUnit.parent_code == "390121201000",
                                                             active_on(dt.date(2020, 6, 1)))))
    assert "390121201203" in active_2020


def test_line_numbers_are_the_files_after_blank_lines_and_a_header(sample_province):
    text = "code,name\n\n390121101205,新村委会\n\n\n39012110120,短代码\n"
    with pytest.raises(ImportFailed) as info:
        import_units(sample_province, read_units_csv(text))
    assert [p.message for p in info.value.problems] == ["第6行（39012110120）：区划代码必须是12位数字"]


def test_overlong_names_and_unknown_urban_rural_classes_are_row_problems(sample_province):
    db = sample_province
    text = "\n".join([
        "code,name,parent,urban_rural_class",
        f"390121101205,{'长' * 101},,220",
        "390121101206,新村,,abcdefghijkl",
        "390121101207,好村,,999",
        f"390121101208,{'村' * 100},,220",  # exactly the limit: fine
    ])
    with pytest.raises(ImportFailed) as info:
        import_units(db, read_units_csv(text))
    db.rollback()
    messages = [p.message for p in info.value.problems]
    assert len(messages) == 3 and "3 行有错误" in info.value.message
    assert messages[0].startswith("第2行") and "名称不能超过100个字符" in messages[0]
    assert messages[1].startswith("第3行") and "城乡分类代码 abcdefghijkl 无效" in messages[1]
    assert messages[2].startswith("第4行") and "999" in messages[2] and "220 村庄" in messages[2]
    assert count(db) == 42


def test_an_empty_or_header_only_file_is_an_error(sample_province):
    for text in ("", "\n\n", "code,name,parent,urban_rural_class\n"):
        with pytest.raises(ImportFailed, match="没有单位数据"):
            import_units(sample_province, read_units_csv(text), source="units.csv")


def test_gbk_and_utf8_files_read_alike_and_binary_files_are_refused(tmp_path):
    from engine.errors import BadInput
    from engine.orgs import read_units_file

    text = "code,name\r\n390121101205,新村委会\r\n"
    expected = [("390121101205", "新村委会", 3 - 1)]
    for name, data in (("utf8.csv", text.encode()), ("bom.csv", b"\xef\xbb\xbf" + text.encode()),
                       ("gbk.csv", text.encode("gbk")), ("gb18030.csv", text.encode("gb18030"))):
        (tmp_path / name).write_bytes(data)
        assert [(r.code, r.name, r.line) for r in read_units_file(tmp_path / name)] == expected, name
    xlsx = tmp_path / "units.xlsx"
    xlsx.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xdf\xa4\xd2lZ\x01")
    with pytest.raises(BadInput, match="文件不是 CSV 文本（UTF-8 或 GBK 编码）"):
        read_units_file(xlsx)


def test_a_file_with_another_separator_says_so_once():
    from engine.errors import BadInput

    with pytest.raises(BadInput, match="英文逗号分隔.*第1行用的是制表符"):
        read_units_csv("code\tname\n390121101205\t新村委会\n")


@pytest.mark.parametrize(("code", "replaced_by", "says"), [
    ("390121201203", "390121201203", "不能并入自身"),
    ("390121201203", "390121201000", "只能并入同级单位：390121201203 是村(社区)级，390121201000 是乡镇级"),
    ("390121201000", None, "还有 4 个未撤销的下级单位（390121201201、"),
    ("390121201203", "390121201204", "已于 2020-01-01 撤销"),  # into a closed unit
])
def test_close_refuses_what_would_break_the_hierarchy(sample_province, code, replaced_by, says):
    from engine.errors import BadInput

    db = sample_province
    close_unit(db, "390121201204", on=dt.date(2020, 1, 1))
    with pytest.raises(BadInput, match=re.escape(says)):
        close_unit(db, code, on=dt.date(2021, 1, 1), replaced_by=replaced_by)


def test_a_closed_unit_is_not_closed_again(sample_province):
    from engine.errors import BadInput

    db = sample_province
    close_unit(db, "390121201203", on=dt.date(2021, 1, 1))
    with pytest.raises(BadInput, match="已于 2021-01-01 撤销，不能再次撤销"):
        close_unit(db, "390121201203", on=dt.date(2022, 1, 1), replaced_by="390121201201")
    db.flush()
    assert db.get(OrgUnit, "390121201203").valid_to == dt.date(2021, 1, 1)  # history kept


def test_a_unit_whose_children_are_all_closed_can_close(sample_province):
    db = sample_province
    children = db.scalars(select(OrgUnit.code).where(OrgUnit.parent_code == "390121201000")).all()
    for child in children:
        close_unit(db, child, on=dt.date(2021, 1, 1))
    close_unit(db, "390121201000", on=dt.date(2021, 1, 1))
    assert db.get(OrgUnit, "390121201000").valid_to == dt.date(2021, 1, 1)


def test_a_merge_into_an_existing_unit_keeps_its_start(collection, db):
    """下岙村 reported before 高坪村 was merged into it: it did not begin with the merge (a QA pass found
    its valid_from set to the merge date, so a collection for an earlier year would leave it out)."""
    existing = "390121201204"
    assert db.scalar(select(OrgUnit.valid_from).where(OrgUnit.code == existing)) is None
    close_unit(db, "390121201203", on=dt.date(2026, 6, 1), replaced_by=existing)
    db.commit()
    assert db.get(OrgUnit, existing).valid_from is None
    assert existing in set(db.scalars(select(OrgUnit.code).where(active_on(dt.date(2025, 6, 1)))))
