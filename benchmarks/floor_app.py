"""The framework floor: a minimal Flask endpoint doing one indexed lookup.

Served by gunicorn with the same settings as the portal, it tells what this machine can do
at best, so each measured page is reported as a ratio to it.
"""

import os

from flask import Flask, jsonify
from sqlalchemy import create_engine, text


def create_floor_app() -> Flask:
    """A Flask app with one route that reads one user by primary key."""
    app = Flask(__name__)
    engine = create_engine(
        os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://")
    )

    @app.get("/floor/<int:user_id>")
    def floor(user_id: int):
        with engine.connect() as connection:
            email = connection.execute(
                text("SELECT email FROM users WHERE id = :id"), {"id": user_id}
            ).scalar()
        return jsonify(email=email)

    return app
