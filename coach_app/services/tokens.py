"""Secret tokens for links and cookies: made here, stored only as their hash.

Invitations, password resets, email changes, sessions and trusted devices all work the same
way, so a copy of the database cannot be turned into working links or cookies.
"""

import hashlib
import secrets


def new_token() -> str:
    """A random 256-bit token, URL-safe, to hand out once (in a link or a cookie)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str | None) -> str:
    """The SHA-256 hex digest stored in place of a token (None hashes as empty)."""
    return hashlib.sha256((token or "").encode()).hexdigest()
