"""HTML field names <-> data paths.

Forms use WTForms' own prefixes: a section's field is ``population-pop_total``, a row field
``elders-2-id_number``, a grid cell ``land-cultivated-owned``. Field names only contain letters, digits
and ``_`` (the definition checker enforces it), so swapping ``-`` and ``.`` maps both ways exactly.
"""

from __future__ import annotations

ADD = "__add__"
REMOVE = "__remove__"
REFRESH = "__refresh__"
EXPLAIN = "explain__"


def html_name(data_path: str) -> str:
    """``elders.2.id_number`` -> ``elders-2-id_number``."""
    return data_path.replace(".", "-")


def data_path_for(name: str) -> str:
    """``elders-2-id_number`` -> ``elders.2.id_number``."""
    return name.replace("-", ".")


def add_button(array_path: str) -> str:
    return f"{ADD}{array_path}"


def remove_button(array_path: str, index: int) -> str:
    return f"{REMOVE}{array_path}__{index}"


def explain_name(rule_id: str) -> str:
    return f"{EXPLAIN}{rule_id}"
