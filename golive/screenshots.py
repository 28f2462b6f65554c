"""Pictures of the product: the main screens, from the demo go-live, at a floor tablet's size and
a desktop's, as PNG files in docs/screenshots/ (the README shows them).

`make screenshots` seeds the demo in a throw-away database under var/screenshots, then runs
`python -m golive.screenshots`: it enrolls a tablet on 4 West the way a manager does, starts
gunicorn on the seeded database, and drives Debian's Chromium through Playwright, signed in as the
demo user each screen is for. `shoot` does the browser part against any running golive (its test
points it at a test server).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser

BASE_DIR = Path(__file__).resolve().parent.parent
OUT = BASE_DIR / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
TABLET_UNIT = "4 West Med/Surg"
# The device cookie a tablet holds once enrolled (issues.access.TABLET_COOKIE).
TABLET = "tablet"


@dataclass(frozen=True)
class Size:
    name: str
    width: int
    height: int
    touch: bool


SIZES = (Size("tablet", 820, 1180, True), Size("desktop", 1440, 900, False))


@dataclass(frozen=True)
class Screen:
    name: str
    view: str
    # A demo username, or TABLET for the unit tablet (nobody signed in).
    who: str
    # The page's heading.
    heading: str


SCREENS = (
    Screen("intake", "issues:new", TABLET, "Log an issue"),
    Screen("who-do-i-call", "issues:call_now", TABLET, "Who to call now"),
    Screen("queue", "issues:queue", "agent", "Triage queue"),
    Screen("coverage-grid", "staffing:grid", "manager", "Coverage grid"),
    Screen("dashboard", "issues:dashboard", "lead", "Command center"),
    Screen("whos-on-now", "staffing:whos_on", "lead", "Who's on now"),
)


def shoot(
    browser: Browser,
    *,
    base_url: str,
    out_dir: Path,
    password: str,
    tablet_secret: str,
    screens: Iterable[Screen] = SCREENS,
    sizes: Iterable[Size] = SIZES,
) -> list[Path]:
    """Each screen at each size, as `out_dir/<screen>-<size>.png`; the files written."""
    from django.urls import reverse
    from playwright.sync_api import expect

    from issues.access import TABLET_COOKIE

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for size in sizes:
        for screen in screens:
            context = browser.new_context(
                viewport={"width": size.width, "height": size.height}, has_touch=size.touch
            )
            page = context.new_page()
            if screen.who == TABLET:
                context.add_cookies(
                    [{"name": TABLET_COOKIE, "value": tablet_secret, "url": base_url}]
                )
            else:
                page.goto(base_url + reverse("login"))
                page.get_by_label("Username").fill(screen.who)
                page.get_by_label("Password").fill(password)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_load_state()
            page.goto(base_url + reverse(screen.view))
            expect(page.get_by_role("heading", level=1)).to_contain_text(screen.heading)
            # Parts a page fetches after it opens (htmx) are in the picture too.
            page.wait_for_load_state("networkidle")
            path = out_dir / f"{screen.name}-{size.name}.png"
            page.screenshot(path=str(path))
            written.append(path)
            context.close()
    return written


def enroll_demo_tablet() -> str:
    """A tablet of the demo's 4 West, enrolled as its manager would: the device secret."""
    from django.contrib.auth.models import User

    from golive.models import Unit
    from issues.tablets import claim_enrollment, create_enrollment

    unit = Unit.objects.select_related("site__go_live").get(name=TABLET_UNIT)
    manager = User.objects.get(username="manager")
    enrollment = create_enrollment(
        go_live=unit.site.go_live, unit=unit, label="Screenshots", actor=manager
    )
    _tablet, secret = claim_enrollment(code=enrollment.code)
    return secret


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start: see its output above") from None
            time.sleep(0.2)


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "golive.settings")
    django.setup()
    from playwright.sync_api import sync_playwright

    from golive.management.commands.seed_demo import DEFAULT_PASSWORD

    secret = enroll_demo_tablet()
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "golive.wsgi", "--bind", f"127.0.0.1:{port}"],
        cwd=BASE_DIR,
    )
    try:
        _wait_until_up(base_url, server)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            written = shoot(
                browser,
                base_url=base_url,
                out_dir=OUT,
                password=DEFAULT_PASSWORD,
                tablet_secret=secret,
            )
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    for path in written:
        print(path.relative_to(BASE_DIR))


if __name__ == "__main__":
    main()
