"""Templates escape: tables, forms and charts are rendered by templates, so every text is escaped by Django.
No app module marks Python-built markup safe, and no template switches escaping off."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("config", "customers", "rebates", "pricing_signals", "pages", "outlook")
UNESCAPED_PYTHON = re.compile(r"\b(mark_safe|format_html|format_html_join|SafeString)\b")
UNESCAPED_TEMPLATE = re.compile(r"\|\s*safe\b|{%\s*autoescape\s+off")


def _python_files():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def unescaped_markup_in_python():
    return [f"{path.relative_to(ROOT)}:{number}" for path in _python_files()
            for number, line in enumerate(path.read_text().splitlines(), start=1)
            if UNESCAPED_PYTHON.search(line.split("#", 1)[0])]


def unescaped_output_in_templates():
    return [f"{path.relative_to(ROOT)}:{number}" for path in (ROOT / "templates").rglob("*.html")
            for number, line in enumerate(path.read_text().splitlines(), start=1)
            if UNESCAPED_TEMPLATE.search(line)]


def test_no_app_module_marks_markup_built_in_python_as_safe():
    assert unescaped_markup_in_python() == []


def test_no_template_turns_escaping_off():
    assert unescaped_output_in_templates() == []


def test_the_scans_would_catch_an_unescaped_builder():
    assert UNESCAPED_PYTHON.search('return mark_safe("".join(parts))')
    assert UNESCAPED_PYTHON.search("from django.utils.html import format_html")
    assert UNESCAPED_TEMPLATE.search("{{ rows_html|safe }}")
    assert UNESCAPED_TEMPLATE.search("{% autoescape off %}")
    assert not UNESCAPED_TEMPLATE.search("{{ customer.name }}")
    assert any(path.name == "views.py" for path in _python_files())
