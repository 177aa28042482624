"""Content hash of a definition document: the identity of a version's exact content."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(doc: Any) -> str:
    """sha256 (hex) of canonical JSON, so key order and whitespace do not change it."""
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()
