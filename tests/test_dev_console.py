"""What `make run` prints: emails as framed blocks, one readable log line per event."""

import io
import logging

import pytest

from coach_app.observability import ReadableFormatter, configure_logging
from tests.conftest import make_app
from workers.mail import ConsoleBackend, build_message

BODY = (
    "Send a short thank-you email today.\n"
    "Open it: http://127.0.0.1:5000/me/tasks/12\n"
    "--\n"
    "Stop emails like this (due today): http://127.0.0.1:5000/unsubscribe/abc\n"
)


def test_console_email_is_one_framed_block_with_to_subject_and_link(capsys):
    messages = [
        build_message(to=f"client{i}@demo.example.com", subject=f"Due today #{i}", text=BODY)
        for i in (1, 2)
    ]
    sent = []
    ConsoleBackend({"MAIL_DEFAULT_SENDER": "ft@example.com"}).send_many(messages, sent.append)
    out = capsys.readouterr().out
    assert sent == [0, 1]
    blocks = out.strip("\n").split("\n\n")
    assert len(blocks) == 2
    lines = blocks[0].splitlines()
    assert lines[0].startswith("+=") and " EMAIL " in lines[0]
    assert lines[1:4] == [
        "| To:      client1@demo.example.com",
        "| Subject: Due today #1",
        "| Link:    http://127.0.0.1:5000/me/tasks/12",  # the task, not the unsubscribe link
    ]
    assert "| Send a short thank-you email today." in lines
    assert lines[-1].startswith("+=") and set(lines[-1]) == {"+", "="}
    # Every line inside the frame is marked, so the block stands out among log lines.
    assert all(line[0] in "+|" for line in lines)


def test_readable_logs_print_each_worker_line_once():
    # What `rq worker` does before the app is built: its own handler on rq.worker.
    rq_stream = io.StringIO()
    rq_logger = logging.getLogger("rq.worker")
    rq_logger.addHandler(logging.StreamHandler(rq_stream))
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        configure_logging("INFO", json_logs=False)
        out = io.StringIO()
        root.handlers[0].setStream(out)
        rq_logger.info("Job OK (abc)")
        logging.getLogger("workers.jobs").info("sweep: %s", "claimed 2, batches 1")
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    assert rq_stream.getvalue() == ""
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(" INFO  rq.worker: Job OK (abc)")
    assert lines[1].endswith(" INFO  workers.jobs: sweep: claimed 2, batches 1")
    assert not any(line.startswith("{") for line in lines)  # no JSON twin


def test_readable_access_line_says_what_was_requested():
    record = logging.LogRecord(
        "followthrough.access", logging.INFO, __file__, 1, "request", (), None
    )
    record.method, record.path, record.status, record.duration_ms = "GET", "/nope", 404, 3.2
    line = ReadableFormatter().format(record)
    assert line.endswith(" INFO  followthrough.access: GET /nope 404 3.2 ms")


@pytest.mark.parametrize("log_json", [False, True])
def test_ordinary_requests_are_quiet_in_development_only(
    _schema, database_url, instance_dir, caplog, log_json
):
    app = make_app(database_url, instance_dir, LOG_JSON=log_json)
    client = app.test_client()
    with caplog.at_level(logging.DEBUG, logger="followthrough.access"):
        client.get("/healthz")
        client.get("/no-such-page")
    levels = {r.path: r.levelno for r in caplog.records if r.name == "followthrough.access"}
    assert levels["/no-such-page"] == logging.INFO
    assert levels["/healthz"] == (logging.INFO if log_json else logging.DEBUG)


def test_favicon_is_served_and_linked(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith("<svg")
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg"' in page
    assert client.get("/static/favicon.svg").status_code == 200
