"""One SQL boundary: raw SQL runs only in each app's SQL modules (`sql.py` or a `sql/` package), and the
code speaks to one database, PostgreSQL, without asking which one it is."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("customers", "rebates", "pricing_signals", "pages", "outlook", "config")
# Calls that run SQL through a cursor or the driver.
SQL_CALLS = {"execute", "executemany", "copy_expert", "copy_from", "callproc"}


def _sources() -> list[str]:
    return sorted(str(path.relative_to(ROOT)) for app in APPS for path in (ROOT / app).rglob("*.py")
                  if "migrations" not in path.relative_to(ROOT).parts)


def _in_boundary(name: str) -> bool:
    path = Path(name)
    return path.name == "sql.py" or path.parent.name == "sql"


def _sql_calls(source: str) -> list[str]:
    """`line: call` of every call to one of SQL_CALLS (as a method, or a bare copy_expert/copy_from)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in SQL_CALLS and (isinstance(func, ast.Attribute) or name in ("copy_expert", "copy_from")):
            found.append(f"{node.lineno}: {name}(")
    return found


def _cases():
    for name in _sources():
        if _in_boundary(name):
            continue
        yield pytest.param(name, id=name)


def test_the_apps_have_sql_modules():
    assert (ROOT / "rebates/sql/__init__.py").is_file()
    assert (ROOT / "config/sql.py").is_file()
    assert (ROOT / "pricing_signals/sql.py").is_file()


def test_the_finder_sees_every_way_of_running_sql():
    source = ("cursor.execute('SELECT 1')\ncursor.executemany(sql, rows)\ncursor.cursor.copy_expert(sql, f)\n"
              "copy_from(f, 't')\ncursor.callproc('f')\nexecute('x')\n# cursor.execute( in a comment\n")
    assert _sql_calls(source) == ["1: execute(", "2: executemany(", "3: copy_expert(", "4: copy_from(",
                                  "5: callproc("]
    assert _in_boundary("rebates/sql/bulk.py") and _in_boundary("config/sql.py")
    assert not _in_boundary("rebates/bulk.py") and not _in_boundary("rebates/sqlish.py")


@pytest.mark.parametrize("name", _cases())
def test_raw_sql_runs_only_in_the_sql_modules(name):
    calls = _sql_calls((ROOT / name).read_text())
    assert not calls, f"{name} runs SQL itself; move it to its app's SQL module: {calls}"


@pytest.mark.parametrize("name", _sources())
def test_one_database_without_asking_which(name):
    text = (ROOT / name).read_text()
    assert "connection.vendor" not in text, f"{name} asks which database it runs on"
    assert not re.search("sqlite", text, re.IGNORECASE), f"{name} speaks of SQLite"
