"""Build the read models the pages read, after the generator's bulk load (which bypasses them).

MERGE HOOK (issue 15): every table that the portal keeps in step with its writes, and that a
bulk load therefore leaves empty, is built here, once, after `benchmarks.generate`:
- the per-client summaries, `coach_app.services.read_model.rebuild_read_model()` (READMODEL's
  part; called when the module exists, so this file works before and after that merge);
- the dashboard's facts and rollups, `coach_app.services.analytics_facts.rebuild_facts()`
  (DASH's part builds the rollups in the same call).
A new read model gets one more step here, or the benchmark measures an empty table.
"""

import importlib
import time

# (label, module, function): run in this order, each step skipped while its module is absent.
STEPS = (
    ("read_model", "coach_app.services.read_model", "rebuild_read_model"),
    ("facts", "coach_app.services.analytics_facts", "rebuild_facts"),
)


def build_read_models() -> dict[str, float]:
    """Run every build step (inside an app context); returns seconds per step."""
    from coach_app.extensions import db

    seconds = {}
    for label, module_name, function in STEPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise  # the module exists but is broken: that is a failure, not a skip
            continue
        started = time.perf_counter()
        getattr(module, function)()
        db.session.commit()
        seconds[f"{label}_seconds"] = round(time.perf_counter() - started, 1)
    return seconds
