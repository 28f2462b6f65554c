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


# Colour is never the only signal (WCAG 1.4.1). The person this protects sees the page but not its
# hues, so what counts is what is shown: words, a mark such as ✓ ✕ ◐ ⚠, or a picture; hidden text
# and aria-label reach a screen reader, not them. On each page:
# 1. Every element whose colour means something (a badge, an alert, a STATE_CLASS) shows words or
#    a mark, and a screen reader hears words too.
# 2. No box of another class is coloured and empty (a status dot), legend keys aside.
# 3. Two elements of one kind (tag and classes but the state's, with the parent's and the
#    grandparent's) that differ in colour differ in words too, values aside: a red "2 h left"
#    beside a black "3 h left", a grid cell without its mark, fail. A value alone is read with its
#    parent's words ("Overdue 3").
# 4. A FRAMES box (a coloured border, bar or tint) that sets one of a list apart from the others of
#    its kind holds a badge or coloured words they do not have ("⚠ Patient safety").
# 5. A link within a line of text is underlined or framed, not only blue.
# 6. The current item of a menu or tabs differs from the others by more than hue.
# 3, 4 and 6 compare what one page shows, so they see a fault where the demo puts both states on
# a page. What is closed (a menu, a <details>) is not seen and not checked.
#
# Classes whose colour means a state: Bootstrap's contextual colours and .active; the project's
# (static/css) phase, issue status, priority, patient safety, unit tablet, assignment, the grid's
# cover, an internal note, the shift panel's warnings, a fixed known issue; and gl-overdue, which
# colours nothing but names the state, so that overdue rows are of one kind with the others. Not
# here: classes that colour what means nothing (the tablet's bar, charts, muted text), the grid's
# "today" (a 3 px bar, a shape) and the queue's focused row (a 3 px outline).
STATE_CLASS = (
    r"^((text-bg|alert|table|list-group-item)"
    r"-(primary|secondary|success|danger|warning|info|light|dark)"
    r"|(bg|text|border)-(primary|success|danger|warning|info)(-subtle|-emphasis)?"
    r"|gl-(phase|status|prio|assignment)-\w+|gl-tablet-(waiting|enrolled|expired|revoked)"
    r"|gl-(none|short|met|over|empty|safety|safety-badge|internal|known-fixed|warnings|overdue)"
    r"|active)$"
)
FRAMES = ", ".join(
    [
        *(
            f".{part}-{colour}"
            for part in ("border", "table", "list-group-item")
            for colour in ("primary", "success", "danger", "warning", "info")
        ),
        "tr.gl-safety",
        ".gl-internal",
    ]
)
# The dashboard's legend keys: empty swatches whose words name the chart's shapes ("bars").
LEGEND_KEYS = ".gl-key"

