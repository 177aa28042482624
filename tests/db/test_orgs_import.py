import datetime as dt

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
    assert any("第2行" in m and "12位数字" in m for m in messages)
    assert any("第4行" in m and "上级单位 390121302000 不存在" in m for m in messages)
    assert any("第5行" in m and "重复" in m for m in messages)
    assert any("第6行" in m and "已存在" in m for m in messages)
    assert any("第7行" in m and "不一致" in m for m in messages)
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
