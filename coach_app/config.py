"""Settings read from the environment, with laptop-friendly defaults."""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def url_scheme(base_url: str) -> str:
    """PREFERRED_URL_SCHEME from the environment, else the scheme of BASE_URL."""
    return os.environ.get("PREFERRED_URL_SCHEME") or urlsplit(base_url).scheme or "http"


def cookies_secure_by_default(base_url: str) -> bool:
    """Secure cookies unless the portal is served over plain http on this machine (`make run`).

    "Production" is any address that is not the loopback interface over http: a deployment
    reached by other machines must use HTTPS, and its cookies must never travel in clear.
    SESSION_COOKIE_SECURE=0 turns this off explicitly (a test rig on a LAN, say).
    """
    parts = urlsplit(base_url)
    return not (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS)


def load_secret_key(instance_path: Path) -> str:
    """Return SECRET_KEY from the environment, or one generated once and kept in instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Created with owner-only permissions: the key signs every session cookie.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def sqlalchemy_url(url: str) -> str:
    """A database URL with the driver SQLAlchemy should use (psycopg 3 for PostgreSQL)."""
    # Heroku-style URLs name the old driver; psycopg 3 is the one installed.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def from_environment(instance_path: Path) -> dict:
    """Build the configuration mapping from environment variables."""
    default_db = f"sqlite:///{instance_path / 'followthrough.sqlite3'}"
    database_url = sqlalchemy_url(os.environ.get("DATABASE_URL", default_db))
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    base_url = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    secure_cookies = _bool("SESSION_COOKIE_SECURE", cookies_secure_by_default(base_url))
    return {
        "SECRET_KEY": load_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # The dashboard's reads (and CSV exports) go here when set: a streaming replica of
        # DATABASE_URL, a few seconds behind it (docs/operations.md). Empty: the same database.
        "ANALYTICS_DATABASE_URL": sqlalchemy_url(os.environ.get("ANALYTICS_DATABASE_URL", "")),
        "REDIS_URL": redis_url,
        "RQ_QUEUE_PREFIX": os.environ.get("RQ_QUEUE_PREFIX", "followthrough"),
        "BASE_URL": base_url,
        "PREFERRED_URL_SCHEME": url_scheme(base_url),
        "MAIL_BACKEND": os.environ.get("MAIL_BACKEND", "console"),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "127.0.0.1"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS"),
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": os.environ.get(
            "MAIL_DEFAULT_SENDER", "Followthrough <no-reply@followthrough.local>"
        ),
        "MAIL_TIMEOUT": float(os.environ.get("MAIL_TIMEOUT", "10")),
        "INVITATION_TTL_HOURS": int(os.environ.get("INVITATION_TTL_HOURS", "168")),
        # Sign-in backoff per account (docs/security-auth.md): free failures, then a doubling
        # wait capped at LOGIN_LOCK_MINUTES; a device the owner signed in from skips it.
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCK_MINUTES": int(os.environ.get("LOGIN_LOCK_MINUTES", "15")),
        "KNOWN_DEVICE_DAYS": int(os.environ.get("KNOWN_DEVICE_DAYS", "180")),
        # Rate limits (Flask-Limiter strings, "N per minute;M per hour"), kept in Redis.
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI") or redis_url,
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "followthrough"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down: each web process limits on its own rather than refusing every sign-in.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "LOGIN_IP_LIMIT": os.environ.get("LOGIN_IP_LIMIT", "10 per minute;50 per hour"),
        "PASSWORD_CHECK_LIMIT": os.environ.get("PASSWORD_CHECK_LIMIT", "5 per minute;20 per hour"),
        "RESET_REQUEST_LIMIT": os.environ.get("RESET_REQUEST_LIMIT", "5 per minute;20 per hour"),
        "RESET_EMAIL_LIMIT": os.environ.get("RESET_EMAIL_LIMIT", "3 per hour"),
        "TOKEN_LINK_LIMIT": os.environ.get("TOKEN_LINK_LIMIT", "30 per minute;100 per hour"),
        "EXPORT_LIMIT": os.environ.get("EXPORT_LIMIT", "30 per minute;300 per hour"),
        "INVITE_LIMIT": os.environ.get("INVITE_LIMIT", "20 per minute;200 per hour"),
        "PASSWORD_RESET_TTL_MINUTES": int(os.environ.get("PASSWORD_RESET_TTL_MINUTES", "60")),
        # Server-side sessions: idle and absolute lifetimes, and how recent a password entry
        # must be for sensitive actions.
        "SESSION_IDLE_MINUTES": int(os.environ.get("SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": int(os.environ.get("SESSION_MAX_HOURS", "12")),
        "REMEMBER_DAYS": int(os.environ.get("REMEMBER_DAYS", "30")),
        "FRESH_LOGIN_MINUTES": int(os.environ.get("FRESH_LOGIN_MINUTES", "10")),
        # Client addresses come from X-Forwarded-For only when this many proxies are trusted.
        "TRUSTED_PROXY_COUNT": int(os.environ.get("TRUSTED_PROXY_COUNT", "0")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "PAGE_SIZE": int(os.environ.get("PAGE_SIZE", "50")),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "LOG_JSON": _bool("LOG_JSON", True),
    }
