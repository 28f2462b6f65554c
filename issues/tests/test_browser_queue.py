"""The help desk at its desk, in a real browser: a new issue appears in the open queue without a
reload, the agent claims it, replies to the reporter and resolves it; and the same by keyboard.

The page's clock is Playwright's fake clock, so "ten seconds later" takes no time at all while
the queue keeps its production refresh interval.
"""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from conftest import PASSWORD
from golive.models import GoLive, Notification, Unit
from issues.models import Category, Impact, Issue, Urgency
from issues.services import create_issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A little over the queue's ten-second refresh.
NEXT_REFRESH = 11_000


@pytest.fixture(scope="session")
def browser_context_args() -> dict[str, object]:
    """A help desk's desktop screen."""
    return {"viewport": {"width": 1366, "height": 900}}


def sign_in(page: Page, live_server: LiveServer, user: User) -> None:
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)


def log(go_live: GoLive, unit: Unit, category: Category, reporter: User, title: str) -> Issue:
    issue, _ = create_issue(
        go_live=go_live,
        unit=unit,
        category_id=category.pk,
        title=title,
        impact=Impact.SEVERAL,
        urgency=Urgency.WORKAROUND,
        reporter_user=reporter,
    )
    return issue


def test_a_new_issue_appears_and_the_agent_claims_replies_and_resolves_it(
    page: Page,
    live_server: LiveServer,
    agent_alex: User,
    nurse_nina: User,
    mercy: GoLive,
    four_west: Unit,
    printing: Category,
) -> None:
    sign_in(page, live_server, agent_alex)
    page.clock.install()
    page.goto(live_server.url + reverse("issues:queue"))
    expect(page.get_by_text("No issues match these filters.")).to_be_visible()
    page.evaluate("window.glQueueMarker = 'no reload'")

    issue = log(mercy, four_west, printing, nurse_nina, "Wristband printer prints blank")
    page.clock.run_for(NEXT_REFRESH)

    row = page.locator(f"#row-{issue.pk}")
    expect(row).to_contain_text("Wristband printer prints blank")
    expect(row).to_contain_text("Unassigned")
    expect(page.locator("#queue-new")).to_contain_text("1 new since you opened this page")
    assert page.evaluate("window.glQueueMarker") == "no reload"

    row.get_by_role("button", name=f"Claim {issue.code}").click()
    expect(row.get_by_test_id("row-assignee")).to_have_text("Alex Agent")
    expect(row).to_contain_text(f"You have {issue.code} now.")
    assert page.evaluate("window.glQueueMarker") == "no reload"

    row.get_by_role("link", name=issue.code).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Wristband printer prints blank")
    expect(page.get_by_test_id("issue-status")).to_have_text("Acknowledged")

    page.locator("#id_comment_body").fill(
        "Swap the ribbon; the spare is in the clean utility room."
    )
    page.get_by_label("Reply to the reporter (they are told)").check()
    page.get_by_role("button", name="Send comment").click()
    expect(page.locator("#issue-flash")).to_contain_text("Reply sent: the reporter is told.")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("Swap the ribbon")
    expect(timeline).to_contain_text("Reply to the reporter")

    page.locator("#id_resolve_resolution").fill("Ribbon replaced; prints clearly again.")
    page.get_by_role("button", name="Resolve", exact=True).click()
    expect(page.get_by_test_id("issue-status")).to_have_text("Resolved")
    expect(page.get_by_test_id("issue-resolution")).to_have_text(
        "Ribbon replaced; prints clearly again."
    )

    issue.refresh_from_db()
    assert (issue.status, issue.assignee) == (Issue.Status.RESOLVED, agent_alex)
    told = Notification.objects.filter(recipient_user=nurse_nina).values_list("body", flat=True)
    assert "Swap the ribbon; the spare is in the clean utility room." in told
    assert "Resolved: Ribbon replaced; prints clearly again." in told


