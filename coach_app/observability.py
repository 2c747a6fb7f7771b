"""Structured JSON logs with a request id that follows a request into the jobs it enqueues."""

import contextvars
import json
import logging
import time
import uuid

from flask import Flask, g, request

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)


def current_request_id() -> str | None:
    """The id of the request (or job) being handled, if any."""
    return request_id_var.get()


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": current_request_id(),
        }
        for key in ("method", "path", "status", "duration_ms", "job_id"):
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    """Send every log record to stderr, as JSON lines unless json_logs is False."""
    handler = logging.StreamHandler()
    handler.setFormatter(JSONFormatter() if json_logs else logging.Formatter(logging.BASIC_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def register_request_ids(app: Flask) -> None:
    """Give each request an id (or keep the caller's X-Request-ID) and log one line per request."""
    access_log = logging.getLogger("followthrough.access")

    @app.before_request
    def assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        g.request_id = rid
        g.request_started = time.perf_counter()
        g.request_id_token = request_id_var.set(rid)

    @app.after_request
    def log_request(response):
        rid = g.get("request_id")
        if rid:
            response.headers["X-Request-ID"] = rid
            duration = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
            access_log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(duration, 2),
                },
            )
        return response

    @app.teardown_request
    def clear_request_id(_error):
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)
