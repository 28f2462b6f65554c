"""The floor offline: a unit tablet (Chromium, 820x1180 touch) that loses the network keeps the
floor pages and the issues logged meanwhile, and sends them, once each, when the network is back.

The network is cut for real: the browser reaches the test server through a relay that resets
every connection while it is down (`Network`), as a dead zone does, so the page's and the service
worker's requests fail at the TCP level, not by the browser's emulation alone. Playwright's offline
switch is set as well: the page sees `navigator.onLine` go false and the `online` event when it
comes back, as on a tablet leaving and re-entering Wi-Fi.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.utils import timezone
from playwright.sync_api import (
    Browser,
    BrowserContext,
    BrowserType,
    Dialog,
    Page,
    expect,
)
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from conftest import PASSWORD
from golive.models import GoLive, Unit
from golive.tests.test_accessibility import small_targets, violations
from issues.access import TABLET_COOKIE
from issues.known import publish_known_issue
from issues.models import Category, Issue, KnownIssue, UnitTablet
from issues.tests.conftest import LogIssue
from issues.tests.test_browser_intake import (  # noqa: F401 (media_and_limits: an autouse fixture)
    TABLET,
    media_and_limits,
    screen_photo,
    sign_in,
)
from issues.tests.test_tablets import enroll

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Network:
    """A TCP relay to the live server that can be cut: while down, each connection is reset as it
    is made and those open are closed, as when a tablet walks into a dead zone."""

    def __init__(self, port: int) -> None:
        self.target = ("127.0.0.1", port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        self.up.clear()
        with self.lock:
            for conn in self.open:
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                # SO_LINGER 0: closing sends a reset, which the browser reports at once.
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            server = socket.create_connection(self.target)
            with self.lock:
                self.open |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for conn in (source, sink):
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        with self.lock:
            self.open -= {source, sink}


@pytest.fixture
def network(live_server: LiveServer) -> Iterator[Network]:
    relay = Network(int(live_server.url.rsplit(":", 1)[1]))
    yield relay
    relay.close()


@pytest.fixture
def tablet(
    browser: Browser, network: Network, four_west: Unit, manager_maria: User, setup: None
) -> Iterator[tuple[UnitTablet, BrowserContext, Page]]:
    enrolled, secret = enroll(four_west, manager_maria)
    context = browser.new_context(**TABLET)
    context.add_cookies([{"name": TABLET_COOKIE, "value": secret, "url": network.url}])
    page = context.new_page()
    yield enrolled, context, page
    context.close()


def fit_for_the_floor(page: Page) -> None:
    """The page in its present state (a panel of the outbox shown) passes axe-core and has no
    touch target under 44 px, as every page does (golive/tests/test_accessibility.py)."""
    assert violations(page) == []
    assert small_targets(page) == []


def offline(context: BrowserContext, network: Network) -> None:
    network.cut()
    context.set_offline(True)


def online(context: BrowserContext, network: Network) -> None:
    network.restore()
    context.set_offline(False)


def kept_pages(page: Page, count: int) -> list[str]:
    """The pages the device keeps, once it keeps `count` of them (the service worker fetches them
    in the background after the first floor page)."""
    return page.evaluate(
        """async (count) => {
            for (let i = 0; i < 200; i++) {
                const cache = await caches.open("golive-pages");
                const urls = (await cache.keys()).map((request) => new URL(request.url).pathname);
                if (urls.length >= count) { return urls.sort(); }
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
            return [];
        }""",
        count,
    )


def stored_issues(page: Page) -> list[dict[str, str]]:
    """The device's outbox as IndexedDB holds it: each issue's title and state."""
    return page.evaluate(
        """() => new Promise((resolve, reject) => {
            const open = indexedDB.open("golive-device", 1);
            open.onupgradeneeded = () => open.result.createObjectStore("outbox", {keyPath: "key"});
            open.onsuccess = () => {
                const read = open.result.transaction("outbox").objectStore("outbox").getAll();
                read.onsuccess = () => {
                    open.result.close();
                    resolve(read.result.map((item) => ({title: item.title, state: item.state})));
                };
            };
            open.onerror = () => reject(open.error);
        })"""
    )


def fill_issue(page: Page, title: str, *, on_tablet: bool = True) -> None:
    """The form filled in; on a tablet, with the reporter's name and number (a member's are her
    account's)."""
    page.get_by_text("Printing / labels", exact=True).tap()
    page.get_by_text("One person", exact=True).tap()
    page.get_by_text("There is a workaround", exact=True).tap()
    page.get_by_label("What is wrong, in a few words").fill(title)
    if on_tablet:
        page.get_by_label("Your name").fill("Kim Rivera")
        page.get_by_label("Callback number").fill("x4411")


def open_floor(page: Page, network: Network, path: str = "/issues/new/") -> None:
    """Open a floor page online and wait until the device keeps all four floor pages."""
    page.goto(network.url + path)
    assert kept_pages(page, 4) == [
        "/issues/call/",
        "/issues/known/",
        "/issues/new/",
        "/issues/tablet/",
    ]


def queue_one_offline(page: Page, context: BrowserContext, network: Network) -> None:
    """Open the form online, lose the network, log an issue: it waits on the device."""
    open_floor(page, network)
    offline(context, network)
    fill_issue(page, "Label printer prints blank labels")
    page.get_by_role("button", name="Send to the help desk").tap()
    expect(page.get_by_role("heading", name="1 issue waiting to send")).to_be_visible()


def test_offline_a_tablet_logs_two_issues_that_outlive_a_reload_and_arrive_once_each(
    tablet: tuple[UnitTablet, BrowserContext, Page], network: Network
) -> None:
    _, context, page = tablet
    open_floor(page, network)

    offline(context, network)
    page.reload()
    # The kept copy of the form, saying how old it is.
    expect(page.get_by_role("status").filter(has_text="No network")).to_contain_text(
        "copy of this page kept on this device"
    )
    # An empty form is not kept to fail later: the browser names what is missing now.
    page.get_by_role("button", name="Send to the help desk").tap()
    expect(page.get_by_text("Printing / labels", exact=True)).to_be_visible()
    assert page.evaluate("document.querySelector('#intake-form input:invalid').name") == "category"
    assert stored_issues(page) == []
    fill_issue(page, "Label printer prints blank labels")
    page.get_by_role("button", name="Send to the help desk").tap()
    expect(page.get_by_role("heading", name="1 issue waiting to send")).to_be_visible()
    # The form is ready for the next one, the reporter's name and number kept.
    expect(page.get_by_label("What is wrong, in a few words")).to_have_value("")
    expect(page.get_by_label("Your name")).to_have_value("Kim Rivera")
    expect(page.get_by_label("Printing / labels")).not_to_be_checked()
    fill_issue(page, "Barcode scanner beeps but does nothing")
    page.get_by_role("button", name="Send to the help desk").tap()
    expect(page.get_by_role("heading", name="2 issues waiting to send")).to_be_visible()

    page.reload()
    outbox = page.locator("#gl-outbox")
    expect(outbox).to_contain_text("2 issues waiting to send")
    expect(outbox).to_contain_text("Label printer prints blank labels")
    expect(outbox).to_contain_text("Barcode scanner beeps but does nothing")
    expect(outbox).to_contain_text("No network now.")
    assert Issue.objects.count() == 0
    fit_for_the_floor(page)
    # A second tab, open when the network comes back, sends them as well.
    other = context.new_page()
    other.goto(network.url + "/issues/known/")
    expect(other.locator("#gl-outbox")).to_contain_text("2 issues waiting to send")

    online(context, network)
    expect(other.get_by_test_id("sent-issue")).to_have_count(2)
    expect(page.get_by_role("heading", name="Sent to the help desk")).to_be_visible()
    # The copy on screen says it is one, and offers the latest.
    expect(page.get_by_role("status").filter(has_text="Not the latest")).to_be_visible()
    expect(page.get_by_role("link", name="Load the latest")).to_be_visible()
    codes = page.get_by_test_id("sent-issue").all_inner_texts()
    issues = list(Issue.objects.order_by("pk"))
    assert [issue.title for issue in issues] == [
        "Label printer prints blank labels",
        "Barcode scanner beeps but does nothing",
    ]
    assert codes == [issue.code for issue in issues]
    assert {issue.client_key for issue in issues} != {""} and len(
        {i.client_key for i in issues}
    ) == 2
    assert [item["state"] for item in stored_issues(page)] == ["sent", "sent"]
    fit_for_the_floor(page)

    # Two tabs sending, then a reload: still one issue each.
    page.reload()
    expect(page.get_by_test_id("sent-issue")).to_have_count(2)
    page.get_by_role("button", name="OK").tap()
    expect(page.locator("#gl-outbox")).to_be_hidden()
    assert stored_issues(page) == []
    assert Issue.objects.count() == 2


def test_online_an_issue_goes_at_once_to_its_confirmation_and_nothing_stays_queued(
    tablet: tuple[UnitTablet, BrowserContext, Page], network: Network
) -> None:
    _, _, page = tablet
    page.goto(network.url + "/issues/new/")
    fill_issue(page, "Label printer prints blank labels")
    page.get_by_role("button", name="Send to the help desk").tap()
    page.wait_for_url("**/logged/")
    issue = Issue.objects.get()
    expect(page.get_by_test_id("issue-number")).to_have_text(issue.code)
    assert stored_issues(page) == []
    expect(page.locator("#gl-outbox")).to_be_hidden()


def test_a_queued_issue_of_a_tablet_revoked_meanwhile_comes_back_with_the_reason(
    tablet: tuple[UnitTablet, BrowserContext, Page], network: Network, manager_maria: User
) -> None:
    enrolled, context, page = tablet
    queue_one_offline(page, context, network)

    UnitTablet.objects.filter(pk=enrolled.pk).update(revoked_at=timezone.now())
    online(context, network)
    refused = page.locator("#gl-outbox")
    expect(refused.get_by_role("heading", name="Not logged: 1 issue")).to_be_visible()
    expect(refused).to_contain_text("Label printer prints blank labels")
    expect(refused).to_contain_text("This tablet is no longer enrolled")
    assert Issue.objects.count() == 0
    # The unit's pages are gone from the device; the refused issue is not.
    assert kept_pages(page, 0) == []
    page.reload()
    expect(page.get_by_role("heading", name="This tablet is no longer enrolled")).to_be_visible()
    expect(page.locator("#gl-outbox")).to_contain_text("Label printer prints blank labels")
    fit_for_the_floor(page)
    assert stored_issues(page) == [
        {"title": "Label printer prints blank labels", "state": "refused"}
    ]


def test_a_revoked_tablets_own_page_marks_its_waiting_issues_refused(
    tablet: tuple[UnitTablet, BrowserContext, Page], network: Network
) -> None:
    """The tab was closed while offline, so a page, not a send, is the first to learn of the
    revocation: the issue waiting is refused in the words the server gives a queued issue."""
    enrolled, context, page = tablet
    queue_one_offline(page, context, network)
    UnitTablet.objects.filter(pk=enrolled.pk).update(revoked_at=timezone.now())
    page.close()
    online(context, network)

    page = context.new_page()
    page.goto(network.url + "/issues/new/")
    expect(page.get_by_role("heading", name="This tablet is no longer enrolled")).to_be_visible()
    refused = page.locator("#gl-outbox")
    expect(refused).to_contain_text(
        "Label printer prints blank labels"
        "This tablet is no longer enrolled, so this issue was not logged. Call the command "
        "center, or ask your unit manager to enroll the tablet again."
    )
    assert stored_issues(page) == [
        {"title": "Label printer prints blank labels", "state": "refused"}
    ]
    assert kept_pages(page, 0) == []
    assert Issue.objects.count() == 0


def test_a_queued_issue_whose_unit_was_closed_says_so(
    tablet: tuple[UnitTablet, BrowserContext, Page], network: Network, four_west: Unit
) -> None:
    _, context, page = tablet
    queue_one_offline(page, context, network)

    Unit.objects.filter(pk=four_west.pk).update(is_active=False)
    online(context, network)
    expect(page.locator("#gl-outbox")).to_contain_text(
        "4 West Med/Surg was closed in golive, so this issue was not logged."
    )
    assert Issue.objects.count() == 0


def test_an_issue_a_proxy_refuses_as_too_large_is_kept_with_the_reason(
    tablet: tuple[UnitTablet, BrowserContext, Page], network: Network
) -> None:
    """A proxy in front of golive (nginx's client_max_body_size) answers 413 with its own page:
    the issue is neither retried for ever nor lost, and "Edit and send again" sends it once it
    fits."""
    _, _, page = tablet
    page.goto(network.url + "/issues/new/")
    page.route(
        "**/issues/new/",
        lambda route: (
            route.fulfill(status=413, body="<h1>413 Request Entity Too Large</h1>")
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    fill_issue(page, "Label printer prints blank labels")
    page.get_by_role("button", name="Send to the help desk").tap()

    refused = page.locator("#gl-outbox")
    expect(refused.get_by_role("heading", name="Not logged: 1 issue")).to_be_visible()
    expect(refused).to_contain_text("Too large for the server (the photo, most likely)")
    assert stored_issues(page) == [
        {"title": "Label printer prints blank labels", "state": "refused"}
    ]
    page.unroute("**/issues/new/")
    refused.get_by_role("button", name="Edit and send again").tap()
    page.get_by_role("button", name="Send to the help desk").tap()
    page.wait_for_url("**/logged/")
    assert Issue.objects.get().title == "Label printer prints blank labels"


def test_a_photo_over_the_limit_is_refused_before_it_is_queued(
    tablet: tuple[UnitTablet, BrowserContext, Page], network: Network, settings: Settings
) -> None:
    settings.ISSUE_PHOTO_MAX_BYTES = 200_000
    _, context, page = tablet
    open_floor(page, network)
    offline(context, network)
    fill_issue(page, "Label printer prints blank labels")
    photo = page.get_by_label("Photo of the screen (optional)")
    photo.set_input_files(
        {"name": "screen.jpg", "mimeType": "image/jpeg", "buffer": b"\xff" * 300_000}
    )
    expect(page.get_by_role("alert").filter(has_text="This photo is")).to_have_text(
        "This photo is 0.3 MB; the limit is 0.2 MB. Take it again closer to the screen, "
        "or send without it."
    )
    page.get_by_role("button", name="Send to the help desk").tap()
    expect(photo).to_be_focused()
    assert stored_issues(page) == []
    expect(page.locator("#gl-outbox")).to_be_hidden()

    photo.set_input_files({"name": "screen.png", "mimeType": "image/png", "buffer": screen_photo()})
    expect(page.get_by_role("alert").filter(has_text="This photo is")).to_be_hidden()
    page.get_by_role("button", name="Send to the help desk").tap()
    expect(page.get_by_role("heading", name="1 issue waiting to send")).to_be_visible()
    online(context, network)
    expect(page.get_by_test_id("sent-issue")).to_have_count(1)
    assert Issue.objects.get().photos.count() == 1


@pytest.fixture
def log_known(log_issue: LogIssue, mercy: GoLive, lead_lena: User) -> KnownIssue:
    return publish_known_issue(
        go_live=mercy,
        anchor=log_issue(),
        title="Label printers on 4 West print blank labels",
        problem="Specimen labels come out blank.",
        workaround="Print from the unit's second printer.",
        status=KnownIssue.Status.INVESTIGATING,
        units=[],
        others=[],
        actor=lead_lena,
    )


def test_offline_known_issues_and_who_to_call_show_their_last_copy_with_its_age(
    tablet: tuple[UnitTablet, BrowserContext, Page], network: Network, log_known: KnownIssue
) -> None:
    _, context, page = tablet
    open_floor(page, network, "/issues/tablet/")
    offline(context, network)
    page.goto(network.url + "/issues/known/")
    expect(page.get_by_text(log_known.title)).to_be_visible()
    age = page.get_by_role("status").filter(has_text="No network")
    expect(age).to_contain_text("(just now)")
    page.goto(network.url + "/issues/call/")
    expect(page.get_by_role("status").filter(has_text="No network")).to_be_visible()
    # A page the device never kept says so instead of the browser's error.
    page.goto(network.url + "/issues/queue/")
    expect(
        page.get_by_role("heading", name="No network: this page is not on this device")
    ).to_be_visible()
    fit_for_the_floor(page)


def sign_out(page: Page) -> None:
    """Send the header's Sign out form as its button does, the submit event and all (opening the
    collapsed menu first is not what these tests are about)."""
    page.locator("form[data-gl-sign-out]").evaluate("(form) => form.requestSubmit()")


@pytest.fixture
def member_page(browser: Browser, network: Network) -> Iterator[Callable[[User], Page]]:
    """A browser at the tablet's size, `user` signed in on it."""
    contexts: list[BrowserContext] = []

    def open_as(user: User) -> Page:
        contexts.append(browser.new_context(**TABLET))
        page = contexts[-1].new_page()
        sign_in(page, network, user)
        return page

    yield open_as
    for context in contexts:
        context.close()


def test_staff_pages_are_never_kept_and_signing_out_clears_the_device(
    member_page: Callable[[User], Page],
    network: Network,
    agent_alex: User,
    setup: None,
    four_west: Unit,
) -> None:
    page = member_page(agent_alex)
    context = page.context
    page.goto(network.url + "/issues/queue/")
    page.goto(network.url + "/issues/new/")
    kept = kept_pages(page, 4)
    assert kept == ["/issues/call/", "/issues/known/", "/issues/mine/", "/issues/new/"]

    offline(context, network)
    page.goto(network.url + "/issues/queue/")
    expect(
        page.get_by_role("heading", name="No network: this page is not on this device")
    ).to_be_visible()
    expect(page.get_by_text(agent_alex.get_full_name())).to_have_count(0)

    online(context, network)
    page.goto(network.url + "/issues/new/")
    sign_out(page)
    page.wait_for_url("**/accounts/login/**")
    assert page.evaluate("caches.keys()") == []
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then((r) => r.length)") == 0


Launch = Callable[[], BrowserContext]


@pytest.fixture
def tablet_profile(
    browser_type: BrowserType,
    browser_type_launch_args: dict[str, Any],
    network: Network,
    four_west: Unit,
    manager_maria: User,
    setup: None,
    tmp_path: Path,
) -> Iterator[Launch]:
    """Starts Chromium on one profile kept on disk, as a tablet's browser is, enrolled (a test's
    usual context is incognito: nothing installs, and nothing outlives it)."""
    _, secret = enroll(four_west, manager_maria)
    started: list[BrowserContext] = []

    def launch() -> BrowserContext:
        context = browser_type.launch_persistent_context(
            tmp_path, **browser_type_launch_args, **TABLET
        )
        started.append(context)
        # Kept a day, so it outlives a restart of the browser, as the enrollment's does.
        expires = time.time() + 86400
        context.add_cookies(
            [{"name": TABLET_COOKIE, "value": secret, "url": network.url, "expires": expires}]
        )
        return context

    yield launch
    for context in started:
        context.close()


def test_the_floor_is_installable_as_an_app(tablet_profile: Launch, network: Network) -> None:
    """Chromium's own installability check."""
    context = tablet_profile()
    page = context.pages[0]
    open_floor(page, network)
    session = context.new_cdp_session(page)
    assert session.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    manifest = session.send("Page.getAppManifest")
    assert manifest["errors"] == []
    assert '"start_url": "/issues/new/"' in manifest["data"]


def test_an_issue_waiting_on_the_tablet_outlives_a_restart_of_its_browser(
    tablet_profile: Launch, network: Network
) -> None:
    context = tablet_profile()
    queue_one_offline(context.pages[0], context, network)
    context.close()

    context = tablet_profile()
    context.set_offline(True)
    page = context.pages[0]
    page.goto(network.url + "/issues/new/")
    expect(page.get_by_role("heading", name="1 issue waiting to send")).to_be_visible()
    assert Issue.objects.count() == 0
    online(context, network)
    expect(page.get_by_test_id("sent-issue")).to_have_count(1)
    assert Issue.objects.get().title == "Label printer prints blank labels"


def test_signing_out_asks_first_when_an_issue_still_waits_on_the_device(
    member_page: Callable[[User], Page], network: Network, nurse_nina: User, setup: None
) -> None:
    """The unit's tablet logged an issue the network never took before Nina signed in on it:
    signing out would delete it, so she is asked."""
    page = member_page(nurse_nina)
    page.goto(network.url + "/issues/new/")
    page.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open("golive-device", 1);
            open.onsuccess = () => {
                const write = open.result.transaction("outbox", "readwrite");
                write.objectStore("outbox").put({
                    key: crypto.randomUUID(), who: "tablet:1", state: "waiting",
                    queuedAt: Date.now(), title: "Label printer prints blank labels",
                    fields: [], photo: null, action: location.href,
                });
                write.oncomplete = () => { open.result.close(); resolve(); };
            };
        })"""
    )
    page.reload()
    expect(
        page.get_by_role("heading", name="1 issue logged by someone else waiting to send")
    ).to_be_visible()

    asked: list[str] = []

    def answer_and_sign_out(answer: bool) -> None:
        def reply(dialog: Dialog) -> None:
            asked.append(dialog.message)
            dialog.accept() if answer else dialog.dismiss()

        page.once("dialog", reply)
        sign_out(page)

    answer_and_sign_out(answer=False)
    assert asked == [
        "1 issue is still waiting to send from this device. Signing out deletes it. "
        "Sign out anyway?"
    ]
    page.reload()
    expect(page.get_by_role("button", name="Open the menu")).to_be_visible()  # still in
    assert len(stored_issues(page)) == 1
    answer_and_sign_out(answer=True)
    page.wait_for_url("**/accounts/login/**")
    assert stored_issues(page) == []


def test_an_issue_refused_for_a_retired_category_is_fixed_in_the_form_and_sent_again(
    tablet: tuple[UnitTablet, BrowserContext, Page], network: Network, printing: Category
) -> None:
    _, context, page = tablet
    open_floor(page, network)
    offline(context, network)
    fill_issue(page, "Label printer prints blank labels")
    page.get_by_label("Photo of the screen (optional)").set_input_files(
        {"name": "screen.png", "mimeType": "image/png", "buffer": screen_photo()}
    )
    page.get_by_role("button", name="Send to the help desk").tap()
    expect(page.get_by_role("heading", name="1 issue waiting to send")).to_be_visible()
    Category.objects.filter(pk=printing.pk).update(is_active=False)
    page.goto(network.url + "/issues/known/")  # the kept copy
    online(context, network)

    refused = page.locator("#gl-outbox")
    expect(refused.get_by_role("heading", name="Not logged: 1 issue")).to_be_visible()
    expect(refused).to_contain_text("Not logged: Tap one of the kinds of problem shown.")
    refused.get_by_role("button", name="Edit and send again").tap()

    page.wait_for_url("**/issues/new/")
    expect(page.get_by_label("What is wrong, in a few words")).to_have_value(
        "Label printer prints blank labels"
    )
    expect(page.get_by_label("Your name")).to_have_value("Kim Rivera")
    expect(page.get_by_label("One person")).to_be_checked()
    assert page.evaluate("document.getElementById('id_photo').files[0].name") == "screen.png"
    expect(page.locator("#gl-outbox")).to_be_hidden()
    page.get_by_text("Hardware / device", exact=True).tap()
    page.get_by_role("button", name="Send to the help desk").tap()

    page.wait_for_url("**/logged/")
    issue = Issue.objects.get()
    assert (issue.title, issue.category.name) == (
        "Label printer prints blank labels",
        "Hardware / device",
    )
    assert issue.photos.count() == 1
    assert stored_issues(page) == []


def test_a_member_signed_out_meanwhile_signs_in_again_and_her_issue_goes(
    member_page: Callable[[User], Page], network: Network, nurse_nina: User, setup: None
) -> None:
    page = member_page(nurse_nina)
    context = page.context
    page.goto(network.url + "/issues/new/")
    kept_pages(page, 4)
    offline(context, network)
    fill_issue(page, "Label printer prints blank labels", on_tablet=False)
    page.get_by_role("button", name="Send to the help desk").tap()
    expect(page.get_by_role("heading", name="1 issue waiting to send")).to_be_visible()

    Session.objects.all().delete()  # her session ended (idle timeout) meanwhile
    online(context, network)
    outbox = page.locator("#gl-outbox")
    expect(outbox).to_contain_text("Sign in again to send them")
    assert Issue.objects.count() == 0
    outbox.get_by_role("link", name="Sign in").tap()
    page.get_by_label("Username").fill(nurse_nina.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url("**/issues/new/")
    expect(page.get_by_test_id("sent-issue")).to_have_count(1)
    issue = Issue.objects.get()
    assert issue.reporter_user == nurse_nina
    expect(page.get_by_test_id("sent-issue")).to_have_text(issue.code)
