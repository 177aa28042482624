"""Route declarations that produce both the Flask routes and the OpenAPI 3.1 document.

Every API view is declared with ``@api.route(...)`` giving its summary, parameters and JSON Schemas,
so the document at /api/v1/openapi.json is generated from the code and cannot miss a route
(a test compares it with Flask's URL map).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, g, request
from jsonschema import Draft202012Validator

from engine.errors import BadInput, PermissionDenied, Problem
from engine.roles import ROLES
from engine.validation.messages import TYPE_NAMES

PREFIX = "/api/v1"

# One problem of a refusal that lists several (``engine.errors.Problem.to_json``): a malformed body, an
# invalid report, a refused review, a definition that does not pass its checks.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message", "data_path", "definition", "severity", "rule_id"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string", "description": "中文说明"},
        "data_path": {"type": ["string", "null"],
                      "description": "请求或报表中的位置，如 comment、field_comments.basic.village_name、population.pop_total"},
        "definition": {"type": ["string", "null"], "description": "定义中的位置（文件#JSON Pointer 或 BPMN 元素 id）"},
        "severity": {"type": "string", "enum": ["hard", "soft"]},
        "rule_id": {"type": ["string", "null"]},
    },
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string", "description": "中文说明"},
                "details": {
                    "type": "object",
                    "properties": {
                        "problems": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"},
                                     "description": "有多处问题时逐一列出，各带其位置（data_path）"},
                        "data_path": {"type": "string", "description": "只有一处问题时：它的位置"},
                    },
                },
            },
        }
    },
}

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
_PARAM_TYPES = {"int": {"type": "integer"}, None: {"type": "string"}, "string": {"type": "string"}}


@dataclass(frozen=True)
class Needs:
    """The roles an operation needs whoever calls it and whatever it is called on, and what a caller
    without one of them is told (403)."""

    roles: frozenset[str]
    denied: str

    def labels(self) -> list[str]:
        return [ROLES[code].label for code in sorted(self.roles)]


# The operations that need a role whoever calls them and whatever they are called on (declared as the
# route's ``needs``). The others decide from the data (a task's role at its unit, a report's scope).
DEFINING = Needs(frozenset({"province_admin"}), "只有省级管理员可以管理指标集和审批流程定义")
LAUNCHING = Needs(frozenset({"province_admin"}), "只有省级管理员可以发起采集任务")


@dataclass
class Operation:
    path: str  # Flask rule relative to PREFIX
    method: str
    endpoint: str
    summary: str
    tags: list[str]
    query: list[dict[str, Any]] = field(default_factory=list)
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    error_descriptions: dict[int, str] = field(default_factory=dict)  # what an error status means here
    auth: bool = True
    content_type: str | tuple[str, ...] = "application/json"
    also: tuple[int, ...] = ()  # other success statuses (an idempotent create that found its row: 200)
    needs: Needs | None = None

    def openapi_path(self) -> str:
        return _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", PREFIX + self.path)

    def path_params(self) -> list[dict[str, Any]]:
        return [
            {"name": name, "in": "path", "required": True, "schema": _PARAM_TYPES.get(conv, {"type": "string"})}
            for conv, name in _CONVERTER.findall(self.path)
        ]


def shape_problems(validator: Draft202012Validator, body: Any) -> list[Problem]:
    """The body's wrong types and missing keys, each named by its place (``items/1：缺少必填字段（data）``)."""
    problems = []
    for err in validator.iter_errors(body):
        if err.validator == "type":
            wanted = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
            reason = f"类型不正确，应为{'或'.join(TYPE_NAMES.get(t, t) for t in wanted)}"
        elif err.validator == "required" and isinstance(err.instance, dict):
            reason = f"缺少必填字段（{'、'.join(n for n in err.validator_value if n not in err.instance)}）"
        else:
            continue
        place = "/".join(str(p) for p in err.absolute_path)
        problems.append(Problem(f"{place or '请求体'}：{reason}", data_path=place.replace("/", ".") or None,
                                code=str(err.validator)))
    return list(dict.fromkeys(problems))  # "required" reports each missing key with the same message


