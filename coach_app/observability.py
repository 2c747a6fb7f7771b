"""Logs with a request id that follows a request into the jobs it enqueues.

Production writes one JSON object per line (LOG_JSON, the default). Development (`make run`
sets LOG_JSON=false) writes one short readable line per event instead, and leaves out
the access line of each ordinary request (see register_request_ids).
"""

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
        for key in EXTRAS:
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


EXTRAS = ("method", "path", "status", "duration_ms", "job_id")


class ReadableFormatter(logging.Formatter):
    """One short line per record for a terminal: `15:04:05 INFO  workers.jobs: message`."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)-5s %(name)s: %(message)s", "%H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        if hasattr(record, "path"):  # an access line: say what it was, not "request"
            status, duration = getattr(record, "status", ""), getattr(record, "duration_ms", "")
            line = line.removesuffix(record.message)
            line += f"{getattr(record, 'method', '')} {record.path} {status} {duration} ms"
        return line


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    """Send every log record to stderr once: JSON lines, or readable lines if json_logs is False."""
    handler = logging.StreamHandler()
    handler.setFormatter(JSONFormatter() if json_logs else ReadableFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # RQ's command line gives its loggers their own plain handler before the worker builds
    # this app; with ours on the root as well, every worker line came out twice (plain, then
    # JSON). Its records now go through the root handler only.
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if (name == "rq" or name.startswith("rq.")) and isinstance(logger, logging.Logger):
            logger.handlers.clear()
            logger.propagate = True


SLOW_REQUEST_MS = 1000


def access_level(status: int, duration_ms: float, every_request: bool) -> int:
    """INFO for a request worth a line; ordinary ones are DEBUG in development."""
    if every_request or status >= 400 or duration_ms >= SLOW_REQUEST_MS:
        return logging.INFO
    return logging.DEBUG


def register_request_ids(app: Flask) -> None:
    """Give each request an id (or keep the caller's X-Request-ID) and log one line per request.

    With JSON logs (production) every request gets its access line, for monitoring. In
    development only failed (4xx, 5xx) and slow requests do, at INFO; the rest are DEBUG
    (LOG_LEVEL=DEBUG shows them): one page in a browser is dozens of requests.
    """
    access_log = logging.getLogger("followthrough.access")
    every_request = app.config.get("LOG_JSON", True)

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
            access_log.log(
                access_level(response.status_code, duration, every_request),
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
