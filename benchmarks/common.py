"""Measuring helpers shared by the benchmark scripts."""

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def summary(samples_ms: list[float]) -> dict:
    """Median and p95 of a list of milliseconds."""
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"median_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2)}


def wait_for_http(url: str, timeout: float = 30) -> None:
    """Poll until `url` answers (any status)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@contextmanager
def gunicorn(app_spec: str, env: dict, workers: int = 2, threads: int = 1):
    """Run gunicorn on a free port for the duration of the block; yields the base URL."""
    port = free_port()
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "--workers", str(workers), "--threads", str(threads),
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", app_spec],
        cwd=ROOT, env={**os.environ, **env, "LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/healthz" if "coach_app" in app_spec else base + "/floor/1")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


# The one User-Agent of every benchmark request, sign-in included. Flask-Login ties a session
# to the browser that signed in; a cookie replayed from another one (wrk sends no agent) is
# marked not fresh and written back on every response, which no real browser session does.
USER_AGENT = "followthrough-benchmark"


def wrk(url: str, seconds: int = 10, connections: int = 8, cookie: str | None = None) -> dict:
    """Requests per second and latency from wrk (Debian's package) against one URL."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    command[1:1] = ["-H", f"User-Agent: {USER_AGENT}"]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": round(rps, 1), "non_2xx": int(non_2xx.group(1)) if non_2xx else 0}


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the report."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
