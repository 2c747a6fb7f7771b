"""Turn benchmark JSON results into the markdown tables of docs/benchmarks.md.

python -m benchmarks.report benchmarks/results/sqlite.json benchmarks/results/postgresql.json
"""

import json
import sys
from pathlib import Path


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def render(reports: list[dict]) -> str:
    """Markdown for one or more reports from benchmarks.run."""
    runs = [run for report in reports for run in report["runs"]]
    out = []
    machine = reports[0]["machine"]
    out.append(
        f"Measured {reports[0]['date']} on {machine['cpus']} cores, {machine['memory_gb']} GB, "
        f"Python {machine['python']}, {machine['platform']}."
    )
    out.append("\n### Data generation\n")
    out.append(_row(["engine", "clients", "opportunities", "interviews", "tasks",
                     "generate s", "read model s", "analytics facts s",
                     "database MB"]))  # fmt: skip
    out.append(_row(["---"] * 9))
    for run in runs:
        g = run["generated"]
        out.append(_row([run["engine"], f"{g['clients']:,}", f"{g['opportunities']:,}",
                         f"{g['interviews']:,}", f"{g['tasks']:,}", g["seconds"],
                         g.get("read_model_seconds", ""), g.get("facts_seconds", ""),
                         g.get("database_mb", "")]))  # fmt: skip
    out.append("\n### Pages (coach with 500 clients; server time in-process, rps under gunicorn)\n")
    out.append(_row(["engine", "clients", "page", "median ms", "p95 ms", "SQL/request", "rps",
                     "floor rps", "ratio to floor", "ratio per round"]))  # fmt: skip
    out.append(_row(["---"] * 10))
    for run in runs:
        load = run.get("throughput", {})
        floor = load.get("floor", {}).get("rps", "")
        for page, timing in run["server_time"].items():
            page_load = load.get(page, {})
            per_round = " / ".join(map(str, page_load.get("ratio_samples", [])))
            out.append(_row([run["engine"], f"{run['clients']:,}", page, timing["median_ms"],
                             timing["p95_ms"], timing["queries"], page_load.get("rps", ""),
                             floor, page_load.get("ratio_to_floor", ""),
                             per_round]))  # fmt: skip
    out.append("\n### Dashboard (admin, every view) against the bare GROUP BY\n")
    out.append(_row(["engine", "clients", "full load s", "filter change s", "peak RSS MB",
                     "bare GROUP BY s", "full / bare", "filter / bare"]))  # fmt: skip
    out.append(_row(["---"] * 8))
    for run in runs:
        d = run["dashboard"]
        if "error" in d:
            out.append(_row([run["engine"], f"{run['clients']:,}", "error", "", "", "", "", ""]))
            continue
        out.append(_row([run["engine"], f"{run['clients']:,}", d["full_load_s"],
                         d["filter_change_s"], d["peak_rss_mb"], d["bare_group_by_s"],
                         d["full_load_ratio"], d["filter_change_ratio"]]))  # fmt: skip
    out.append("\n### Reminders: sweep query and delivery to a local SMTP sink\n")
    out.append(_row(["engine", "clients", "pending reminders", "due query median ms",
                     "claim ms", "delivered", "worker msg/s", "bare SMTP msg/s",
                     "worker / bare", "plan"]))  # fmt: skip
    out.append(_row(["---"] * 10))
    for run in runs:
        r = run["reminders"]
        out.append(_row([run["engine"], f"{run['clients']:,}", f"{r['open_task_reminders']:,}",
                         r["median_ms"], r["claim_ms"], r["delivered"], r["worker_per_s"],
                         r["bare_smtp_per_s"], r["worker_ratio"],
                         r["due_query_plan"][:80]]))  # fmt: skip
    return "\n".join(out) + "\n"


def main() -> None:
    """Print the tables for the JSON files named on the command line."""
    reports = [json.loads(Path(path).read_text()) for path in sys.argv[1:]]
    print(render(reports))


if __name__ == "__main__":
    main()
