"""Every role's main pages in a real browser, under the Content-Security-Policy the app sends in
every setting: not one violation, and the scripts moved out of the pages still do their work.

A violation shows twice: as a `securitypolicyviolation` event (reported to the test by a function
the page calls) and as Chromium's console message. Either fails the test, as does a complaint
about the Permissions-Policy header. `window.print` is replaced by a counter, so the Print buttons
are checked without a print dialog.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect
from pytest_django.live_server_helper import LiveServer

from conftest import PASSWORD
from golive.models import GoLive, Unit
from issues.access import TABLET_COOKIE
from issues.models import Issue
from issues.tests.conftest import LogIssue, log_issue, printing, setup
from issues.tests.test_browser_intake import media_and_limits, screen_photo
from issues.tests.test_browser_queue import sign_in
from issues.tests.test_tablets import enroll
from staffing.models import AutoFillRun, Shift, SupportPerson, SupportRole
from staffing.services import assign_person
from staffing.tests.test_browser_grid import gap, sam

# The fixtures of the issue log and of the grid's browser tests, used here as there (the photo
# goes to a temporary MEDIA_ROOT, the intake's rate limits start afresh).
__all__ = ["gap", "log_issue", "media_and_limits", "printing", "sam", "setup"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"viewport": {"width": 1366, "height": 900}}
TABLET = {"viewport": {"width": 820, "height": 1180}, "has_touch": True}

WATCH = """
window.glPrinted = 0;
window.print = () => { window.glPrinted += 1; };
document.addEventListener("securitypolicyviolation", (event) => {
  window.glCspViolation(
    `${event.effectiveDirective} refused ${event.blockedURI} ` +
    `on ${document.location.pathname} (${event.sourceFile}:${event.lineNumber})`
  );
});
"""

Open = Callable[..., Page]


def watch(context: BrowserContext, violations: list[str]) -> None:
    def reported(violation: str) -> None:
        violations.append(violation)

    def console(message: ConsoleMessage) -> None:
        # Chromium's words for a refused resource, and for a Permissions-Policy it cannot read.
        if "Content Security Policy" in message.text or "Permissions-Policy" in message.text:
            violations.append(message.text)

    context.expose_function("glCspViolation", reported)
    context.add_init_script(WATCH)
    context.on("console", console)


@pytest.fixture
def violations() -> list[str]:
    return []


@pytest.fixture
def open_page(browser: Browser, live_server: LiveServer, violations: list[str]) -> Iterator[Open]:
    """`open_page(**context_args)`: a page in a new browser context, watched for violations."""
    contexts: list[BrowserContext] = []

    def open_(**context_args: object) -> Page:
        context = browser.new_context(base_url=live_server.url, **context_args)
        contexts.append(context)
        watch(context, violations)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


def visit(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.ok, url
    expect(page.locator("main, #swagger-ui, #content").first).to_be_visible()


def printed(page: Page, button: str) -> int:
    before = page.evaluate("window.glPrinted")
    page.get_by_role("button", name=button).click()
    return page.evaluate("window.glPrinted") - before


def test_the_watch_sees_a_violation(open_page: Open, violations: list[str]) -> None:
    """Without this, a watch that saw nothing would pass every test below."""
    page = open_page()
    visit(page, reverse("login"))
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    # One more call into the page: the event is dispatched after the line above has returned.
    page.evaluate("1")

    assert [v for v in violations if v.startswith("style-src-attr refused inline")]
    assert [v for v in violations if v.startswith("Applying inline style violates")]


def test_the_sign_in_and_lockout_pages_and_a_404_obey_the_policy(
    open_page: Open, nurse_nina: User, violations: list[str]
) -> None:
    page = open_page(**TABLET)
    visit(page, reverse("login"))
    for _ in range(5):
        page.get_by_label("Username").fill(nurse_nina.username)
        page.get_by_label("Password").fill("not her password")
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("paused")

    response = page.goto("/no-such-page/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="We could not find that page")).to_be_visible()

    assert violations == []


def test_a_unit_tablet_logs_an_issue_with_a_photo_under_the_policy(
    open_page: Open,
    live_server: LiveServer,
    manager_maria: User,
    four_west: Unit,
    setup: None,
    violations: list[str],
) -> None:
    _, secret = enroll(four_west, manager_maria)
    tablet = open_page(**TABLET)
    tablet.context.add_cookies([{"name": TABLET_COOKIE, "value": secret, "url": live_server.url}])

    visit(tablet, reverse("issues:tablet_home"))
    tablet.get_by_role("link", name="Log an issue").last.tap()
    tablet.get_by_text("Printing / labels", exact=True).tap()
    tablet.get_by_text("One person", exact=True).tap()
    tablet.get_by_text("There is a workaround", exact=True).tap()
    # The similar-issues lookup (htmx) runs as the title is typed.
    tablet.get_by_label("What is wrong, in a few words").fill("Label printer prints blank")
    tablet.get_by_label("Your name").fill("Kim Rivera")
    tablet.get_by_label("Callback number").fill("x4411")
    tablet.get_by_label("Photo of the screen (optional)").set_input_files(
        {"name": "screen.png", "mimeType": "image/png", "buffer": screen_photo()}
    )
    tablet.get_by_role("button", name="Send to the help desk").tap()
    expect(tablet.get_by_test_id("issue-number")).to_have_text("GL-1001")

    # The photo keeps its own, stricter policy: the site-wide one does not replace it.
    issue = Issue.objects.get()
    photo = tablet.request.get(reverse("issues:photo", args=[issue.photos.get().pk]))
    assert photo.headers["content-security-policy"] == "default-src 'none'; sandbox"

    visit(tablet, reverse("issues:known"))
    visit(tablet, reverse("issues:tablet_home"))
    expect(tablet.get_by_test_id("unit-issue")).to_contain_text("GL-1001")
    assert violations == []


def test_a_nurse_signed_in_on_a_tablet_sees_her_pages_under_the_policy(
    open_page: Open,
    live_server: LiveServer,
    nurse_nina: User,
    log_issue: LogIssue,
    violations: list[str],
) -> None:
    issue = log_issue(reporter_user=nurse_nina)
    page = open_page(**TABLET)
    sign_in(page, live_server, nurse_nina)
    for url in [
        reverse("home"),
        reverse("issues:new"),
        reverse("issues:mine"),
        reverse("issues:floor_issue", args=[issue.pk]),
        reverse("issues:call_now"),
        reverse("golive:notifications"),
    ]:
        visit(page, url)
    assert violations == []


def test_the_help_desk_queue_refreshes_and_an_issue_is_worked_under_the_policy(
    open_page: Open,
    live_server: LiveServer,
    agent_alex: User,
    nurse_nina: User,
    log_issue: LogIssue,
    violations: list[str],
) -> None:
    page = open_page(**DESKTOP)
    sign_in(page, live_server, agent_alex)
    page.clock.install()
    visit(page, reverse("issues:queue"))

    issue = log_issue(title="Wristband printer prints blank", reporter_user=nurse_nina)
    page.clock.run_for(11_000)
    row = page.locator(f"#row-{issue.pk}")
    expect(row).to_contain_text("Wristband printer prints blank")
    row.get_by_role("button", name=f"Claim {issue.code}").click()
    expect(row.get_by_test_id("row-assignee")).to_have_text("Alex Agent")
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")

    row.get_by_role("link", name=issue.code).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Wristband printer prints blank")
    page.locator("#id_comment_body").fill("Swap the ribbon.")
    page.get_by_role("button", name="Send comment").click()
    expect(page.get_by_test_id("timeline")).to_contain_text("Swap the ribbon.")

    visit(page, reverse("home"))
    assert violations == []


def test_a_manager_fills_a_gap_on_the_grid_and_prints_rosters_under_the_policy(
    open_page: Open,
    live_server: LiveServer,
    manager_maria: User,
    four_west: Unit,
    gap: Shift,
    sam: SupportPerson,
    violations: list[str],
) -> None:
    page = open_page(**DESKTOP)
    sign_in(page, live_server, manager_maria)
    visit(page, reverse("home"))
    visit(page, reverse("staffing:grid"))
    page.locator('.gl-grid a.gl-line[data-status="none"]').click()
    panel = page.locator("#shift-panel")
    panel.get_by_role("button", name="Assign Sam Super").click()
    expect(panel.get_by_text("Sam Super is on this shift.")).to_be_visible()

    visit(page, reverse("staffing:shift_detail", args=[gap.pk]))
    expect(page.get_by_role("heading", name="4 West Med/Surg · Super user")).to_be_visible()

    visit(page, reverse("staffing:print_person", args=[sam.pk]))
    assert printed(page, "Print") == 1
    local_day = gap.start.astimezone(gap.go_live.tzinfo).date()
    visit(page, reverse("staffing:print_unit_day", args=[four_west.pk, local_day.isoformat()]))
    assert printed(page, "Print") == 1

    visit(page, reverse("staffing:share_links"))
    page.locator("#id_scope").select_option(index=1)
    page.get_by_role("button", name="Create link").click()
    # The address is selected as it gets the focus, ready to copy.
    address = page.get_by_test_id("share-link").get_by_role("textbox")
    address.focus()
    expect(address).to_have_js_property("selectionEnd", len(address.input_value()))
    # The wall screen behind the link, and one whose link does not work.
    visit(page, address.input_value())
    expect(page.locator(".gl-board-units, #gl-board").first).to_be_visible()
    response = page.goto(reverse("staffing:board", args=["no-such-link"]))
    assert response is not None and response.status == 404

    for url in [
        reverse("staffing:whos_on"),
        reverse("staffing:whos_on") + "?wall=1",
        reverse("staffing:requirements_propose"),
        reverse("staffing:requirement_create"),
        reverse("staffing:schedule_export"),
        reverse("staffing:unit_checkin", args=[four_west.pk]),
        reverse("staffing:requests"),
        reverse("issues:tablets"),
    ]:
        visit(page, url)
    assert violations == []


def test_a_super_user_follows_their_shifts_under_the_policy(
    open_page: Open,
    live_server: LiveServer,
    super_sam: User,
    lead_lena: User,
    mercy: GoLive,
    four_west: Unit,
    gap: Shift,
    violations: list[str],
) -> None:
    me = SupportPerson.objects.create(
        go_live=mercy,
        user=super_sam,
        name="Sam Super",
        role=SupportRole.SUPER_USER,
        email="sam@mercy.example",
        home_unit=four_west,
    )
    assignment = assign_person(shift=gap, person=me, actor=lead_lena)
    page = open_page(**TABLET)
    sign_in(page, live_server, super_sam)
    for url in [
        reverse("home"),
        reverse("staffing:my_shifts"),
        reverse("staffing:my_shift_swap", args=[assignment.pk]),
        reverse("staffing:open_shifts"),
        reverse("staffing:availability"),
        reverse("staffing:share_links"),
    ]:
        visit(page, url)
    assert violations == []


def test_the_lead_runs_the_command_center_under_the_policy(
    open_page: Open,
    live_server: LiveServer,
    lead_lena: User,
    mercy: GoLive,
    four_west: Unit,
    log_issue: LogIssue,
    violations: list[str],
) -> None:
    log_issue(title="Scanner will not pair")
    run = AutoFillRun.objects.create(
        go_live=mercy,
        created_by=lead_lena,
        start_date=timezone.localdate(),
        end_date=timezone.localdate(),
        status=AutoFillRun.Status.RUNNING,
        progress=1,
        total=3,
    )
    page = open_page(**DESKTOP)
    sign_in(page, live_server, lead_lena)
    visit(page, reverse("home"))
    visit(page, reverse("issues:dashboard"))
    visit(page, reverse("issues:dashboard") + "?wall=1")
    expect(page.locator(".gl-header")).to_be_hidden()

    visit(page, reverse("issues:huddle"))
    assert printed(page, "Print") == 1
    visit(page, reverse("issues:call_now") + f"?unit={four_west.pk}")
    assert printed(page, "Print a card for the wall") == 1

    # The progress bar is drawn from the run, and refreshed by htmx every two seconds.
    visit(page, reverse("staffing:autofill_detail", args=[run.pk]))
    bar = page.get_by_test_id("autofill-progress").locator("progress")
    expect(bar).to_have_js_property("value", 1)
    expect(bar).to_have_js_property("max", 3)
    AutoFillRun.objects.filter(pk=run.pk).update(progress=2)
    expect(bar).to_have_js_property("value", 2, timeout=5_000)

    for url in [
        reverse("issues:queue"),
        reverse("issues:archive"),
        reverse("issues:known"),
        reverse("issues:setup"),
        reverse("issues:setup_escalation"),
        reverse("staffing:grid"),
        reverse("staffing:autofill"),
        reverse("staffing:settings"),
        reverse("staffing:people"),
        reverse("golive:detail", args=[mercy.pk]),
        reverse("golive:edit", args=[mercy.pk]),
        reverse("golive:directory", args=[mercy.pk]),
        reverse("golive:members", args=[mercy.pk]),
        reverse("golive:audit", args=[mercy.pk]),
        reverse("golive:webhooks", args=[mercy.pk]),
        reverse("golive:api_tokens"),
    ]:
        visit(page, url)
    assert violations == []


def test_the_api_docs_render_their_operations_under_the_policy(
    open_page: Open, live_server: LiveServer, lead_lena: User, violations: list[str]
) -> None:
    page = open_page(**DESKTOP)
    sign_in(page, live_server, lead_lena)
    visit(page, reverse("api_docs"))
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    page.locator(".opblock-summary").first.click()
    expect(page.get_by_role("button", name="Try it out").first).to_be_visible()
    assert violations == []


def test_the_admin_obeys_the_policy(open_page: Open, mercy: GoLive, violations: list[str]) -> None:
    User.objects.create_superuser("admin_ada", "ada@example.org", PASSWORD)
    page = open_page(**DESKTOP)
    visit(page, reverse("admin:login"))
    page.get_by_label("Username").fill("admin_ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()

    visit(page, reverse("admin:golive_golive_changelist"))
    visit(page, reverse("admin:golive_golive_change", args=[mercy.pk]))
    page.get_by_role("link", name="Today").first.click()
    visit(page, reverse("admin:issues_issue_changelist"))
    visit(page, reverse("admin:auth_user_changelist"))
    assert violations == []
