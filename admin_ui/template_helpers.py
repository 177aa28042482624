"""Template globals: the caller, role labels and the navigation each role sees."""

from __future__ import annotations

from flask import Flask, g

from engine.collections import STATUS_LABELS as COLLECTION_STATUS_LABELS
from engine.launch_overlap import ENDED_STATUSES
from engine.roles import LEVEL_LABELS, ROLES, Level

# role -> (label, endpoint) links in the navigation, in order; page modules register theirs.
NAV_BY_ROLE: dict[str, list[tuple[str, str]]] = {}


def register_nav(label: str, endpoint: str, *roles: str) -> None:
    """Show a link to ``endpoint`` in the navigation and on the home page of each of ``roles``."""
    for role in roles:
        links = NAV_BY_ROLE.setdefault(role, [])
        if (label, endpoint) not in links:
            links.append((label, endpoint))


def nav_links() -> list[tuple[str, str]]:
    principal = g.get("principal")
    if principal is None:
        return []
    links: list[tuple[str, str]] = []
    for role in sorted(principal.roles()):
        for link in NAV_BY_ROLE.get(role, []):
            if link not in links:
                links.append(link)
    return links


def keys_text(keys: object) -> str:
    """A mapping side for people: several keys as ``a、b`` (not Python's list), one as itself."""
    if isinstance(keys, list | tuple):
        return "、".join(str(k) for k in keys)
    return "" if keys is None else str(keys)


def install(app: Flask) -> None:
    app.jinja_env.globals.update(
        ROLES=ROLES,
        LEVEL_LABELS=LEVEL_LABELS,
        Level=Level,
        nav_links=nav_links,
        keys_text=keys_text,
        NAV_BY_ROLE=NAV_BY_ROLE,
        COLLECTION_STATUS_LABELS=COLLECTION_STATUS_LABELS,  # collections/_status.html
        COLLECTION_ENDED=ENDED_STATUSES,
    )

    @app.context_processor
    def _principal():
        return {"principal": g.get("principal")}
