"""WTForms forms generated from an indicator-set version, plus the helpers a route needs.

```python
cls = form_class_for(ind)                        # cached per (code, version, content_hash)
cls = page_form_class(ind, page)                 # one page's fields, same names; cached the same way
view = page_view(ind, data, 2, result=result)    # what forms/macros.html renders
data = update_from_page(ind, data, page, request.form)          # save one page (draft: no validation)
data, action = apply_row_action(ind, request.form, data=data, page=page)   # 添加一行 / 删除
explanations = explanations_from(request.form, explanations)    # explain__<rule_id> textareas
nav = navigation(request.form, current=page.number, total=len(pages(ind)))  # 上一页/下一页/提交…
```
HTML names are WTForms' prefixes (``population-pop_total``, ``elders-2-id_number``);
``html_name``/``data_path_for`` map them to and from data paths.
Forms are never validated with ``form.validate()``: ``engine.validation.validate_submission`` decides.
"""

from engine.forms.actions import Navigation, RowAction, apply_row_action, find_action, navigation
from engine.forms.classes import GeneratedForm, form_class_for, page_form_class
from engine.forms.data import explanations_from, form_for, form_to_data, formdata_for, update_from_page
from engine.forms.fields import BUILDERS
from engine.forms.grids import GridTotals, grid_totals
from engine.forms.names import data_path_for, html_name
from engine.forms.pages import Page, page_fields, page_for, page_of_path, pages
from engine.forms.problems import attach_problems, find_field
from engine.forms.view import PageView, WarningItem, first_error_page, page_view

__all__ = [
    "BUILDERS",
    "GeneratedForm",
    "GridTotals",
    "Navigation",
    "Page",
    "PageView",
    "RowAction",
    "WarningItem",
    "apply_row_action",
    "attach_problems",
    "data_path_for",
    "explanations_from",
    "find_action",
    "find_field",
    "first_error_page",
    "form_class_for",
    "form_for",
    "form_to_data",
    "formdata_for",
    "grid_totals",
    "html_name",
    "navigation",
    "page_fields",
    "page_for",
    "page_form_class",
    "page_of_path",
    "page_view",
    "pages",
    "update_from_page",
]
