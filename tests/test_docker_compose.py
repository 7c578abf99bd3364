"""docker-compose.yml only names things that exist in this project.

Docker does not run in the test environment, so these tests read the compose file and the Dockerfile
and check every module, class, management command, file and environment variable they rely on.
"""

import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from celery import Celery
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES = COMPOSE["services"]

# Services built from this repository run project code; the others use stock images.
PROJECT_SERVICES = sorted(name for name, service in SERVICES.items() if "build" in service)
REQUIRED_ENV = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "ALLOWED_HOSTS")
# Matches "module.path:attribute" (and not "0.0.0.0:8000").
WSGI_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
COMPOSE_VARIABLE = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def argv(service_name):
    command = SERVICES[service_name].get("command")
    assert command, f"service {service_name!r} has no command"
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def services_running(program):
    return [name for name in PROJECT_SERVICES if argv(name)[0] == program]


def option_value(args, short, long):
    """Value of `-A x`, `-Ax`, `--app x` or `--app=x` style options, else None."""
    for index, arg in enumerate(args):
        if arg in (short, long):
            return args[index + 1] if index + 1 < len(args) else None
        if arg.startswith(long + "="):
            return arg.split("=", 1)[1]
        if short and arg.startswith(short) and len(arg) > len(short) and not arg.startswith("--"):
            return arg[len(short) :]
    return None


def module_file(module):
    """The source file a dotted module name resolves to inside the project, or None."""
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def interpolate(value):
    """What docker compose would substitute, with placeholders for required variables."""

    def replace(match):
        name, kind, default = match.groups()
        if kind == "-":
            return default
        # Long enough to pass the production settings' SECRET_KEY length check.
        return f"compose-test-{name.lower().replace('_', '-')}".ljust(64, "x")

    return COMPOSE_VARIABLE.sub(replace, str(value))


def load_settings_in_subprocess(environment):
    """Imports the settings with exactly `environment` (plus PATH); returns the completed process."""
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['ENGINE']); print(settings.CELERY_BROKER_URL)"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **environment}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_compose_defines_web_worker_beat_postgres_and_redis():
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(SERVICES)
    assert SERVICES["postgres"]["image"].startswith("postgres:15")
    assert SERVICES["redis"]["image"].startswith("redis:7")


def test_web_worker_and_beat_are_built_from_the_project():
    assert {"web", "worker", "beat"} <= set(PROJECT_SERVICES)


@pytest.mark.parametrize("service_name", PROJECT_SERVICES)
def test_project_service_builds_from_an_existing_dockerfile(service_name):
    build = SERVICES[service_name]["build"]
    context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
    dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
    assert context.is_dir(), f"build context {context} does not exist"
    assert (context / dockerfile).is_file(), f"{context / dockerfile} does not exist"


@pytest.mark.parametrize("service_name", PROJECT_SERVICES)
def test_project_service_runs_gunicorn_celery_or_manage_py(service_name):
    args = argv(service_name)
    assert args[0] in ("gunicorn", "celery") or args[:2] == ["python", "manage.py"], (
        f"{service_name} runs {args!r}; teach tests/test_docker_compose.py to check it"
    )


@pytest.mark.parametrize("service_name", services_running("celery"))
def test_celery_app_module_exists(service_name):
    module = option_value(argv(service_name), "-A", "--app")
    assert module, f"{service_name}: celery command has no -A/--app"
    assert module_file(module), f"{service_name}: -A {module} has no source file in the project"
    imported = importlib.import_module(module)
    app = getattr(imported, "app", None) or getattr(imported, "celery", None)
    assert isinstance(app, Celery), f"{module} defines no Celery app named app or celery"


@pytest.mark.parametrize("service_name", services_running("gunicorn"))
def test_gunicorn_wsgi_application_exists(service_name):
    targets = [arg for arg in argv(service_name)[1:] if WSGI_TARGET.match(arg)]
    assert len(targets) == 1, f"{service_name}: expected one module:attribute, found {targets!r}"
    module, attribute = targets[0].split(":")
    assert module_file(module), f"{service_name}: {module} has no source file in the project"
    assert callable(getattr(importlib.import_module(module), attribute, None))


@pytest.mark.parametrize(
    "service_name", [n for n in services_running("celery") if option_value(argv(n), "-S", "--scheduler")]
)
def test_celery_scheduler_class_exists(service_name):
    scheduler = option_value(argv(service_name), "-S", "--scheduler")
    module, _, attribute = scheduler.replace(":", ".").rpartition(".")
    assert hasattr(importlib.import_module(module), attribute), f"{scheduler} does not exist"


def test_beat_uses_the_database_scheduler():
    scheduler = option_value(argv("beat"), "-S", "--scheduler")
    assert scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


@pytest.mark.parametrize("service_name", [n for n in PROJECT_SERVICES if argv(n)[:2] == ["python", "manage.py"]])
def test_manage_py_command_exists(service_name):
    command = argv(service_name)[2]
    assert command in get_commands(), f"{service_name}: manage.py {command} does not exist"


@pytest.mark.parametrize("service_name", PROJECT_SERVICES)
def test_project_service_sets_required_environment(service_name):
    environment = SERVICES[service_name].get("environment") or {}
    missing = [name for name in REQUIRED_ENV if not environment.get(name)]
    assert not missing, f"{service_name} does not set {missing}"
    assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


@pytest.mark.parametrize("service_name", PROJECT_SERVICES)
def test_settings_load_with_only_the_compose_environment(service_name):
    environment = {name: interpolate(value) for name, value in SERVICES[service_name]["environment"].items()}
    result = load_settings_in_subprocess(environment)
    assert result.returncode == 0, result.stderr[-3000:]
    engine, broker = result.stdout.split()[-2:]
    assert engine == "django.db.backends.postgresql", "DATABASE_URL from compose is not used"
    assert broker.startswith("redis://redis:"), "CELERY_BROKER_URL from compose is not used"


def test_dockerfile_collectstatic_environment_loads_the_settings():
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    run_lines = [line for line in text.splitlines() if line.startswith("RUN") and "collectstatic" in line]
    assert len(run_lines) == 1, "Dockerfile should run collectstatic once"
    environment = {}
    for word in shlex.split(run_lines[0])[1:]:
        if not re.match(r"^\w+=", word):
            break
        name, value = word.split("=", 1)
        environment[name] = value
    assert environment.get("DJANGO_SETTINGS_MODULE") == "config.settings.production"
    result = load_settings_in_subprocess(environment)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.parametrize("service_name", PROJECT_SERVICES)
def test_project_service_waits_for_healthy_postgres_and_redis(service_name):
    one_off = argv(service_name)[:2] == ["python", "manage.py"]
    wanted = {"postgres"} if one_off else {"postgres", "redis"}
    depends_on = SERVICES[service_name].get("depends_on") or {}
    for dependency in wanted:
        assert dependency in depends_on, f"{service_name} does not depend on {dependency}"
        assert depends_on[dependency].get("condition") == "service_healthy"


@pytest.mark.parametrize("service_name", ["web", "worker", "postgres", "redis"])
def test_long_running_service_has_a_healthcheck(service_name):
    assert SERVICES[service_name].get("healthcheck", {}).get("test")


def test_web_healthcheck_script_exists():
    test = SERVICES["web"]["healthcheck"]["test"]
    scripts = [part for part in test if str(part).endswith(".py")]
    assert scripts, "web healthcheck runs no python script"
    assert all((ROOT / script).is_file() for script in scripts), f"missing healthcheck script in {scripts}"
