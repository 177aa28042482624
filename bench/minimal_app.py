"""The HTTP ceiling: a bare WSGI app that validates a report with a compiled Draft 2020-12 validator and
inserts one row. No framework, no session, no rules, no workflow — what any submit endpoint costs at least.

Served by gunicorn exactly like `grassroots serve` (bench.servers); configured by environment:
``BENCH_DATABASE_URL`` (libpq URL) and ``BENCH_SCHEMA_FILE`` (the indicator-set definition).
"""

from __future__ import annotations

import gc
import json
import os
import threading
from pathlib import Path
from typing import Any

import psycopg
from jsonschema import Draft202012Validator

TABLE_DDL = "CREATE TABLE IF NOT EXISTS bench_minimal (id bigserial PRIMARY KEY, village text NOT NULL, doc jsonb NOT NULL)"
SUBMIT_PREFIX = "/submit/"

_local = threading.local()  # one connection per gunicorn thread, opened after the fork
_validator: Any = None


def validator() -> Any:
    global _validator
    if _validator is None:
        schema = json.loads(Path(os.environ["BENCH_SCHEMA_FILE"]).read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        _validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return _validator


def _connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(os.environ["BENCH_DATABASE_URL"], autocommit=True)
    return conn


def _respond(start_response: Any, status: str, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body, ensure_ascii=False).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
    if path == "/healthz" and method == "GET":
        return _respond(start_response, "200 OK", {"status": "ok"})
    if not (path.startswith(SUBMIT_PREFIX) and method == "POST"):
        return _respond(start_response, "404 Not Found", {"error": "not found"})
    raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    try:
        doc = json.loads(raw)
    except ValueError:
        return _respond(start_response, "400 Bad Request", {"error": "invalid JSON"})
    error = next(validator().iter_errors(doc), None)
    if error is not None:
        return _respond(start_response, "422 Unprocessable Entity", {"error": error.message})
    village = path[len(SUBMIT_PREFIX):]
    _connection().execute("INSERT INTO bench_minimal (village, doc) VALUES (%s, %s::jsonb)", (village, raw.decode()))
    return _respond(start_response, "201 Created", {"village": village})


# the same process setup as `grassroots serve`'s workers (cli/serve.py): what is loaded at start is frozen
gc.collect()
gc.freeze()
