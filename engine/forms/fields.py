"""Field builders: a lookup table kind -> builder, each returning an unbound WTForms field.

Every generated field carries its FieldSpec (``field.spec``) so templates can show unit, required mark,
help and kind without another lookup. The browser never enforces ``required``/``min``/``max``: a draft
must save half-filled, so the server decides (``aria-required`` still tells screen readers).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape
from wtforms import Form
from wtforms.fields import (
    DateField,
    DecimalField,
    EmailField,
    FieldList,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget
from wtforms.widgets.core import clean_key

from engine.validation.coercion import option_text

OPTION_INPUT_KINDS = frozenset({"boolean", "choice", "multichoice"})  # boxes: readonly does not stop a click
RADIO_MAX_OPTIONS = 5  # more options than this are a select list (a long radio list is hard on a phone)
BOOLEAN_CHOICES = (("true", "是"), ("false", "否"))
PLEASE_CHOOSE = ("", "请选择")


def html_params(**kwargs: Any) -> Markup:
    """``wtforms.widgets.html_params`` with the same output, built with plain string operations instead of
    a ``Markup.format`` per attribute: that was half of rendering a fill page (15 inputs x ~9 attributes)."""
    params = []
    for key, value in sorted(kwargs.items()):
        key = str(escape(clean_key(key)))
        if value is True:
            params.append(key)
        elif value is not False:
            params.append(f'{key}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(" ".join(params))  # noqa: S704 (every key and value is escaped above)


def _fast(widget: Any) -> Any:
    """A copy of an ``Input`` widget (they call ``self.html_params``) using the faster ``html_params``."""
    fast = copy.copy(widget)
    fast.html_params = html_params
    return fast


class SpecMixin:
    """Keeps the FieldSpec on the bound field; ``warnings`` receives soft-rule messages."""

    def __init__(self, *args: Any, spec: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.warnings: list[str] = []


# Numbers are typed into text inputs (``inputmode`` brings up the digit keyboard on phones), not
# ``type="number"``: that one silently empties what it cannot parse (``7a``, ``1,200``) instead of letting
# the server say what is wrong, refuses the full-width digits of a Chinese input method (which coercion
# accepts), and changes its value when a mouse wheel scrolls over it. (GOV.UK's design system advises the
# same for the same reasons.)
class IntegerInput(SpecMixin, IntegerField):
    widget = _fast(StringField.widget)


class NumberInput(SpecMixin, DecimalField):
    widget = _fast(StringField.widget)


class TextInput(SpecMixin, StringField):
    widget = _fast(StringField.widget)


class TextAreaInput(SpecMixin, TextAreaField):
    pass


class DateInput(SpecMixin, DateField):
    widget = _fast(DateField.widget)


class EmailInput(SpecMixin, EmailField):
    widget = _fast(EmailField.widget)


class RadioInput(SpecMixin, RadioField):
    option_widget = _fast(RadioField.option_widget)


class SelectInput(SpecMixin, SelectField):
    pass


class CheckboxesInput(SpecMixin, SelectMultipleField):
    """A multiple choice: one checkbox per option, rendered box by box like the radios (the fill page's
    macro puts each in its own label); posted as the field's name once per ticked box."""

    widget = ListWidget(prefix_label=False)
    option_widget = _fast(CheckboxInput())


class SectionField(SpecMixin, FormField):
    pass


class RowsField(SpecMixin, FieldList):
    pass


def _common(spec: Any, **render_kw: Any) -> dict[str, Any]:
    if spec.calculate or spec.fill:  # computed, or taken from the report's unit/period: never typed
        # radios and selects ignore readonly; disabled ones are not posted, which is fine: never read back
        render_kw.update({"readonly": True, "tabindex": "-1"} if spec.kind not in OPTION_INPUT_KINDS else {"disabled": True})
    return {"label": spec.title, "description": spec.description or "", "spec": spec, "render_kw": render_kw}


_NUMBER_TEXT = {"autocomplete": "off", "spellcheck": "false"}  # a figure, not a word


def _integer(spec: Any, build: Callable[[Any], type[Form]]) -> Any:
    return IntegerInput(**_common(spec, inputmode="numeric", **_NUMBER_TEXT))


def _number(spec: Any, build: Callable[[Any], type[Form]]) -> Any:
    return NumberInput(places=None, **_common(spec, inputmode="decimal", **_NUMBER_TEXT))



# No maxlength on text: it cuts a pasted text short without a word and the cut part is lost; the page
# shows the limit and counts as it is typed (forms/macros.html), the server says what is too long.
def _string(spec: Any, build: Callable[[Any], type[Form]]) -> Any:
    return TextInput(**_common(spec))


def _text(spec: Any, build: Callable[[Any], type[Form]]) -> Any:
    return TextAreaInput(**_common(spec, rows="3"))


def _date(spec: Any, build: Callable[[Any], type[Form]]) -> Any:
    return DateInput(**_common(spec))


def _email(spec: Any, build: Callable[[Any], type[Form]]) -> Any:
    return EmailInput(**_common(spec, autocomplete="email"))


def _options(spec: Any, pairs: tuple[tuple[str, str], ...]) -> Any:
    radio = spec.widget == "radio" or (spec.widget != "select" and len(pairs) <= RADIO_MAX_OPTIONS)
    if not radio:
        pairs = (PLEASE_CHOOSE, *pairs)
    choices = [SelectChoice(value, label) for value, label in pairs]
    # the schema (enum/oneOf) decides what is valid, with a Chinese message; WTForms never validates here
    cls = RadioInput if radio else SelectInput
    return cls(choices=choices, validate_choice=False, **_common(spec))


def _boolean(spec: Any, build: Callable[[Any], type[Form]]) -> Any:
    return _options(spec, BOOLEAN_CHOICES)


def _choice(spec: Any, build: Callable[[Any], type[Form]]) -> Any:
    return _options(spec, tuple((option_text(value), label) for value, label in spec.options))


def _multichoice(spec: Any, build: Callable[[Any], type[Form]]) -> Any:
    choices = [SelectChoice(option_text(value), label) for value, label in spec.options]
    # as for single choices, the schema decides what is valid (选项「x」不在可选范围内), never WTForms
    return CheckboxesInput(choices=choices, validate_choice=False, **_common(spec))


def _section(spec: Any, build: Callable[[Any], type[Form]]) -> Any:
    return SectionField(build(spec), label=spec.title, description=spec.description or "", spec=spec)


def _array(spec: Any, build: Callable[[Any], type[Form]]) -> Any:
    row = FormField(build(spec), label=spec.title)
    return RowsField(row, min_entries=int(spec.schema.get("minItems", 0)), label=spec.title,
                     description=spec.description or "", spec=spec)


BUILDERS: dict[str, Callable[[Any, Callable[[Any], type[Form]]], Any]] = {
    "integer": _integer,
    "number": _number,
    "string": _string,
    "text": _text,
    "date": _date,
    "email": _email,
    "boolean": _boolean,
    "choice": _choice,
    "multichoice": _multichoice,
    "section": _section,
    "grid": _section,  # a grid is a section of row sections; the template draws it as a table
    "array": _array,
}