def _role_checked(view: Callable[..., Any], needs: Needs) -> Callable[..., Any]:
    """``view`` behind the check of the caller's roles, the first thing done for a caller: a caller without
    the role is told so (403) before its body is read, so the shape of a body it may not send is not
    explained to it. A caller not logged in is left to ``login_required`` (401)."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        principal = g.get("principal")
        if principal is not None and not principal.roles() & needs.roles:
            raise PermissionDenied(needs.denied)
        return view(*args, **kwargs)

    return checked


def _body_checked(view: Callable[..., Any], schema: dict[str, Any], auth: bool) -> Callable[..., Any]:
    """``view`` behind a check of its JSON body's shape against the schema the document declares for it:
    a wrong type (a list where a text is) or a missing key is a 400 naming the place, in Chinese, before
    any view code can trip over it (after the role check: ``_role_checked``). Values of the right type (a code's pattern, a range) are left to the
    view and the engine, whose messages say more. A body that is not JSON is left to the view (its own
    400), and a caller not logged in to ``login_required`` (401 first)."""
    validator = Draft202012Validator(schema)

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not auth or g.get("principal") is not None:
            body = request.get_json(silent=True)
            if body is not None or not request.get_data(cache=True):
                body = {} if body is None else body
                if schema.get("type") == "object" and not isinstance(body, dict):
                    raise BadInput("请求体必须是 JSON 对象")
                problems = shape_problems(validator, body)
                if problems:
                    raise BadInput("请求体格式不正确", problems=problems)
        return view(*args, **kwargs)

    return checked


class ApiRegistry:
    def __init__(self) -> None:
        self.blueprint = Blueprint("api", __name__, url_prefix=PREFIX)
        self.operations: list[Operation] = []

    def route(
        self,
        path: str,
        method: str = "GET",
        *,
        summary: str,
        tags: list[str],
        query: list[dict[str, Any]] | None = None,
        request: dict[str, Any] | None = None,
        response: dict[str, Any] | None = None,
        status: int = 200,
        errors: tuple[int, ...] = (),
        error_descriptions: dict[int, str] | None = None,
        auth: bool = True,
        content_type: str | tuple[str, ...] = "application/json",
        also: tuple[int, ...] = (),
        view_checks_body: bool = False,
        needs: Needs | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """``view_checks_body``: the view validates its whole body against ``request`` itself (the
        submission routes, on the HTTP submit's hot path: one pass, not two). ``needs``: the roles the
        operation needs, checked first (``_role_checked``) and listed in the document (``x-roles``)."""

        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            endpoint = f"{view.__module__.rsplit('.', 1)[-1]}_{view.__name__}"
            checked = _body_checked(view, request, auth) if request is not None and not view_checks_body else view
            checked = _role_checked(checked, needs) if needs is not None else checked
            self.blueprint.add_url_rule(path, endpoint=endpoint, view_func=checked, methods=[method])
            self.operations.append(
                Operation(path, method.lower(), endpoint, summary, tags, query or [], request, response,
                          status, errors, error_descriptions or {}, auth, content_type, also, needs)
            )
            return view

        return decorate

    def openapi(self) -> dict[str, Any]:
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            types = op.content_type if isinstance(op.content_type, tuple) else (op.content_type,)
            responses: dict[str, Any] = {
                str(code): {
                    "description": "成功",
                    "content": {t: {"schema": op.response or {}} for t in types},
                }
                for code in (op.status, *op.also)
            }
            # 400 is always possible (a parameter out of range, a form's CSRF check), 413 with a body
            always = (400, *((413,) if op.request is not None else ()), *((401, 403) if op.auth else ()), 500)
            for code in sorted({*op.errors, *always}):
                responses[str(code)] = {
                    "description": op.error_descriptions.get(code, "错误"),
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            entry: dict[str, Any] = {
                "operationId": op.endpoint,
                "summary": op.summary,
                "tags": op.tags,
                "parameters": op.path_params() + op.query,
                "responses": responses,
            }
            if op.request is not None:
                entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.request}}}
            if not op.auth:
                entry["security"] = []
            if op.needs is not None:
                entry["x-roles"] = sorted(op.needs.roles)
                entry["description"] = f"需要角色：{'、'.join(op.needs.labels())}"
            paths.setdefault(op.openapi_path(), {})[op.method] = entry
        return {
            "openapi": "3.1.0",
            "info": {
                "title": "Grassroots API",
                "version": "1",
                "description": "基层数据采集引擎接口：指标集、填报、审批任务、汇总与导出。",
            },
            "servers": [{"url": "/"}],
            "components": {
                "schemas": {"Error": ERROR_SCHEMA, "Problem": PROBLEM_SCHEMA},
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer",
                               "description": "grassroots users token 发放的访问令牌；有效期默认 365 天，"
                                              "过期后返回 401（错误代码 token_expired）"},
                    "session": {"type": "apiKey", "in": "cookie", "name": "grassroots_session"},
                },
            },
            "security": [{"bearer": []}, {"session": []}],
            "paths": paths,
        }


api = ApiRegistry()


def query_param(name: str, schema: dict[str, Any], *, required: bool = False, description: str = "") -> dict[str, Any]:
    """A query parameter; an array schema is a repeated parameter (``key=a&key=b``)."""
    param = {"name": name, "in": "query", "required": required, "schema": schema, "description": description}
    if schema.get("type") == "array":
        param |= {"style": "form", "explode": True}
    return param
