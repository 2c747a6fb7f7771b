"""Build the read models the pages read, after the generator's bulk load (which bypasses them).

Every table the portal keeps in step with its writes is left empty by a bulk load through
Core, so it is built here, once, after `benchmarks.generate`: the per-client summaries
(coach pipeline, exceptions queue) and the dashboard's facts and rollups. A new read model
gets one more step here, or the benchmark measures an empty table.
"""

import time


def build_read_models() -> dict[str, float]:
    """Run every build step (inside an app context); returns seconds per step."""
    from coach_app.extensions import db
    from coach_app.services.analytics_facts import rebuild_facts
    from coach_app.services.read_model import rebuild_read_model

    seconds = {}
    for label, build in (("read_model", rebuild_read_model), ("facts", rebuild_facts)):
        started = time.perf_counter()
        build()
        db.session.commit()
        seconds[f"{label}_seconds"] = round(time.perf_counter() - started, 1)
    return seconds
