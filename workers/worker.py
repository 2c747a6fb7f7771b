"""`rq worker --worker-class workers.worker.WarmWorker`: build the Flask app once, before forking.

RQ's default worker forks a child per job. The parent never runs a job, so without this each
child would build the app (blueprints, Dash, SQLAlchemy engine) again: seconds per job.
"""

from rq.worker import Worker


class WarmWorker(Worker):
    """A forking worker whose children inherit an already built app."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from workers.app import _app

        app = _app()
        with app.app_context():
            from coach_app.extensions import db

            # No connection may cross the fork: children open their own.
            db.engine.dispose()
