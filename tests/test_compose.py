"""docker-compose.yml is validated here, since Docker cannot run on the CI machine."""

import importlib
import re
import shutil
from pathlib import Path

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
    assert set(compose()["volumes"]) == {"pgdata", "redisdata"}


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
    # POSTGRES_PASSWORD feeds compose's own ${...} interpolation, not the app.
    assert passed - {"POSTGRES_PASSWORD"} <= read
    assert services["web"]["env_file"] == ".env"


def test_dockerfile_installs_the_three_packages():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("coach_app", "dashboards", "workers", "migrations"):
        assert f"COPY {package}" in dockerfile
