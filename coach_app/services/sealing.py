"""Sealing a TOTP secret for storage: encrypted when `cryptography` is installed."""

import base64
import hmac

from flask import current_app


def _fernet():
    # Fernet (AES-128-CBC + HMAC-SHA256) when the `cryptography` package is installed; the
    # key is derived from SECRET_KEY, so a database dump alone does not reveal the secrets.
    try:
        from cryptography.fernet import Fernet
    except ImportError:
        return None
    key = hmac.new(
        current_app.config["SECRET_KEY"].encode(), b"followthrough:two-factor-secret", "sha256"
    ).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str) -> str:
    """The stored form of a TOTP secret; its prefix names the scheme, so both kinds can be read."""
    fernet = _fernet()
    if fernet is None:
        return "plain:" + secret
    return "fernet:" + fernet.encrypt(secret.encode()).decode()


def unseal(stored: str) -> str:
    """The TOTP secret from its stored form."""
    scheme, _, body = stored.partition(":")
    if scheme == "plain":
        return body
    fernet = _fernet()
    if scheme != "fernet" or fernet is None:
        raise RuntimeError("this two-factor secret cannot be read: install `cryptography`")
    return fernet.decrypt(body.encode()).decode()
