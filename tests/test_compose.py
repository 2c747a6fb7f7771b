"""docker-compose.yml is validated here, since Docker cannot run on the CI machine."""

import importlib
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
APP_SERVICES = {"migrate", "web", "worker", "cron"}


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def settings_the_app_reads() -> set[str]:
    source = (ROOT / "coach_app" / "config.py").read_text()
    return set(re.findall(r'(?:environ\.get|environ\[|_bool)\(?\s*"([A-Z_]+)"', source))


def test_compose_parses_with_the_expected_services():
    services = compose()["services"]
    assert {"postgres", "redis", "web", "worker", "cron", "mailcatcher", "migrate"} <= set(services)
    for name, service in services.items():
        if name != "migrate":
            assert "healthcheck" in service or name in {"worker", "cron"}, name
    assert set(compose()["volumes"]) == {"pgdata", "pgreplica", "redisdata"}


def test_app_services_run_commands_that_exist_in_the_project():
    services = compose()["services"]
    venv_bin = ROOT / ".venv" / "bin"
    for name in APP_SERVICES:
        command = services[name]["command"]
        executable = command[0]
        assert (venv_bin / executable).exists() or shutil.which(executable), (name, executable)
        if executable == "rq" and command[1] == "cron":
            assert (ROOT / command[2]).is_file(), command
        if executable == "gunicorn":
            assert command[-1] == "coach_app:create_app()"
            from coach_app import create_app  # noqa: F401  (the factory named is importable)
        if executable == "rq" and command[1] == "worker":
            assert command[-1] == "followthrough-default"
            module, _, name = command[command.index("--worker-class") + 1].rpartition(".")
            assert getattr(importlib.import_module(module), name)


def test_web_starts_after_migrations_and_waits_for_health():
    services = compose()["services"]
    assert services["migrate"]["command"][-2:] == ["db", "upgrade"]
    for name in ("web", "worker", "cron"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_every_setting_passed_to_the_app_is_one_it_reads():
    read = settings_the_app_reads()
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MAIL_BACKEND"} <= read
    services = compose()["services"]
    for name in APP_SERVICES:
        assert set(services[name]["environment"]) <= read, name
    env_example = ROOT / ".env.example"
    passed = {
        line.split("=", 1)[0]
        for line in env_example.read_text().splitlines()
        if line and not line.startswith("#")
    }
    # These feed compose's own ${...} interpolation and profiles, not the app.
    assert passed - {"POSTGRES_PASSWORD", "REPLICATION_PASSWORD", "COMPOSE_PROFILES"} <= read
    assert services["web"]["env_file"] == ".env"


def test_dockerfile_installs_the_three_packages():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("coach_app", "dashboards", "workers", "migrations"):
        assert f"COPY {package}" in dockerfile


def env_example_lines(commented: bool) -> dict[str, str]:
    """NAME=value lines of .env.example, the commented-out ones or the active ones."""
    lines = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        is_comment = line.startswith("# ")
        body = line[2:] if is_comment else line
        if is_comment == commented and re.fullmatch(r"[A-Z_]+=\S.*", body):
            name, value = body.split("=", 1)
            lines[name] = value
    return lines


def test_replica_profile_is_a_streaming_standby_of_the_compose_postgres():
    services = compose()["services"]
    replica, primary = services["postgres-replica"], services["postgres"]
    # Only the standby is in the profile: a plain `docker compose up` is unchanged.
    assert [n for n, s in services.items() if "profiles" in s] == ["postgres-replica"]
    assert replica["profiles"] == ["replica"]
    # Physical replication needs the same major version on both sides.
    assert replica["image"] == primary["image"]
    assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert replica["environment"]["PRIMARY_HOST"] == "postgres"
    assert "pgreplica:/var/lib/postgresql/data" in replica["volumes"]
    assert "pg_isready" in " ".join(replica["healthcheck"]["test"])
    # The primary creates the replication role on first start, with the same password.
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in primary["volumes"] if ":ro" in v)
    init = ROOT / next(src for src, dst in mounts.items() if "docker-entrypoint-initdb.d" in dst)
    assert primary["environment"]["REPLICATION_PASSWORD"] == replica["environment"]["PGPASSWORD"]
    init_text = init.read_text()
    assert "CREATE ROLE replicator WITH REPLICATION LOGIN" in init_text
    assert re.search(r"host replication replicator \S+ scram-sha-256", init_text)
    # The standby copies the primary once (pg_basebackup -R), then runs as a hot standby.
    script_mount = next(v for v in replica["volumes"] if v.startswith("./docker/"))
    source, target = script_mount.removesuffix(":ro").split(":")
    assert target in replica["entrypoint"]
    script = (ROOT / source).read_text()
    for needle in ("pg_basebackup", "--write-recovery-conf", "--username=replicator",
                   '--host="$PRIMARY_HOST"', "hot_standby=on"):  # fmt: skip
        assert needle in script, needle
    if shutil.which("bash"):
        for path in (init, ROOT / source):
            subprocess.run(["bash", "-n", str(path)], check=True)


def test_web_reads_the_dashboard_from_the_replica_under_the_profile():
    services = compose()["services"]
    web = services["web"]
    assert web["environment"]["ANALYTICS_DATABASE_URL"] == "${ANALYTICS_DATABASE_URL:-}"
    assert web["environment"]["DATABASE_URL"] == services["worker"]["environment"]["DATABASE_URL"]
    wait = web["depends_on"]["postgres-replica"]
    assert wait == {"condition": "service_healthy", "required": False}
    # Only the web service serves the dashboard; workers and cron write, so they use the primary.
    for name in ("worker", "cron", "migrate"):
        assert "ANALYTICS_DATABASE_URL" not in services[name]["environment"], name
    # .env.example shows the switch: the profile and a URL naming the standby service, with
    # the primary's user, password and database (a physical copy has the same ones).
    example = env_example_lines(commented=True)
    assert example["COMPOSE_PROFILES"] == "replica"
    replica_url = urlsplit(example["ANALYTICS_DATABASE_URL"])
    primary_url = urlsplit(web["environment"]["DATABASE_URL"])
    assert replica_url.hostname == "postgres-replica" and replica_url.port == 5432
    assert (replica_url.username, replica_url.path) == (primary_url.username, primary_url.path)
    assert "ANALYTICS_DATABASE_URL" in settings_the_app_reads()
