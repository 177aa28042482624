"""The only place where engine errors become HTTP responses.

API requests get ``{"error": {"code", "message", "details"}}``; pages get a Chinese error page.
Nothing reaches the user as a bare 500 with a stack trace.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from psycopg.errors import NumericValueOutOfRange
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from engine.errors import (
    BadInput,
    Conflict,
    DefinitionError,
    GrassrootsError,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    ValidationFailed,
)

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[GrassrootsError], int] = {
    Unauthenticated: 401,
    NotFound: 404,
    PermissionDenied: 403,
    Conflict: 409,
    BadInput: 400,
    ValidationFailed: 422,
    DefinitionError: 422,
}

HTTP_MESSAGES: dict[int, str] = {
    400: "请求有误",
    401: "请先登录",
    403: "没有权限执行此操作",
    404: "页面或数据不存在",
    405: "不支持该请求方法",
    409: "数据已被他人修改，请刷新后重试",
    413: "上传内容过大",
    422: "提交的数据未通过校验",
    500: "服务器内部错误，请稍后重试",
    503: "数据库暂时无法连接，本次操作未保存，请稍后重试",
}


# The error page's title (and <h1>): short, one per kind of error, so a person (and a screen reader's list
# of headings) tells them apart; the message says what happened, below it; the status code last, small.
ERROR_TITLES: dict[int, str] = {
    400: "请求有误",
    401: "请先登录",
    403: "无权访问",
    404: "页面不存在",
    405: "不支持此操作",
    409: "操作未完成",
    413: "上传内容过大",
    422: "数据未通过校验",
    500: "服务器出错",
    503: "服务暂时不可用",
}
CODE_TITLES: dict[str, str] = {"csrf_failed": "页面已过期"}


def error_title(status: int, code: str) -> str:
    return CODE_TITLES.get(code) or ERROR_TITLES.get(status) or "出错了"


CSRF_MESSAGE = ("页面已过期（可能已在其他窗口退出或重新登录），这次提交没有保存。请返回上一页，刷新（需要时重新登录）"
                "后再提交：填报页和审核页上您填写的内容仍记在这个浏览器窗口中，刷新后会提示恢复。")


BAD_TEXT = ("bad_text", "文本中含有不能保存的字符（如空字符 \\u0000 或不成对的代理字符 \\ud800），请删去后重试")
# SQLSTATE of a value the database refuses (22xxx, data exception) -> (code, message); psycopg refuses
# a NUL in a text parameter itself, without a SQLSTATE
_REFUSED_VALUES = {
    "22001": ("value_too_long", "文本过长，请缩短后重试"),
    "22008": ("date_out_of_range", "日期超出允许范围，请检查年份"),
    "22007": ("invalid_date", "日期或时间格式不正确"),
    "22P02": ("invalid_value", "输入的值格式不正确，请检查"),
    "22P05": BAD_TEXT,
    "22021": BAD_TEXT,
}


def _refused_value(orig: BaseException | None) -> tuple[str, str] | None:
    state = getattr(orig, "sqlstate", None)
    if state in _REFUSED_VALUES:
        return _REFUSED_VALUES[state]
    if orig is not None and state is None and "NUL" in str(orig):
        return BAD_TEXT
    return None


def status_for(err: GrassrootsError) -> int:
    for cls in type(err).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(status: int, code: str, message: str, details: dict | None = None) -> Response | tuple:
    if wants_json():
        resp = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
        resp.status_code = status
        return resp
    return render_template("error.html", status=status, title=error_title(status, code), message=message,
                           details=details or {}), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(GrassrootsError)
    def _engine_error(err: GrassrootsError):
        body = err.to_json()
        return error_response(status_for(err), body["code"], body["message"], body["details"])

    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError):
        # The usual cause is no attack: the login ended (or began anew) in another tab, and with it the
        # token the page was rendered with. The fill and review pages keep what was typed in the tab
        # (admin_ui/static/forms.js) and offer it back when shown again.
        return error_response(400, "csrf_failed", CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        status = err.code or 500
        return error_response(status, f"http_{status}", HTTP_MESSAGES.get(status, err.name))

    @app.errorhandler(DBAPIError)
    def _database(err: DBAPIError):
        if isinstance(err.orig, NumericValueOutOfRange):
            # a number too large for its column that no check at the edge caught (ids in paths, query
            # parameters and bodies are checked there): the request's fault, not the server's
            log.warning("number out of range on %s %s: %s", request.method, request.path, err.orig)
            return error_response(400, "value_out_of_range", "数值超出允许范围，请检查输入的编号或数字")
        refused = _refused_value(err.orig)
        if refused is not None:  # a value the database cannot hold or compare: the request's too
            log.warning("value refused on %s %s: %s", request.method, request.path, err.orig)
            return error_response(400, *refused)
        # The connection was lost (a database restart while the request used it; a connection idle in
        # the pool is checked before use, engine.db.session): the next request gets a fresh one.
        if not err.connection_invalidated:
            return _unexpected(err)
        log.warning("database connection lost on %s %s: %s", request.method, request.path, err.orig)
        return error_response(503, "database_unavailable", HTTP_MESSAGES[503])

    @app.errorhandler(UnicodeEncodeError)
    def _lone_surrogate(err: UnicodeEncodeError):
        # a lone surrogate (\ud800) in a text that reached the database or an answer unchecked
        log.warning("unencodable text on %s %s: %s", request.method, request.path, err)
        return error_response(400, *BAD_TEXT)

    @app.errorhandler(RecursionError)
    def _too_deep(err: RecursionError):
        # data nested hundreds of levels deep (JSON allows it; no report is shaped like that)
        log.warning("nesting too deep on %s %s", request.method, request.path)
        return error_response(400, "too_deep", "数据嵌套层数过多，请检查提交的内容")

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", HTTP_MESSAGES[500])
