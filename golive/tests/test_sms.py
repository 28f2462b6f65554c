"""SMS backends, and SMS delivery from the outbox through a real HTTP gateway on localhost."""

import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from pytest_django.fixtures import Settings

from conftest import closed_port
from golive.models import GoLive, Notification
from golive.outbox import deliver_due_notifications, deliver_notification, notify
from golive.sms import (
    HttpGatewaySmsBackend,
    LoggingSmsBackend,
    SmsError,
    get_sms_backend,
)

NOW = dt.datetime(2026, 11, 2, 14, 0, tzinfo=dt.UTC)
GATEWAY_TOKEN = "gateway-secret-token"


@dataclass
class Gateway:
    """A local SMS gateway: records each request and answers with `status`."""

    url: str
    status: int = 202
    requests: list[dict[str, object]] = field(default_factory=list)


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            state.requests.append(
                {
                    "path": self.path,
                    "authorization": self.headers.get("Authorization"),
                    "content_type": self.headers.get("Content-Type"),
                    "idempotency_key": self.headers.get("Idempotency-Key"),
                    "json": json.loads(self.rfile.read(length)),
                }
            )
            reply = b'{"id": "msg-1"}' if state.status < 300 else b"upstream carrier unavailable"
            self.send_response(state.status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            """Keep the test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Gateway(url=f"http://127.0.0.1:{server.server_address[1]}/v1/messages")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "golive.sms.HttpGatewaySmsBackend"
    settings.SMS_GATEWAY_URL = state.url
    settings.SMS_GATEWAY_TOKEN = GATEWAY_TOKEN
    settings.SMS_FROM = "MercyGoLive"
    settings.SMS_GATEWAY_TIMEOUT = 5
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_gateway_backend_posts_json_with_the_bearer_token(gateway: Gateway) -> None:
    HttpGatewaySmsBackend().send(to="+13125550100", body="Shift at 07:00")

    [request] = gateway.requests
    assert request["path"] == "/v1/messages"
    assert request["authorization"] == f"Bearer {GATEWAY_TOKEN}"
    assert request["content_type"] == "application/json"
    assert request["json"] == {
        "to": "+13125550100",
        "from": "MercyGoLive",
        "body": "Shift at 07:00",
    }


def test_the_gateway_backend_reports_a_refusal_with_its_status_and_reason(
    gateway: Gateway,
) -> None:
    gateway.status = 500

    with pytest.raises(SmsError, match=r"HTTP 500: upstream carrier unavailable"):
        HttpGatewaySmsBackend().send(to="+13125550100", body="Hi")


def test_the_gateway_backend_reports_a_gateway_it_cannot_reach(settings: Settings) -> None:
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{closed_port()}/send"

    with pytest.raises(SmsError, match="unreachable"):
        HttpGatewaySmsBackend().send(to="+13125550100", body="Hi")


def test_the_gateway_backend_needs_a_url(settings: Settings) -> None:
    settings.SMS_GATEWAY_URL = ""

    with pytest.raises(ImproperlyConfigured, match="SMS_GATEWAY_URL is not set"):
        HttpGatewaySmsBackend()


def test_the_gateway_backend_refuses_a_url_that_is_not_http(settings: Settings) -> None:
    settings.SMS_GATEWAY_URL = "file:///etc/passwd"

    with pytest.raises(ImproperlyConfigured, match="https://"):
        HttpGatewaySmsBackend()


def test_the_logging_backend_writes_the_message_to_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="golive.sms"):
        LoggingSmsBackend().send(to="+13125550100", body="Shift at 07:00")

    assert "SMS to +13125550100: Shift at 07:00" in caplog.text


def test_the_backend_comes_from_the_setting(settings: Settings) -> None:
    settings.SMS_BACKEND = "golive.sms.LoggingSmsBackend"
    assert isinstance(get_sms_backend(), LoggingSmsBackend)


def sms_to_the_vendor(go_live: GoLive) -> Notification:
    return notify(
        dedupe_key="escalation:12:4:vendor",
        channel=Notification.Channel.SMS,
        subject="Issue 12 escalated to tier 4",
        body="Pharmacy label printer down in 4 West.",
        name="Vendor on call",
        address="+13125550199",
        go_live=go_live,
    )


def test_the_outbox_delivers_an_sms_through_the_gateway(gateway: Gateway, mercy: GoLive) -> None:
    notification = sms_to_the_vendor(mercy)

    assert deliver_notification(notification_id=notification.pk) is True

    [request] = gateway.requests
    assert request["json"] == {
        "to": "+13125550199",
        "from": "MercyGoLive",
        "body": "Issue 12 escalated to tier 4\nPharmacy label printer down in 4 West.",
    }
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT


def test_a_gateway_error_puts_the_sms_back_to_pending_with_backoff(
    gateway: Gateway, mercy: GoLive
) -> None:
    gateway.status = 500
    with time_machine.travel(NOW, tick=False) as clock:
        notification = sms_to_the_vendor(mercy)

        assert deliver_notification(notification_id=notification.pk) is False
        notification.refresh_from_db()
        assert notification.status == Notification.Status.PENDING
        assert notification.next_attempt_at == NOW + dt.timedelta(seconds=30)
        assert "HTTP 500" in notification.last_error

        gateway.status = 202
        clock.shift(dt.timedelta(seconds=30))
        assert deliver_due_notifications() == 1

    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.attempts == 2
    assert len(gateway.requests) == 2
    # Both attempts name the message alike: a gateway whose answer was lost can drop the repeat.
    assert [request["idempotency_key"] for request in gateway.requests] == [
        notification.dedupe_key,
        notification.dedupe_key,
    ]
