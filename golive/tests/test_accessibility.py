"""Every page each role reaches passes axe-core with no serious or critical violation.

axe-core (vendored from its npm package into golive/tests/assets/axe-core) runs in headless
Chromium on each page. The pages are found, not listed: from the home page, each role follows the
links of the pages it can open, two steps deep, one page per URL pattern (the other issues of a
list are the same template), leaving out what is not a page to read: downloads, prints, sign-out
and the admin. The data is the demo go-live's, which has something on every page.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.urls import Resolver404, resolve
from playwright.sync_api import Browser, Page
from pytest_django.live_server_helper import LiveServer

from golive.management.commands.seed_demo import DEFAULT_PASSWORD
from golive.screenshots import enroll_demo_tablet
from issues.access import TABLET_COOKIE

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "assets" / "axe-core" / "axe.min.js").read_text()
# The demo go-live's users (seed_demo), the unit tablet and a visitor not signed in; and how many
# pages each reaches at the least (a check that the crawl found its pages).
ROLES = {
    "lead": 30,
    "manager": 15,
    "agent": 15,
    "support": 10,
    "floor": 10,
    "tablet": 5,
    "anonymous": 2,
}
DEPTH = 2
# Not pages to read: files, prints, sign-out, the admin, the API's own documentation.
SKIP_PREFIXES = ("/admin/", "/api/", "/accounts/logout/", "/static/", "/media/")
SKIP_WORDS = ("export", "download", ".csv", ".pdf", ".ics", "print", "feed", "photo", "huddle.")


def violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    page.evaluate(AXE)  # through the DevTools protocol: the page's CSP does not apply to it
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
        }"""
    )
    return list(found)


# Controls a finger taps that are under 44 x 44 CSS pixels. A checkbox or radio button is tapped
# through its label too, so the label is measured; a skip link shows only when focused.
SMALL_TARGETS = """() => [...document.querySelectorAll(
        "a[href], button, input:not([type=hidden]), select, textarea")]
    .filter((e) => !e.matches(".visually-hidden-focusable, .btn-check"))
    .map((e) => (e.matches("[type=checkbox], [type=radio]") && e.labels.length) ? e.labels[0] : e)
    .filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; })
    .filter((e) => { const r = e.getBoundingClientRect(); return r.width < 44 || r.height < 44; })
    .map((e) => { const r = e.getBoundingClientRect();
        return `${Math.round(r.width)} x ${Math.round(r.height)} px: ${e.outerHTML.slice(0, 120)}`; })
"""


# Text at twice its size, as a person with low vision sets it: the page still fits the screen's
# width (it reflows; a wide table scrolls in its own box), so nothing is cut off at the side.
TOO_WIDE = """() => {
    document.documentElement.style.fontSize = "200%";
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width + 1) { return []; }
    const out = [...document.body.querySelectorAll("*")].filter((e) => {
        const r = e.getBoundingClientRect();
        if (r.right <= width + 1 || r.width === 0) { return false; }
        for (let p = e.parentElement; p; p = p.parentElement) {
            const o = getComputedStyle(p).overflowX;
            if (o === "auto" || o === "scroll" || o === "hidden") { return false; }
        }
        return true;
    });
    return out.filter((e) => !out.includes(e.parentElement)).slice(0, 5).map((e) =>
        `${Math.round(e.getBoundingClientRect().right)} px > ${width} px: ${e.outerHTML.slice(0, 120)}`);
}"""


def too_wide(page: Page) -> list[str]:
    return list(page.evaluate(TOO_WIDE))


def small_targets(page: Page) -> list[str]:
    return list(page.evaluate(SMALL_TARGETS))


def links(page: Page, base_url: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "elements => elements.map((a) => a.href)")
    paths = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != base_url:
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if parts.path.startswith(SKIP_PREFIXES) or any(word in path for word in SKIP_WORDS):
            continue
        paths.append(path)
    return paths


def route_of(path: str) -> str | None:
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    return match.route


def crawl(page: Page, base_url: str, check: Callable[[Page], list[str]]) -> dict[str, list[str]]:
    """Path → what `check` found on it, for one page per URL pattern reachable from home."""
    seen_routes: set[str] = set()
    results: dict[str, list[str]] = {}
    frontier = ["/"]
    for _ in range(DEPTH + 1):
        following: list[str] = []
        for path in frontier:
            route = route_of(path)
            if route is None or route in seen_routes:
                continue
            seen_routes.add(route)
            response = page.goto(base_url + path)
            if (
                response is None
                or not response.ok
                or "text/html" not in (response.headers.get("content-type", ""))
            ):
                continue
            results[page.url.removeprefix(base_url)] = check(page)
            following += links(page, base_url)
        frontier = following
    return results


def visit_as(role: str, browser: Browser, base_url: str, **context_args: Any) -> Page:
    """A page of a new browser context, as `role` of the demo go-live (seeded here)."""
    for command in ("seed_demo", "seed_staffing_demo", "seed_issues_demo"):
        call_command(command, stdout=io.StringIO())
    context = browser.new_context(**context_args)
    page = context.new_page()
    if role == "tablet":
        context.add_cookies(
            [{"name": TABLET_COOKIE, "value": enroll_demo_tablet(), "url": base_url}]
        )
    elif role != "anonymous":
        page.goto(base_url + "/accounts/login/")
        page.get_by_label("Username").fill(role)
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
    return page


TABLET = {"viewport": {"width": 820, "height": 1180}, "has_touch": True}


def check_every_page(
    role: str, browser: Browser, base_url: str, check: Callable[[Page], list[str]], **device: Any
) -> None:
    """Crawl as `role` on `device`; fail naming each page where `check` found something."""
    page = visit_as(role, browser, base_url, **device)
    results = crawl(page, base_url, check)
    page.context.close()

    assert len(results) >= ROLES[role], sorted(results)
    failing = {path: found for path, found in results.items() if found}
    assert not failing, "\n".join(
        f"{path}\n  " + "\n  ".join(found) for path, found in sorted(failing.items())
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
def test_every_page_a_role_reaches_has_no_serious_accessibility_violation(
    role: str, browser: Browser, live_server: LiveServer
) -> None:
    check_every_page(
        role, browser, live_server.url, violations, viewport={"width": 1280, "height": 900}
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ["tablet", "floor", "agent", "support", "manager", "lead"])
def test_text_at_twice_its_size_still_fits_the_tablet_s_width(
    role: str, browser: Browser, live_server: LiveServer
) -> None:
    check_every_page(role, browser, live_server.url, too_wide, **TABLET)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ["tablet", "floor"])
def test_every_control_on_the_floor_s_pages_is_a_44_pixel_touch_target(
    role: str, browser: Browser, live_server: LiveServer
) -> None:
    check_every_page(role, browser, live_server.url, small_targets, **TABLET)
