"""Request ids, structured logs, model version headers and rejected-input counts.

`RequestContextMiddleware` wraps every HTTP request: it takes the caller's X-Request-ID (or makes
one), returns it with X-Model-Version on the response, answers 415 to a prediction request whose
body is declared as anything but JSON, answers 503 naming the model and what to do while no model is
loaded, and counts the 4xx answers of the prediction endpoints by validation reason. Log lines from
`logger` carry the request id and the model version. A rejected request (4xx) is one INFO line, not
an ERROR with a traceback; with LOG_FORMAT=json (the image sets it) BentoML's lines are JSON too.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import uuid
from typing import Any

from .metrics import REJECTED_INPUTS
from .payloads import ABSENT, problem, value_at

logger = logging.getLogger("model_service")

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class ServingState:
    """What this worker serves; set once the model has loaded (or why it is not loaded)."""

    model_version = "none"
    # Set when the model could not be loaded: the 503 every prediction request gets.
    unavailable = ""


STATE = ServingState()


def current_request_id() -> str:
    return _request_id.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id and model version on every record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": current_request_id(),
            "model_version": STATE.model_version,
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ClientErrorFilter(logging.Filter):
    """BentoML logs every rejected request at ERROR with its traceback; a 4xx is the client's
    error, not the service's: one INFO line naming the path and the status instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        status = client_error_status(error)
        if status:
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg = "%s [%s] rejected with %d: %s"
            record.args = (*(record.args or ())[:2], status, type(error).__name__)
            record.exc_info, record.exc_text = None, None
        return True


def client_error_status(error: BaseException | None) -> int | None:
    """The 4xx status BentoML answers for this exception, or None for a server error."""
    from bentoml.exceptions import BentoMLException
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        return 400
    if isinstance(error, BentoMLException) and 400 <= error.error_code.value < 500:
        return error.error_code.value
    return None


def json_everywhere() -> None:
    """With LOG_FORMAT=json, BentoML's, uvicorn's and circus's handlers write JSON lines too."""
    if os.environ.get("LOG_FORMAT", "text").strip().lower() != "json":
        return
    for name in ("", "bentoml", "uvicorn.error", "circus"):
        for handler in logging.getLogger(name).handlers:
            if not isinstance(handler.formatter, JsonFormatter):
                handler.setFormatter(JsonFormatter())


# `bentoml serve` imports this module before it logs that it starts: that line is JSON too.
json_everywhere()


def configure_logging(level: int | None = None) -> None:
    """Send this service's logs to stderr as JSON lines (idempotent); LOG_LEVEL sets the level."""
    json_everywhere()
    server_log = logging.getLogger("bentoml._internal.server.http_app")
    if not any(isinstance(f, ClientErrorFilter) for f in server_log.filters):
        server_log.addFilter(ClientErrorFilter())
    if level is None:
        level = logging.getLevelName(os.environ.get("LOG_LEVEL", "INFO").upper())
        level = level if isinstance(level, int) else logging.INFO
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def is_json(content_type: str) -> bool:
    """A missing Content-Type, application/json or any +json type (parameters ignored)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in {"", "application/json"} or media_type.endswith("+json")


async def model_unavailable(send: Any) -> None:
    """503 naming the model and what to do, instead of BentoML's "unexpected error"."""
    body = json.dumps({"error": STATE.unavailable}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def unsupported_media_type(send: Any, content_type: str) -> None:
    """415 in the same shape as a validation error, naming the header and what is accepted."""
    detail = {
        "type": "unsupported_media_type",
        "loc": ["header", "content-type"],
        "msg": "the request body must be JSON (Content-Type: application/json)",
        "input": content_type,
    }
    body = json.dumps({"detail": [detail]}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 415, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def rejection_reasons(body: bytes) -> list[str]:
    """The validation error types in a 4xx body (pydantic's `type` per error), or ["invalid"]."""
    try:
        payload = json.loads(body)
    except ValueError:
        return ["invalid"]
    # BentoML answers validation errors as {"detail": [...]} and raised 4xx errors as a list.
    errors = payload.get("detail") if isinstance(payload, dict) else payload
    if not isinstance(errors, list):
        return ["invalid"]
    reasons = sorted({e["type"] for e in errors if isinstance(e, dict) and "type" in e})
    return reasons or ["invalid"]


def reworded(body: bytes, request: bytes) -> bytes:
    """A 400 from the request validation with `error` worded from the contract, as a batch reject
    is (`field: why (got value)`, payloads.problem), and each detail carrying the value sent,
    instead of pydantic's "1 validation error for FeaturesIODescriptor"."""
    try:
        answer = json.loads(body)
        details = answer["detail"]
    except (ValueError, KeyError, TypeError):
        return body
    try:
        sent = json.loads(request)
    except ValueError:  # not JSON: the detail says where it breaks
        sent = ABSENT
    if not isinstance(details, list):
        return body
    problems = []
    for detail in details:
        if not isinstance(detail, dict):
            continue
        loc = detail.get("loc") or []
        value = ABSENT if detail.get("type") == "missing" else value_at(sent, loc)
        if value is not ABSENT:
            detail["input"] = value
        problems.append(problem(loc or ["body"], str(detail.get("msg", "")), value))
    answer["error"] = "; ".join(problems)
    return json.dumps(answer, default=str, separators=(",", ":")).encode()


class RequestContextMiddleware:
    """ASGI middleware: request id in, request id and model version out, rejections counted."""

    def __init__(self, app: Any, prediction_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.prediction_paths = prediction_paths

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        path = scope.get("path", "")
        watch = path in self.prediction_paths
        status = 0
        body = bytearray()
        sent = bytearray()  # the request body, kept to name the value a 400 refused
        held: dict | None = None  # a 400's start, sent once its body is reworded

        async def receive_and_keep() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                sent.extend(message.get("body", b""))
            return message

        async def send_with_context(message: dict) -> None:
            nonlocal status, held
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    (b"x-model-version", STATE.model_version.encode()),
                ]
                if watch and status == 400:
                    held = message
                    return
            elif message["type"] == "http.response.body" and watch and 400 <= status < 500:
                body.extend(message.get("body", b""))
                if message.get("more_body", False):
                    if held is not None:
                        return
                else:
                    for reason in rejection_reasons(bytes(body)):
                        REJECTED_INPUTS.labels(endpoint=path, reason=reason).inc()
                    if held is not None:
                        answer = reworded(bytes(body), bytes(sent))
                        length = (b"content-length", str(len(answer)).encode())
                        headers = [h for h in held["headers"] if h[0].lower() != b"content-length"]
                        await send({**held, "headers": [*headers, length]})
                        message = {"type": "http.response.body", "body": answer}
            await send(message)

        if watch and logger.isEnabledFor(logging.DEBUG):
            logger.debug("request received", extra={"fields": {"path": path}})
        try:
            if watch and STATE.unavailable:
                await model_unavailable(send_with_context)
                return
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            if watch and scope.get("method") == "POST" and not is_json(content_type):
                # BentoML would try to parse a multipart body here and answer 500.
                await unsupported_media_type(send_with_context, content_type)
                return
            await self.app(scope, receive_and_keep if watch else receive, send_with_context)
        finally:
            _request_id.reset(token)
