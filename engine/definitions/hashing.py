"""Content hash of a definition document: the identity of a version's exact content."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(doc: Any) -> str:
    """One text per content: compact, and in the document's own key order, which is meaningful (the
    order of sections and fields on the form; the database keeps it: json, not jsonb)."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def content_hash(doc: Any) -> str:
    """sha256 (hex) of ``canonical_json``: whitespace does not change it, key order does (a version
    sent again with its fields in another order is another form; migration 0004)."""
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()
