"""No markup the Content-Security-Policy would refuse, in templates or in HTML built in Python: no
style= attribute or <style> element, no inline <script>, no on...= handler, no javascript: URL and
no htmx attribute that evaluates code. Styles and scripts live under static/, so new inline ones
cannot creep in."""

import ast
import re
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
APPS = ("golive", "staffing", "issues")

# Rendered by WeasyPrint into the huddle PDF, never served to a browser: CSP does not apply.
NOT_A_PAGE = {"templates/issues/huddle_document.html"}

TAG = r"<[a-zA-Z][^<>]*?"
REFUSED = {
    "a style= attribute": re.compile(TAG + r"\sstyle\s*=", re.IGNORECASE),
    "a <style> element": re.compile(r"<style[\s>]", re.IGNORECASE),
    # A <script> without src= is inline code, unless it holds JSON data (json_script).
    "an inline <script>": re.compile(
        r"<script\b(?![^>]*\ssrc\s*=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE
    ),
    "an on...= handler": re.compile(TAG + r"\son[a-z]+\s*=", re.IGNORECASE),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    "an htmx attribute that runs code": re.compile(r"\shx-on[:-]|\shx-vars\s*=|js:", re.IGNORECASE),
}
COMMENTS = re.compile(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", re.DOTALL)


def refused_in(markup: str) -> list[str]:
    markup = COMMENTS.sub("", markup)
    return [what for what, pattern in REFUSED.items() if pattern.search(markup)]


def templates() -> list[Path]:
    found = sorted((BASE_DIR / "templates").rglob("*.html"))
    for app in APPS:
        found += sorted((BASE_DIR / app / "templates").rglob("*.html"))
    return [path for path in found if str(path.relative_to(BASE_DIR)) not in NOT_A_PAGE]


def python_modules() -> list[Path]:
    return [
        path
        for app in APPS
        for path in sorted((BASE_DIR / app).rglob("*.py"))
        if not {"tests", "migrations"} & set(path.relative_to(BASE_DIR).parts)
    ]


def strings_in(path: Path) -> str:
    """Every string literal of a module (f-strings' literal parts too), one per line."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return "\n".join(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


@pytest.mark.parametrize(
    ("markup", "refused"),
    [
        ('<div class="x" style="width: 4rem">', ["a style= attribute"]),
        ("<style>.x { color: red; }</style>", ["a <style> element"]),
        ("<script>alert(1)</script>", ["an inline <script>"]),
        ('<button type="button" onclick="window.print()">', ["an on...= handler"]),
        ('<input\n  readonly onfocus="this.select()">', ["an on...= handler"]),
        ('<a href="javascript:void(0)">', ["a javascript: URL"]),
        ('<form hx-on::after-request="reset()">', ["an htmx attribute that runs code"]),
        ('<script src="/static/js/golive.js" defer></script>', []),
        ('<script id="phi-patterns" type="application/json">[]</script>', []),
        ("<button data-gl-print>Print</button> Logged on=Tuesday {# <style> #}", []),
    ],
)
def test_the_check_finds_what_the_policy_refuses(markup: str, refused: list[str]) -> None:
    assert refused_in(markup) == refused


def test_no_template_holds_inline_styles_scripts_or_handlers() -> None:
    found = {
        str(path.relative_to(BASE_DIR)): refused
        for path in templates()
        if (refused := refused_in(path.read_text()))
    }
    assert found == {}


def test_no_html_built_in_python_holds_inline_styles_scripts_or_handlers() -> None:
    found = {
        str(path.relative_to(BASE_DIR)): refused
        for path in python_modules()
        if (refused := refused_in(strings_in(path)))
    }
    assert found == {}


def test_it_reads_the_templates_and_modules_it_should() -> None:
    read = {str(path.relative_to(BASE_DIR)) for path in [*templates(), *python_modules()]}

    assert {"templates/base.html", "templates/staffing/autofill_progress.html"} <= read
    assert {"staffing/grid.py", "issues/charts.py", "golive/lib/widgets.py"} <= read
    assert not read & NOT_A_PAGE
    assert all((BASE_DIR / name).exists() for name in NOT_A_PAGE)
