"""Field kind from the schema's shape: a lookup table, so a new kind is a new row, not a new branch."""

from __future__ import annotations

from typing import Any

# (JSON type, format, marker) -> kind. marker: the x-widget, "grid" for x-grid, "options" for enum/oneOf
# (for an array: its items' enum/oneOf, i.e. several of the options may be chosen).
KIND_TABLE: dict[tuple[str, str | None, str | None], str] = {
    ("object", None, None): "section",
    ("object", None, "grid"): "grid",
    ("array", None, None): "array",
    ("array", None, "options"): "multichoice",
    ("integer", None, None): "integer",
    ("number", None, None): "number",
    ("string", None, None): "string",
    ("string", None, "textarea"): "text",
    ("string", "date", None): "date",
    ("string", "email", None): "email",
    ("boolean", None, None): "boolean",
    ("boolean", None, "radio"): "boolean",
    ("boolean", None, "select"): "boolean",
    ("boolean", None, "options"): "choice",
    **{
        (json_type, None, marker): "choice"
        for json_type in ("string", "integer", "number")
        for marker in ("options", "radio", "select")
    },
}


def options_of(schema: dict[str, Any]) -> tuple[tuple[Any, str], ...]:
    """Labelled options: ``oneOf: [{const, title}]`` or ``enum`` (labelled by the value itself)."""
    if isinstance(schema.get("oneOf"), list):
        return tuple(
            (o.get("const"), str(o.get("title", o.get("const"))))
            for o in schema["oneOf"]
            if isinstance(o, dict)
        )
    if isinstance(schema.get("enum"), list):
        return tuple((v, str(v)) for v in schema["enum"])
    return ()


def marker_of(schema: dict[str, Any], items: dict[str, Any] | None = None) -> str | None:
    if schema.get("x-widget"):
        return schema["x-widget"]
    if "x-grid" in schema:
        return "grid"
    if options_of(schema) or (items is not None and options_of(items)):
        return "options"
    return None


def kind_of(schema: dict[str, Any], items: dict[str, Any] | None = None) -> str | None:
    """The kind for a resolved field schema, or None when the combination is not supported.
    ``items`` is an array's resolved ``items`` schema: with options it makes a multiple choice."""
    json_type = schema.get("type")
    if not isinstance(json_type, str):
        return None
    return KIND_TABLE.get((json_type, schema.get("format"), marker_of(schema, items)))
