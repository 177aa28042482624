"""The summary at the top of a form page lists every problem of the page as a link to its field, in the
page's order, and renders in any Jinja environment (the macros are imported on their own)."""

from __future__ import annotations

import re

from engine.errors import Problem
from engine.forms import page_for, page_view
from engine.validation import validate_submission
from tests.unit.test_form_pages import macros  # noqa: F401 (a fixture)
from tests.unit.test_forms_definition import sample, valid_data


def test_every_problem_of_the_page_is_a_link_to_its_field(macros):  # noqa: F811
    ind = sample()
    data = valid_data()
    data["population"]["pop_total"] = -1
    result = validate_submission(ind, data)
    page = next(p.number for p in (page_for(ind, n) for n in range(1, 10)) if p.id == "population")
    # and one without a field of its own: a whole section
    result.errors.append(Problem("此部分数据不完整", data_path="population"))
    view = page_view(ind, data, page, result=result)
    html = str(macros.render_summary(view))
    count = len([p for p in result.errors if p.data_path.split(".")[0] == "population"])
    assert f"本页有 {count} 处需要修改" in html
    links = re.findall(r'<a href="#([^"]+)">([^<]*)</a>', html)
    assert links[0][0] == "population-pop_total" and links[0][1].endswith(result.errors[0].message)
    assert links[-1] == ("population", "此部分数据不完整")  # no label outside the app: the message alone
    assert len(links) == count