def test_the_agent_moves_to_a_row_with_j_and_claims_it_with_c(
    page: Page,
    live_server: LiveServer,
    agent_alex: User,
    nurse_nina: User,
    mercy: GoLive,
    four_west: Unit,
    printing: Category,
) -> None:
    first = log(mercy, four_west, printing, nurse_nina, "Scanner will not pair")
    second = log(mercy, four_west, printing, nurse_nina, "Labels print blank")
    sign_in(page, live_server, agent_alex)
    page.goto(live_server.url + reverse("issues:queue"))

    # Typing in the search box is typing, not a shortcut.
    page.keyboard.press("/")
    expect(page.get_by_label("Search issues")).to_be_focused()
    page.keyboard.type("j")
    expect(page.get_by_label("Search issues")).to_have_value("j")
    page.get_by_label("Search issues").fill("")
    page.get_by_role("heading", name="Triage queue").click()

    page.keyboard.press("j")
    page.keyboard.press("j")
    row = page.locator(f"#row-{second.pk}")
    expect(row).to_be_focused()
    expect(row).to_have_class("gl-row gl-focus")
    page.keyboard.press("k")
    expect(page.locator(f"#row-{first.pk}")).to_be_focused()
    page.keyboard.press("j")

    page.keyboard.press("x")
    expect(row.get_by_role("checkbox")).to_be_checked()
    expect(page.locator("[data-bulk-count]")).to_have_text("1")
    page.keyboard.press("x")
    expect(row.get_by_role("checkbox")).not_to_be_checked()

    page.keyboard.press("c")
    expect(row.get_by_test_id("row-assignee")).to_have_text("Alex Agent")
    expect(row).to_be_focused()
    second.refresh_from_db()
    assert second.assignee == agent_alex

    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()

    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server.url + reverse("issues:detail", args=[second.pk]))


def test_the_queue_waits_while_rows_are_ticked_so_a_selection_is_never_lost(
    page: Page,
    live_server: LiveServer,
    agent_alex: User,
    nurse_nina: User,
    mercy: GoLive,
    four_west: Unit,
    printing: Category,
) -> None:
    first = log(mercy, four_west, printing, nurse_nina, "Scanner will not pair")
    sign_in(page, live_server, agent_alex)
    page.clock.install()
    page.goto(live_server.url + reverse("issues:queue"))
    box = page.get_by_label(f"Select {first.code}")
    box.check()

    later = log(mercy, four_west, printing, nurse_nina, "Labels print blank")
    page.clock.run_for(NEXT_REFRESH)
    page.clock.run_for(NEXT_REFRESH)
    expect(box).to_be_checked()
    expect(page.locator(f"#row-{later.pk}")).to_have_count(0)

    box.uncheck()
    page.clock.run_for(NEXT_REFRESH)
    expect(page.locator(f"#row-{later.pk}")).to_contain_text("Labels print blank")
    expect(page.locator("#queue-new")).to_contain_text("1 new since you opened this page")


def test_a_refresh_after_signing_out_shows_the_sign_in_page(
    page: Page,
    live_server: LiveServer,
    agent_alex: User,
    mercy: GoLive,
) -> None:
    sign_in(page, live_server, agent_alex)
    page.clock.install()
    page.goto(live_server.url + reverse("issues:queue"))
    page.context.clear_cookies()
    page.clock.run_for(NEXT_REFRESH)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("#queue-live")).to_have_count(0)


def tab_to(page: Page, selector: str, *, most: int = 60) -> None:
    """Press Tab until the element matching `selector` has the focus, as a keyboard user does."""
    for _ in range(most):
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} was not reached within {most} presses of Tab")


def test_one_issue_triaged_from_the_queue_to_resolved_by_keyboard_alone(
    page: Page,
    live_server: LiveServer,
    agent_alex: User,
    nurse_nina: User,
    mercy: GoLive,
    four_west: Unit,
    printing: Category,
) -> None:
    issue = log(mercy, four_west, printing, nurse_nina, "Labels print blank")
    sign_in(page, live_server, agent_alex)
    page.goto(live_server.url + reverse("issues:queue"))

    # From the page's top: the first row, claimed, then opened.
    page.keyboard.press("j")
    row = page.locator(f"#row-{issue.pk}")
    expect(row).to_be_focused()
    page.keyboard.press("c")
    expect(row.get_by_test_id("row-assignee")).to_have_text("Alex Agent")
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server.url + reverse("issues:detail", args=[issue.pk]))

    # On the issue: Tab to the resolution, type it, Tab to Resolve and press Enter.
    tab_to(page, "form[aria-label='Resolve'] textarea[name='resolution']")
    page.keyboard.type("Printer driver rolled back; labels print again.")
    tab_to(page, "form[aria-label='Resolve'] button")
    expect(page.locator(":focus")).to_have_text("Resolve")
    # The focus ring is there to see: a keyboard user knows where they are.
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")

    expect(
        page.get_by_text("Printer driver rolled back; labels print again.").first
    ).to_be_visible()
    issue.refresh_from_db()
    assert (issue.status, issue.assignee, issue.resolution) == (
        Issue.Status.RESOLVED,
        agent_alex,
        "Printer driver rolled back; labels print again.",
    )
