"""Indicator sets over the API: which sets and versions exist, and one version's JSON Schema.

Only published and retired versions are listed: drafts are work in progress, not a contract.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from sqlalchemy import select

from api.registry import api
from engine.db.models import IndicatorSetVersion
from engine.errors import NotFound
from web.auth import login_required
from web.db import db

VISIBLE = ("published", "retired")

VERSION_SUMMARY = {
    "type": "object",
    "required": ["version", "title", "status", "content_hash", "published_at"],
    "properties": {
        "version": {"type": "integer"},
        "title": {"type": "string"},
        "status": {"type": "string", "enum": list(VISIBLE)},
        "content_hash": {"type": "string", "description": "定义内容的 SHA-256"},
        "published_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
SETS_SCHEMA = {
    "type": "object",
    "required": ["items"],
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "title", "versions"],
                "properties": {
                    "code": {"type": "string"},
                    "title": {"type": "string", "description": "最新版本的名称"},
                    "versions": {"type": "array", "items": VERSION_SUMMARY},
                },
            },
        }
    },
}
VERSIONS_SCHEMA = {
    "type": "object",
    "required": ["code", "items"],
    "properties": {"code": {"type": "string"}, "items": {"type": "array", "items": VERSION_SUMMARY}},
}
VERSION_SCHEMA = {
    "type": "object",
    "required": [*VERSION_SUMMARY["required"], "code", "schema"],
    "properties": {
        **VERSION_SUMMARY["properties"],
        "code": {"type": "string"},
        "schema": {"type": "object", "description": "JSON Schema 2020-12 及 x- 扩展关键字"},
    },
}


def _summary(row: IndicatorSetVersion) -> dict[str, Any]:
    return {
        "version": row.version,
        "title": row.title,
        "status": row.status,
        "content_hash": row.content_hash,
        "published_at": row.published_at.isoformat() if row.published_at else None,
    }


def _visible(code: str | None = None) -> list[IndicatorSetVersion]:
    query = select(IndicatorSetVersion).where(IndicatorSetVersion.status.in_(VISIBLE))
    if code is not None:
        query = query.where(IndicatorSetVersion.code == code)
    return list(db().scalars(query.order_by(IndicatorSetVersion.code, IndicatorSetVersion.version)))


@api.route("/indicator-sets", summary="指标集及其已发布版本", tags=["indicator-sets"], response=SETS_SCHEMA)
@login_required
def list_indicator_sets():
    by_code: dict[str, list[IndicatorSetVersion]] = {}
    for row in _visible():
        by_code.setdefault(row.code, []).append(row)
    items = [{"code": code, "title": rows[-1].title, "versions": [_summary(r) for r in rows]}
             for code, rows in by_code.items()]
    return jsonify({"items": items})


@api.route("/indicator-sets/<code>/versions", summary="一个指标集的全部版本", tags=["indicator-sets"],
           response=VERSIONS_SCHEMA, errors=(404,))
@login_required
def list_versions(code: str):
    rows = _visible(code)
    if not rows:
        raise NotFound(f"未找到已发布的指标集 {code}")
    return jsonify({"code": code, "items": [_summary(r) for r in rows]})


@api.route("/indicator-sets/<code>/versions/<int:version>", summary="一个版本的定义（JSON Schema）、内容哈希与状态",
           tags=["indicator-sets"], response=VERSION_SCHEMA, errors=(404,))
@login_required
def get_version(code: str, version: int):
    row = db().scalar(select(IndicatorSetVersion).where(
        IndicatorSetVersion.code == code, IndicatorSetVersion.version == version,
        IndicatorSetVersion.status.in_(VISIBLE)))
    if row is None:
        raise NotFound(f"未找到已发布的指标集 {code} 第 {version} 版")
    return jsonify({**_summary(row), "code": row.code, "schema": row.content})
