"""Starting a signed-in session (minimal stand-in: the auth work's version replaces it)."""

from flask_login import login_user


def sign_in(user, *, remember: bool = False, method: str = "password") -> None:
    """Start a signed-in session for `user`, who has passed every factor `method` names."""
    login_user(user, remember=remember)
