"""Request ids, one JSON log line per request, and request metrics.

The middleware is plain ASGI rather than Starlette's ``BaseHTTPMiddleware``: it forwards each
response message as it comes, so streamed responses (Server-Sent Events) reach the client
chunk by chunk instead of after the stream ends. The request id lives in a context variable so
every log line written while serving the request, and every problem body, carries it.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import UNMATCHED, Metrics

log = logging.getLogger("api.requests")

HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    return _request_id.get()


def accepted_request_id(offered: str | None) -> str:
    """The caller's id when it is a sane token (it goes into logs verbatim), else a fresh one."""
    if offered is not None and _SANE_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


# --- JSON log lines -------------------------------------------------------------------------

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured duplicate of the message
}


def _rfc3339(created: float) -> str:
    stamp = datetime.fromtimestamp(created, tz=UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """Every record as one JSON object on one line: ts, level, logger, msg, then the extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _rfc3339(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS:
                entry.setdefault(key, value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def configure_logging(level: str | int = "INFO") -> None:
    """Send all logging to stderr as JSON lines (replaces the root logger's handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """A ``uvicorn.run(log_config=...)`` dict: everything as JSON through the root logger.

    uvicorn's access log is dropped: the middleware already logs each request, with its id.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
            "null": {"class": "logging.NullHandler"},
        },
        "root": {"handlers": ["json"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": ["null"], "level": "WARNING", "propagate": False},
        },
    }


# --- the middleware -------------------------------------------------------------------------


class _Response:
    """Watches the response going out: its status, and the request id added to its headers."""

    def __init__(self, send: Send, request_id: str) -> None:
        self._send = send
        self.request_id = request_id
        self.status: int | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            MutableHeaders(scope=message)[HEADER] = self.request_id
        await self._send(message)

    async def internal_error(self, scope: Scope) -> None:
        """A 500 problem, unless the response had already begun (then it is just cut short)."""
        if self.status is not None:
            return
        body = {
            "type": "https://sop-ledger.sumbarprov.go.id/problems/internal-error",
            "title": "Kesalahan internal / Internal error",
            "status": 500,
            "detail": "The server failed to answer; quote the request id when reporting it.",
            "instance": scope.get("path", ""),
            "field": None,
            "request_id": self.request_id,
        }
        content = orjson.dumps(body)
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(content)).encode()),
        ]
        await self.send({"type": "http.response.start", "status": 500, "headers": headers})
        await self.send({"type": "http.response.body", "body": content})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _route_template(scope: Scope) -> str:
    """``/cases/{case_id}``, never the raw path: metric labels must stay few."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return None if client is None else str(client[0])


class RequestObservability:
    """Pure ASGI middleware: request id in and out, one log line and the metrics per request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response = _Response(send, accepted_request_id(_header(scope, b"x-request-id")))
        token = _request_id.set(response.request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, response.send)
        except Exception:
            await response.internal_error(scope)
            self._done(scope, response, started, failed=True)
            raise
        else:
            self._done(scope, response, started, failed=False)
        finally:
            _request_id.reset(token)

    def _done(self, scope: Scope, response: _Response, started: float, *, failed: bool) -> None:
        seconds = time.perf_counter() - started
        status = response.status or 500
        method, route = str(scope["method"]), _route_template(scope)
        self.metrics.observed(method, route, status, seconds)
        log.log(
            logging.ERROR if failed or status >= 500 else logging.INFO,
            "request",
            exc_info=failed,
            extra={
                "request_id": response.request_id,
                "method": method,
                "path": scope.get("path", ""),
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "client": _client(scope),
            },
        )
