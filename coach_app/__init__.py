"""Followthrough: post-interview follow-up tracking for career coaches."""

from datetime import timedelta
from pathlib import Path

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from coach_app import config as config_module
from coach_app.extensions import csrf, db, limiter, login_manager, migrate
from coach_app.observability import configure_logging, register_request_ids


def create_app(config: dict | None = None) -> Flask:
    """Build the Flask application; `config` overrides settings read from the environment."""
    app = Flask(__name__, instance_relative_config=True)
    instance_path = Path(app.instance_path)
    instance_path.mkdir(parents=True, exist_ok=True)
    app.config.update(config_module.from_environment(instance_path))
    if config:
        app.config.update(config)
    if app.config.get("TRUSTED_PROXY_COUNT"):
        # Behind a proxy, per-address rate limits need the client's address, not the proxy's.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    register_extensions(app)
    register_security(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_template_helpers(app)
    register_cli(app)
    register_request_ids(app)
    register_dashboards(app)
    if not app.testing:
        configure_logging(app.config["LOG_LEVEL"], json_logs=app.config["LOG_JSON"])
    return app


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions to this app."""
    from coach_app import models  # noqa: F401  (models must be imported for metadata)

    # A server connection can drop between requests, so it is pinged before use; a SQLite
    # file's cannot, and the ping would be one more statement on every request.
    engine_options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    is_sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    engine_options.setdefault("pool_pre_ping", not is_sqlite)
    db.init_app(app)
    from dashboards import source

    source.init_app(app)  # the dashboard's read replica, when ANALYTICS_DATABASE_URL is set
    migrate.init_app(
        app,
        db,
        directory=str(Path(__file__).parent.parent / "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"

    # The cookie names a server-side session (user_sessions), not the user: see auth/sessions.py.
    login_manager.id_attribute = "get_session_token"
    app.config.setdefault("REMEMBER_COOKIE_DURATION", timedelta(days=app.config["REMEMBER_DAYS"]))
    from coach_app.auth.sessions import check_each_request, load_user
    from coach_app.services import user_sessions

    login_manager.user_loader(load_user)
    user_sessions.install()
    limiter.init_app(app)
    app.before_request(check_each_request)

    if is_sqlite:
        with app.app_context():
            _tune_sqlite(db.engine)


def _tune_sqlite(engine) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        # WAL lets the web process read while a worker writes; the timeout waits out short locks.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def register_security(app: Flask) -> None:
    """Input filter, bounded `<int:>` ids and security headers (before any route or hook)."""
    from coach_app import input_filter, security_headers
    from coach_app.access import register_id_converter

    register_id_converter(app)
    input_filter.register(app)
    security_headers.register(app)


def register_blueprints(app: Flask) -> None:
    """Attach the feature blueprints."""
    from coach_app.admin import bp as admin_bp
    from coach_app.auth import bp as auth_bp
    from coach_app.client import bp as client_bp
    from coach_app.coach import bp as coach_bp
    from coach_app.cohorts import bp as cohorts_bp
    from coach_app.main import bp as main_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(coach_bp, url_prefix="/coach")
    app.register_blueprint(client_bp, url_prefix="/me")
    app.register_blueprint(cohorts_bp, url_prefix="/cohorts")
    from coach_app.reminders import bp as reminders_bp

    app.register_blueprint(reminders_bp)
    from coach_app.account import bp as account_bp

    app.register_blueprint(account_bp, url_prefix="/account")


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def register_error_handlers(app: Flask) -> None:
    """Friendly pages for errors; JSON errors for API clients."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if _wants_json():
            return jsonify(error=error.name, message=error.description), error.code
        return render_template("error.html", error=error), error.code

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        app.logger.exception("Unhandled error")
        db.session.rollback()
        if _wants_json():
            return jsonify(error="Internal Server Error", message="Something went wrong."), 500
        return render_template("error.html", error=None), 500


def register_template_helpers(app: Flask) -> None:
    """Filters for local times, countdowns and rates, the pager's pages, the unread count."""
    from coach_app.paging import page_window
    from coach_app.timefmt import local_datetime, rate_html, relative_due

    app.jinja_env.filters["local"] = local_datetime
    app.jinja_env.filters["relative_due"] = relative_due
    app.jinja_env.filters["rate"] = rate_html
    app.jinja_env.globals["page_window"] = page_window

    @app.context_processor
    def inject_notifications():
        from flask_login import current_user

        from coach_app.services.notifications import unread_count

        if getattr(current_user, "is_authenticated", False):
            return {"unread_notifications": unread_count(current_user)}
        return {"unread_notifications": 0}


def register_dashboards(app: Flask) -> None:
    """Mount the Dash analytics at /analytics/ and keep its per-opportunity facts current."""
    from coach_app.services import analytics_facts, read_model
    from dashboards import init_dashboard

    analytics_facts.install()
    read_model.install()  # the pipeline's per-client summaries, kept the same way
    init_dashboard(app)


def register_cli(app: Flask) -> None:
    """Add the `flask` commands (users, demo data)."""
    from coach_app.cli import register

    register(app)
