"""Slow network benchmark: a unit tablet logging an issue over a poor connection.

Headless Chromium (Debian's, through Playwright) at a floor tablet's size emulates the connection
with the DevTools protocol: 1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip (Lighthouse's
"slow 4G"). gunicorn serves golive with production settings on the issue log's data set (60,000
issues), the tablet enrolled on one unit. Each round is a device with nothing cached (a new
browser context): open the intake form, fill it in (not timed: that is the nurse's time), send it.

- usable: from the start of the navigation to the page's load event, when the styles and the
  form's script are in (the form works before that: it is plain HTML);
- confirmed: from the tap on "Send to the help desk" to the confirmation showing the issue's number
  (the issue is stored on the device, posted by its outbox, then the confirmation opened).

Results (median and worst of the rounds, against the issue's budgets of 2 s and 3 s) are
appended to docs/benchmarks.md.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "golive.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django

django.setup()

from django.test.utils import override_settings, setup_databases, teardown_databases  # noqa: E402
from django.urls import reverse  # noqa: E402
from playwright.sync_api import Browser, expect, sync_playwright  # noqa: E402

from bench.issues_bench import (  # noqa: E402
    collect_static,
    enroll_tablet,
    free_port,
    server_env,
    start_gunicorn,
)
from bench.issues_data import build  # noqa: E402
from bench.staffing_bench import bench_environment  # noqa: E402
from golive.screenshots import CHROMIUM  # noqa: E402
from issues.access import TABLET_COOKIE  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
ROUNDS = int(os.environ.get("BENCH_SLOW_ROUNDS", "10"))
SECRET = "bench-slow-network-tablet"
NETWORK = {
    "offline": False,
    "latency": 150,  # ms, round trip
    "downloadThroughput": 1_600_000 / 8,  # bytes per second
    "uploadThroughput": 750_000 / 8,
}
BUDGET_USABLE, BUDGET_CONFIRMED = 2.0, 3.0


def one_round(browser: Browser, base_url: str, n: int) -> tuple[float, float]:
    """(seconds until the form is usable, seconds from Send to the confirmation)."""
    context = browser.new_context(viewport={"width": 820, "height": 1180}, has_touch=True)
    context.add_cookies([{"name": TABLET_COOKIE, "value": SECRET, "url": base_url}])
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", NETWORK)
    page.goto(base_url + reverse("issues:new"), wait_until="load")
    usable = page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return (n.loadEventEnd - n.startTime) / 1000; })()"
    )
    page.get_by_text("Printing / labels", exact=True).tap()
    page.get_by_text("One person", exact=True).tap()
    page.get_by_text("There is a workaround", exact=True).tap()
    page.get_by_label("What is wrong, in a few words").fill(f"Wristband printer jams ({n})")
    page.get_by_label("Your name").fill("Kim Rivera")
    page.get_by_label("Callback number").fill("x4411")
    started = time.perf_counter()
    page.get_by_role("button", name="Send to the help desk").tap()
    expect(page.get_by_test_id("issue-number")).to_be_visible(timeout=30_000)
    confirmed = time.perf_counter() - started
    context.close()
    return float(usable), confirmed


def run_rounds(env: dict[str, str]) -> list[tuple[float, float]]:
    """gunicorn with `env`, the warm-up round, then ROUNDS rounds."""
    port = free_port()
    server = start_gunicorn(port, env=env)
    try:
        base_url = f"http://127.0.0.1:{port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            one_round(browser, base_url, -1)  # warm the server's caches and connections
            rounds = [one_round(browser, base_url, n) for n in range(ROUNDS)]
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return rounds


def main() -> None:
    bench_environment()
    databases = setup_databases(verbosity=0, interactive=False, keepdb=False)
    try:
        with override_settings(ROOT_URLCONF="bench.urls", ALLOWED_HOSTS=["testserver"]):
            go_live, _lead, unit = build()
            enroll_tablet(go_live, unit, SECRET)
        with tempfile.TemporaryDirectory(prefix="golive-slownet-") as folder:
            env = server_env() | {"STATIC_ROOT": folder}
            if collect_static(env).wait() != 0:
                raise RuntimeError("collectstatic failed")
            rounds = run_rounds(env)
        write_report(rounds)
    finally:
        teardown_databases(databases, verbosity=0)


def write_report(rounds: list[tuple[float, float]]) -> None:
    usable = [round_[0] for round_ in rounds]
    confirmed = [round_[1] for round_ in rounds]
    lines = [
        "",
        "## A tablet on a slow network",
        "",
        "Written by `make bench` (bench/slow_network_bench.py): headless Chromium at 820 x 1180 "
        "(touch), its connection emulated through the DevTools protocol at 1.6 Mbit/s down, "
        "750 kbit/s up and 150 ms round trip; gunicorn with production settings on the issue "
        f"log's data set, the tablet enrolled on one unit. {len(rounds)} rounds, each a device "
        "with nothing cached: open the intake form (usable: navigation start to the load event, "
        "styles and scripts in), fill it in (not timed), send it (confirmed: the tap on Send to "
        "the confirmation showing the issue's number). The send is the device's outbox: the issue "
        "is stored in IndexedDB, posted, then the confirmation opened. A first visit also "
        "installs the service worker, which fetches the floor's files and pages in the "
        "background over the same link, so the rounds time the worst case.",
        "",
        "| step | median s | worst s | budget s |",
        "|---|---:|---:|---:|",
        f"| intake form usable | {statistics.median(usable):.2f} | {max(usable):.2f} | "
        f"{BUDGET_USABLE:g} |",
        f"| submission confirmed | {statistics.median(confirmed):.2f} | {max(confirmed):.2f} | "
        f"{BUDGET_CONFIRMED:g} |",
    ]
    with OUT.open("a") as out:
        out.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
