"""Health checks, request ids and JSON logs."""

import json
import logging

from coach_app.observability import JSONFormatter, request_id_var


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_reports_database_and_redis(app, client):
    from tests.conftest import service_unavailable

    response = client.get("/readyz")
    assert response.json["checks"]["database"] == "ok"
    if response.json["checks"]["redis"] != "ok":
        service_unavailable("no redis-server for the readiness check")
    assert response.status_code == 200 and response.json["status"] == "ok"


def test_readyz_is_503_when_redis_is_unreachable(app, client):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["redis"].startswith("error")


def test_request_id_is_kept_or_made(client):
    given = client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert given.headers["X-Request-ID"] == "abc123"
    made = client.get("/healthz")
    assert len(made.headers["X-Request-ID"]) == 32


def test_json_log_lines_carry_the_request_id():
    token = request_id_var.set("req-42")
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("you",), None)
        line = json.loads(JSONFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["message"] == "hello you" and line["request_id"] == "req-42"


def report_request_id():
    """A job that answers the request id it runs under."""
    from coach_app.observability import current_request_id
    from workers.app import app_context

    with app_context():
        return current_request_id()


def test_request_id_follows_a_request_into_the_jobs_it_enqueues(app):
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import SimpleWorker

    from tests.conftest import service_unavailable
    from workers.app import job_meta
    from workers.queues import enqueue_sweep, get_queue

    try:
        Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=1).ping()
    except RedisError:
        service_unavailable("no redis-server for the request-id test")
    app.config["RQ_QUEUE_PREFIX"] = "ft-test-rid"
    queue = get_queue(app)
    queue.empty()
    token = request_id_var.set("req-from-web")
    try:
        enqueue_sweep(app)
        job = queue.enqueue(report_request_id, meta=job_meta())
    finally:
        request_id_var.reset(token)
    assert queue.fetch_job("sweep-outbox-soon").meta["request_id"] == "req-from-web"
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert job.return_value(refresh=True) == "req-from-web"
