"""API meta routes: the OpenAPI document and the caller's identity."""

from __future__ import annotations

from flask import jsonify

from api.registry import api
from web.auth import current_principal, login_required

ME_SCHEMA = {
    "type": "object",
    "required": ["id", "username", "display_name", "roles"],
    "properties": {
        "id": {"type": "integer"},
        "username": {"type": "string"},
        "display_name": {"type": "string"},
        "roles": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["role", "org_code"],
                "properties": {"role": {"type": "string"}, "org_code": {"type": "string"}},
            },
        },
    },
}


@api.route("/openapi.json", summary="本接口的 OpenAPI 文档", tags=["meta"], response={"type": "object"}, auth=False)
def openapi_document():
    return jsonify(api.openapi())


@api.route("/me", summary="当前调用者及其角色", tags=["meta"], response=ME_SCHEMA)
@login_required
def me():
    p = current_principal()
    return jsonify(
        {
            "id": p.user_id,
            "username": p.username,
            "display_name": p.display_name,
            "roles": [{"role": a.role, "org_code": a.org_code} for a in p.assignments],
        }
    )
