"""Settings from the environment."""

from coach_app.config import from_environment, load_secret_key


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_secret_key(tmp_path)
    assert len(first) > 40
    assert load_secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_environment_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("REDIS_URL", "redis://example:1/2")
    monkeypatch.setenv("MAIL_BACKEND", "smtp")
    config = from_environment(tmp_path)
    assert config["SECRET_KEY"] == "from-env"
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert config["REDIS_URL"] == "redis://example:1/2"
    assert config["MAIL_BACKEND"] == "smtp"


def test_default_database_is_sqlite_under_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = from_environment(tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'followthrough.sqlite3'}"


def test_gunicorn_workers_tune_the_garbage_collector_after_loading_the_app():
    import gc
    import runpy
    from pathlib import Path

    settings = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))
    before = gc.get_threshold()
    try:
        settings["post_worker_init"](worker=None)
        assert gc.get_threshold() == settings["GC_THRESHOLD"]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_analytics_database_defaults_to_the_portals_own(tmp_path, monkeypatch):
    monkeypatch.delenv("ANALYTICS_DATABASE_URL", raising=False)
    assert from_environment(tmp_path)["ANALYTICS_DATABASE_URL"] == ""
    monkeypatch.setenv("ANALYTICS_DATABASE_URL", "postgres://u@replica/db")
    config = from_environment(tmp_path)
    assert config["ANALYTICS_DATABASE_URL"] == "postgresql+psycopg://u@replica/db"


def test_dashboard_reads_run_on_the_analytics_database_when_set(tmp_path):
    """The seam on two SQLite files; tests/test_analytics_replica.py runs it on a real replica."""
    from sqlalchemy import text

    from coach_app import create_app
    from coach_app.extensions import db
    from dashboards.source import analytics_connection, analytics_engine

    base = {"TESTING": True, "SECRET_KEY": "x", "RATELIMIT_STORAGE_URI": "memory://"}
    primary = f"sqlite:///{tmp_path / 'primary.db'}"
    other = f"sqlite:///{tmp_path / 'other.db'}"
    base["SQLALCHEMY_DATABASE_URI"] = primary
    alone = create_app({**base, "ANALYTICS_DATABASE_URL": ""})
    with alone.test_request_context():
        assert analytics_engine() is None
        assert analytics_connection() is db.session.connection()
    split = create_app({**base, "ANALYTICS_DATABASE_URL": other})
    with split.test_request_context():
        db.session.execute(text("CREATE TABLE here (x int)"))  # on the primary
        assert str(analytics_connection().engine.url) == other
        tables = "SELECT name FROM sqlite_master WHERE name = 'here'"
        assert analytics_connection().execute(text(tables)).all() == []
        assert db.session.execute(text(tables)).all() == [("here",)]
        assert analytics_connection() is analytics_connection()  # one per request
        db.session.rollback()
        analytics_engine().dispose()
        db.engine.dispose()
    with alone.app_context():
        db.create_all()  # another app in the same process is not affected by the first one's
        db.drop_all()