COLOUR_ONLY = """({stateClass, frames, keys}) => {
    const stateRe = new RegExp(stateClass);
    const memo = (f) => { const m = new Map();
        return (e) => { if (!m.has(e)) { m.set(e, f(e)); } return m.get(e); }; };
    const style = memo((e) => getComputedStyle(e));
    const rgba = (c) => { const [r = 0, g = 0, b = 0, a = 1] = (c.match(/[\\d.]+/g) || []).map(Number);
        return [r, g, b, a]; };
    const borders = (s) => ["Top", "Right", "Bottom", "Left"]
        .filter((side) => s[`border${side}Style`] !== "none" && parseFloat(s[`border${side}Width`]) > 0
            && rgba(s[`border${side}Color`])[3] > 0)
        .map((side) => s[`border${side}Color`]);
    // Bootstrap's .visually-hidden: clipped to a 1 px box, read aloud and never seen.
    const clipped = memo((e) => {
        if (!e || e === document.body) { return false; }
        const r = e.getBoundingClientRect();
        return (r.width <= 1 && r.height <= 1 && style(e).overflow === "hidden") || clipped(e.parentElement);
    });
    const shown = memo((e) => e.checkVisibility({opacityProperty: true, visibilityProperty: true}) && !clipped(e));
    const drawn = (e, p) => { const c = getComputedStyle(e, p).content;
        return c === "none" || c === "normal" ? "" : c.replace(/^"(.*)"$/, "$1"); };
    // What the eye reads in an element: its shown text, marks drawn by CSS, pictures.
    const seen = memo((e) => {
        const parts = [];
        const walk = (n) => {
            if (n.nodeType === Node.TEXT_NODE) { if (shown(n.parentElement)) { parts.push(n.data); } return; }
            if (n.nodeType !== Node.ELEMENT_NODE || !shown(n)) { return; }
            if (n.matches("img, svg, [role=img]")) { parts.push("▣"); return; }
            parts.push(drawn(n, "::before"));
            n.childNodes.forEach(walk);
            parts.push(drawn(n, "::after"));
        };
        walk(e);
        return parts.join(" ").replace(/\\s+/g, " ").trim();
    });
    // What a screen reader says for it: its label, or the text not hidden from it.
    const heard = (e) => {
        const parts = [];
        const walk = (n) => {
            if (n.nodeType === Node.TEXT_NODE) { parts.push(n.data); return; }
            if (n.nodeType !== Node.ELEMENT_NODE || n.getAttribute("aria-hidden") === "true"
                || !n.checkVisibility({visibilityProperty: true})) { return; }
            if (n.getAttribute("aria-label")) { parts.push(n.getAttribute("aria-label")); return; }
            if (n.matches("img")) { parts.push(n.alt); return; }
            n.childNodes.forEach(walk);
        };
        walk(e);
        return parts.join(" ").trim();
    };
    // Values are not states: a number with its unit ("14:30", "3 h 5 min", "HTTP 500") reads as "#",
    // a code such as "P1" stays. A value alone is read with its parent's words.
    const masked = (e) => seen(e)
        .replace(/(?<![\\p{L}\\d])\\d+([.:,]\\d+)*(\\s*(%|ms|s|min|h|d|minutes?|hours?|days?|weeks?)(?!\\p{L}))?/gu, "#")
        .replace(/#(\\s*#)+/g, "#");
    const words = memo((e) => {
        const own = masked(e);
        return /[^\\s#.,:;()\\/%–—-]/u.test(own) || !e.parentElement ? own : masked(e.parentElement);
    });
    const plain = (e) => (e ? e.localName : "") + [...(e ? e.classList : [])]
        .filter((c) => !stateRe.test(c) && !/^(fw|fst)-/.test(c)).sort().map((c) => `.${c}`).join("");
    const kind = memo((e) => [e.parentElement?.parentElement, e.parentElement, e].map(plain).join(" > "));
    const colour = memo((e) => { const s = style(e);
        return [s.color, s.backgroundColor, s.borderTopColor, s.borderRightColor, s.borderBottomColor,
                s.borderLeftColor, s.boxShadow, s.opacity].join(" "); });
    const html = (e) => e.outerHTML.replace(/\\s+/g, " ").slice(0, 140);
    const found = new Map();  // a fault and where → its first message, how many times
    const report = (key, message) => { const [first, n] = found.get(key) || [message, 0]; found.set(key, [first, n + 1]); };

    const all = [...document.body.querySelectorAll("*")].filter(shown);
    const signals = new Set(all.filter((e) => e.matches(".badge") || [...e.classList].some((c) => stateRe.test(c))));
    const isFrame = memo((e) => e.matches(frames));

    // 1. Words or a mark, seen and heard.
    for (const e of signals) {
        if (!seen(e)) {
            report(`1 ${kind(e)}`, `shows no words or mark: ${html(e)}`);
        } else if (!e.closest("[aria-hidden=true]") && !heard(e)) {
            report(`1 ${kind(e)}`, `says nothing to a screen reader: ${html(e)}`);
        }
    }

    // 2. No empty coloured box.
    const chromatic = (c) => { const [r, g, b, a] = rgba(c); return a > 0.5 && Math.max(r, g, b) - Math.min(r, g, b) > 25; };
    for (const e of all.filter((e) => !signals.has(e) && !e.matches(keys))) {
        if (e.matches("input, select, textarea, img, svg, svg *, progress, canvas, video, iframe, hr")
            || seen(e) || e.querySelector("input, select, textarea, button")) { continue; }
        const s = style(e);
        if ([s.backgroundColor, ...borders(s), ...(s.boxShadow.match(/rgba?\\([^)]*\\)/g) || [])].some(chromatic)) {
            report(`2 ${kind(e)}`, `a coloured box with no words or mark: ${html(e)}`);
        }
    }

    // 3. Of one kind, another colour means other words.
    const signalKinds = new Set([...signals].filter((e) => !isFrame(e)).map(kind));
    const groups = new Map();  // kind and words → the elements, one per colour
    for (const e of all.filter((e) => signalKinds.has(kind(e)))) {
        const key = `${kind(e)} "${words(e)}"`;
        if (!groups.has(key)) { groups.set(key, new Map()); }
        groups.get(key).set(colour(e), e);
    }
    for (const [key, byColour] of groups) {
        if (byColour.size > 1) {
            const [a, b] = byColour.values();
            report(`3 ${kind(a)}`, `only colour tells apart ${key}: ${html(a)} and ${html(b)}`);
        }
    }

    // 4. A frame that sets one apart holds a marker the others lack.
    const markers = (x) => [...signals].filter((m) => m !== x && x.contains(m) && !isFrame(m))
        .map((m) => `${kind(m)} "${words(m)}"`);
    for (const f of all.filter(isFrame)) {
        for (const frame of frames.split(",").map((s) => s.trim()).filter((s) => f.matches(s))) {
            const others = all.filter((p) => p !== f && kind(p) === kind(f) && !p.matches(frame));
            const theirs = new Set(others.flatMap(markers));
            if (others.length && !markers(f).some((m) => !theirs.has(m))) {
                report(`4 ${frame} ${kind(f)}`, `only colour (${frame}) sets it apart from ${html(others[0])}: ${html(f)}`);
            }
        }
    }

    // 5. Links in a line of text: the block a link sits in holds words outside links and buttons.
    const inline = (e) => /^(inline|contents)/.test(style(e).display);
    const block = (n) => { let e = n.parentElement; while (e !== document.body && inline(e)) { e = e.parentElement; } return e; };
    const withText = new Set();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (/\\p{L}/u.test(n.data) && shown(n.parentElement) && !n.parentElement.closest("a, button, select, textarea")) {
            withText.add(block(n));
        }
    }
    for (const a of all.filter((e) => e.matches("a[href]") && inline(e) && seen(e) && withText.has(block(e)))) {
        let marked = false;
        for (let e = a; e !== block(a); e = e.parentElement) {
            marked ||= style(e).textDecorationLine.includes("underline") || borders(style(e)).length > 0;
        }
        if (!marked) { report(`5 ${kind(a)}`, `a link in a line of text is not underlined: ${html(a)}`); }
    }

    // 6. The current one of a menu or tabs differs from the others by more than hue: by its weight,
    //    underline, border or outline, or by a lightness at 3:1 (WCAG's contrast ratio).
    const over = ([r, g, b, a], [R, G, B]) => [r * a + R * (1 - a), g * a + G * (1 - a), b * a + B * (1 - a)];
    const backdrop = memo((e) => { const under = e.parentElement ? backdrop(e.parentElement) : [255, 255, 255, 1];
        const c = rgba(style(e).backgroundColor); return c[3] > 0 ? [...over(c, under), 1] : under; });
    const ink = (e) => over(rgba(style(e).color), backdrop(e));
    const luminance = (rgb) => { const [r, g, b] = rgb.slice(0, 3).map((v) => (v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
        return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const contrast = (x, y) => { const [l, d] = [luminance(x), luminance(y)].sort((p, q) => q - p); return (l + 0.05) / (d + 0.05); };
    const shape = (e) => { const s = style(e);
        return [s.fontWeight, s.fontStyle, s.textDecorationLine, s.outlineStyle, borders(s).length].join(" "); };
    const current = "[aria-current]:not([aria-current=false]), .active, .btn-check:checked + .btn";
    for (const c of all.filter((e) => e.matches(current))) {
        const alike = all.find((p) => kind(p) === kind(c) && !p.matches(current) && shape(p) === shape(c)
            && contrast(ink(p), ink(c)) < 3 && contrast(backdrop(p), backdrop(c)) < 3);
        if (alike) { report(`6 ${kind(c)}`, `only colour tells the current one: ${html(c)} from ${html(alike)}`); }
    }

    return [...found.values()].map(([message, n]) => n > 1 ? `${message} (and ${n - 1} more like it)` : message);
}"""


def colour_only(page: Page) -> list[str]:
    found = page.evaluate(
        COLOUR_ONLY, {"stateClass": STATE_CLASS, "frames": FRAMES, "keys": LEGEND_KEYS}
    )
    return list(found)


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


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
def test_no_page_a_role_reaches_says_something_by_colour_alone(
    role: str, browser: Browser, live_server: LiveServer
) -> None:
    check_every_page(
        role, browser, live_server.url, colour_only, viewport={"width": 1280, "height": 900}
    )
