"""JSON pointers (RFC 6901) into a definition document."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

MISSING = object()


def escape(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def join(pointer: str, *tokens: str | int) -> str:
    return pointer + "".join("/" + escape(t) for t in tokens)


def from_path(path: Any) -> str:
    """A pointer from a jsonschema error path (a deque of keys and indexes)."""
    return join("", *path)


def lookup(doc: Any, pointer: str) -> Any:
    """The node at ``pointer`` or MISSING."""
    node = doc
    if not pointer:
        return node
    for raw in pointer.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return MISSING
    return node


def from_fragment(ref: str) -> str | None:
    """The pointer of a local ``$ref`` ("#/$defs/elder"), or None when the ref is not local."""
    if not ref.startswith("#"):
        return None
    return unquote(ref[1:])
