"""Webhooks: other systems told of the go-live's events, through the outbox.

`emit` is called by the services inside the transaction of the event (issue created, priority
changed, escalated, resolved; shift gap opened): one statement writes an outbox row (channel
`webhook`) for each active endpoint of the go-live subscribed to the event, with its JSON body,
and the rows are delivered after commit like any notification. `deliver` is the outbox's sender
for them: it POSTs the body, signed, and writes the attempt to the endpoint's delivery log. A
failed attempt is retried by the outbox's backoff; too many in a row disable the endpoint, and
the command center leads are told once.

A URL is checked when it is saved and again before each attempt (a name can resolve elsewhere
later): only http and https, and, unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES, only public addresses,
so nobody can make the server call into its own network. The connection goes to the address
checked, not to whatever the name resolves to a moment later.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from golive import outbox
from golive.lib.rows import prepared_cursor
from golive.models import Notification, WebhookDelivery, WebhookEndpoint, new_webhook_secret
from golive.permissions import command_center_leads

logger = logging.getLogger(__name__)

# The most of a receiver's answer that is read: its start goes into the log, the rest is ignored.
RESPONSE_READ_BYTES = 1024
ERROR_MAX_CHARS = 500
USER_AGENT = "golive-webhooks/1"

# Addresses the server must never be made to call: IANA's special-purpose blocks and more. The
# `ipaddress` flags below cover most; these are those it counts as global or misses.
_NEVER = [
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network"
        "100.64.0.0/10",  # carrier-grade NAT, a private network in all but name
        "192.0.0.0/24",  # IETF protocol assignments
        "198.18.0.0/15",  # benchmarking
        "64:ff9b:1::/48",  # local-use IPv4/IPv6 translation
    )
]


class WebhookUrlRefused(Exception):
    """The URL cannot receive webhooks; the message says why and what to do, for the form."""


@dataclass(frozen=True)
class Target:
    """Where a URL is delivered: its parts and the one address checked and connected to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def _refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Why the server may not connect to `address`, or "" when it may."""
    mapped = getattr(address, "ipv4_mapped", None) or getattr(address, "sixtofour", None)
    if mapped is not None:
        # ::ffff:127.0.0.1 and 2002:7f00:1:: reach IPv4 addresses: judge the address reached.
        return _refusal(mapped)
    if address.is_unspecified or address.is_multicast:
        return "an address no server can be reached at"
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return ""
    if address.is_loopback:
        return "this server itself (loopback)"
    if address.is_link_local:
        return "a link-local address (such as a cloud metadata service)"
    if address.is_private or any(
        address in net for net in _NEVER if net.version == address.version
    ):
        return "a private network address"
    if address.is_reserved or not address.is_global:
        return "a reserved address"
    return ""


def check_url(url: str) -> tuple[str, Target]:
    """The URL as stored (the host in its ASCII form) and where it is delivered; raises
    WebhookUrlRefused, with a message for the person who typed it, when it cannot be used."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlRefused(
            "This is not a valid URL. Copy the receiver's address again, starting with https://."
        ) from exc
    if parts.scheme not in {"http", "https"}:
        shown = f"{parts.scheme}://" if parts.scheme else "no scheme"
        raise WebhookUrlRefused(
            f"Webhooks are sent over HTTP only, and this URL has {shown}. "
            "Give an https:// (or http://) address."
        )
    if not parts.hostname:
        raise WebhookUrlRefused("The URL needs a host name, e.g. https://hooks.example.org/golive.")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlRefused(
            "Leave the user name and password out of the URL: the receiver checks each "
            "delivery's signature with the endpoint's secret instead."
        )
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise WebhookUrlRefused(f"“{parts.hostname}” is not a valid host name.") from exc
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise WebhookUrlRefused(
            f"The host “{host}” could not be found. Check the spelling, or ask the receiver's "
            "owner for its address."
        ) from exc
    # Every address must be allowed: the one connected to is the first, but a name that also
    # resolves to a forbidden one is refused rather than left to chance.
    addresses = [info[4][0] for info in found]
    for address in addresses:
        why = _refusal(ipaddress.ip_address(address.split("%", 1)[0]))
        if why:
            raise WebhookUrlRefused(
                f"“{host}” points at {address}, {why}: webhooks may only go to public "
                "addresses. Give the receiver's public URL."
            )
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    stored = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return stored, Target(parts.scheme, host, port, path, addresses[0])


# --- Emitting events ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """One event to tell the go-live's subscribed endpoints about.

    `key` tells this event from others of its kind (the object and its version, e.g. "42:v3"):
    with the event it is the payload's `id`, the same for every endpoint (receivers may dedupe on
    it), and with the endpoint the outbox row's dedupe key, so an event emitted twice is
    delivered once.
    """

    go_live_id: int
    event: str
    key: str
    data: dict[str, Any]
    occurred_at: dt.datetime

    def __post_init__(self) -> None:
        # A plain string: psycopg would send an enum member (WebhookEvent) by its name.
        object.__setattr__(self, "event", str(self.event))

    @property
    def id(self) -> str:
        return f"{self.event}:{self.key}"


def occurred(at: dt.datetime) -> str:
    """An instant as payloads give it: ISO 8601 in UTC, to the second."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def body_of(occurrence: Occurrence) -> str:
    """The JSON delivered: the same for every endpoint, stored on each row as it is signed."""
    return json.dumps(
        {
            "event": occurrence.event,
            "id": occurrence.id,
            "occurred_at": occurred(occurrence.occurred_at),
            "go_live_id": occurrence.go_live_id,
            "data": occurrence.data,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


# An outbox row for each active endpoint of the go-live subscribed to each event given (one array
# per column, so the text is the same however many events a sweep sends). The intake writes the
# same rows through its function (issues/migrations/0010).
_EMIT_SQL = f"""
    INSERT INTO {Notification._meta.db_table}
        (go_live_id, webhook_endpoint_id, recipient_name, recipient_address, channel, subject,
         body, link, dedupe_key, status, attempts, last_error, next_attempt_at, created_at)
    SELECT e.go_live_id, e.id, left(COALESCE(NULLIF(e.description, ''), e.url), 120), '',
           '{Notification.Channel.WEBHOOK.value}', o.event, o.body, '',
           'webhook:' || e.id || ':' || o.id, '{Notification.Status.PENDING.value}', 0, '',
           %s::timestamptz, %s::timestamptz
    FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::text[]) AS o (go_live_id, event, id, body)
    JOIN {WebhookEndpoint._meta.db_table} e
      ON e.go_live_id = o.go_live_id AND e.is_active AND o.event = ANY(e.events)
    ON CONFLICT DO NOTHING
    RETURNING id
"""


def emit(
    *, go_live_id: int, event: str, key: str, data: dict[str, Any], at: dt.datetime | None = None
) -> list[int]:
    """Tell the go-live's endpoints subscribed to `event`, in the caller's transaction; the ids
    of the outbox rows written (none when no endpoint listens)."""
    return emit_many([Occurrence(go_live_id, event, key, data, at or timezone.now())])


def emit_many(occurrences: list[Occurrence]) -> list[int]:
    """`emit` for many events (a sweep's), in one statement however many there are: the
    endpoints are read by the INSERT that writes their rows, so no endpoint costs a query."""
    if not occurrences:
        return []
    now = timezone.now()
    with prepared_cursor() as cursor:
        cursor.execute(
            _EMIT_SQL,
            [
                now,
                now,
                [o.go_live_id for o in occurrences],
                [o.event for o in occurrences],
                [o.id for o in occurrences],
                [body_of(o) for o in occurrences],
            ],
        )
        written = [pk for (pk,) in cursor.fetchall()]
    enqueue_after_commit(written)
    return written


def enqueue_after_commit(ids: list[int]) -> None:
    """Hand the rows written to a worker once the event's transaction commits."""
    if ids:
        transaction.on_commit(partial(outbox.enqueue_deliveries, ids=ids))


# --- Delivering --------------------------------------------------------------------------------


class DeliveryFailed(Exception):
    """The receiver could not be reached or did not answer 2xx: the outbox retries later."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Golive-Signature of a delivery: HMAC-SHA256 with the endpoint's secret of the
    timestamp, a dot and the body exactly as sent."""
    message = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def deliver(notification: Notification) -> None:
    """Send one webhook row (the outbox has claimed it) and log the attempt. Raises
    DeliveryFailed for a failed attempt, outbox.Undeliverable when the endpoint is disabled."""
    endpoint = notification.webhook_endpoint
    if endpoint is None or not endpoint.is_active:
        raise outbox.Undeliverable("Not sent: the webhook endpoint is disabled.")
    body = notification.body.encode("utf-8")
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Golive-Event": notification.subject,
        "X-Golive-Delivery": str(notification.pk),
        "X-Golive-Timestamp": str(timestamp),
        "X-Golive-Signature": sign(endpoint.secret, timestamp, body),
    }
    attempted_at = timezone.now()
    started = time.perf_counter()
    status: int | None = None
    error = ""
    try:
        status, answer = _post(endpoint.url, body, headers)
        if not 200 <= status < 300:
            error = f"HTTP {status}" + (f": {answer}" if answer else "")
    except WebhookUrlRefused as exc:
        error = f"Refused before sending: {exc}"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    duration_ms = round((time.perf_counter() - started) * 1000)
    with transaction.atomic():
        WebhookDelivery.objects.create(
            endpoint=endpoint,
            notification=notification,
            event=notification.subject,
            attempted_at=attempted_at,
            status_code=status,
            error=error[:ERROR_MAX_CHARS],
            duration_ms=duration_ms,
        )
        if not error:
            WebhookEndpoint.objects.filter(pk=endpoint.pk, consecutive_failures__gt=0).update(
                consecutive_failures=0
            )
            return
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            consecutive_failures=F("consecutive_failures") + 1
        )
        disabled = _disable_if_failing(endpoint, error)
    if disabled:
        raise outbox.Undeliverable(f"{error} The endpoint is now disabled.")
    raise DeliveryFailed(error)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST to the URL's checked address; the status and the start of the answer. Redirects
    are not followed: a 3xx is an answer like any other that is not 2xx."""
    _, target = check_url(url)
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    # http.client connects through this attribute (HTTPS wraps the socket afterwards, with the
    # host name for SNI and the certificate check): pointing it at the checked address means a
    # name that resolves elsewhere between the check and the connect is never followed.
    connection._create_connection = partial(_connect_to, target.address)  # type: ignore[attr-defined]
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read(RESPONSE_READ_BYTES)
        return response.status, answer.decode("utf-8", "replace").strip()[:200]
    finally:
        connection.close()


def _connect_to(
    address: str,
    host_port: tuple[str, int],
    timeout: float,
    source_address: tuple[str, int] | None = None,
) -> socket.socket:
    return socket.create_connection((address, host_port[1]), timeout, source_address)


def _disable_if_failing(endpoint: WebhookEndpoint, error: str) -> bool:
    """Disable the endpoint once it has failed too often in a row, in a conditional UPDATE (of
    workers failing at once, one disables it and tells the leads); True for that one."""
    limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
    now = timezone.now()
    reason = f"{limit} deliveries in a row failed; the last: {error}"[:240]
    disabled = WebhookEndpoint.objects.filter(
        pk=endpoint.pk, is_active=True, consecutive_failures__gte=limit
    ).update(is_active=False, disabled_at=now, disabled_reason=reason)
    if not disabled:
        return False
    _stop_pending(endpoint)
    link = reverse("golive:webhook_deliveries", args=[endpoint.pk])
    for membership in command_center_leads(endpoint.go_live):
        outbox.notify(
            # One notice per disable: the endpoint may be enabled and disabled again later.
            dedupe_key=f"webhook_disabled:{endpoint.pk}:{int(now.timestamp() * 1e6)}:"
            f"user{membership.user_id}",
            channel=Notification.Channel.IN_APP,
            subject=f"Webhook disabled: {endpoint}",
            body=(
                f"{limit} deliveries in a row to {endpoint.url} failed (the last: {error[:200]}). "
                "Nothing more is sent to it. Fix the receiver, then enable the endpoint again "
                "on the Webhooks page."
            ),
            user=membership.user,
            go_live=endpoint.go_live,
            link=link,
        )
    logger.warning("Webhook endpoint %s disabled after %d failures", endpoint.pk, limit)
    return True


def _stop_pending(endpoint: WebhookEndpoint) -> int:
    """The endpoint's deliveries still waiting will not be sent: marked failed, with why."""
    return Notification.objects.filter(
        webhook_endpoint=endpoint, status=Notification.Status.PENDING
    ).update(
        status=Notification.Status.FAILED,
        last_error="Not sent: the webhook endpoint was disabled.",
    )


# --- The command center's actions --------------------------------------------------------------


@transaction.atomic
def disable_endpoint(*, endpoint: WebhookEndpoint, reason: str) -> bool:
    """A lead stops deliveries to the endpoint; False when it was disabled already."""
    disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
        is_active=False, disabled_at=timezone.now(), disabled_reason=reason[:240]
    )
    if disabled:
        _stop_pending(endpoint)
    return bool(disabled)


def enable_endpoint(*, endpoint: WebhookEndpoint) -> bool:
    """Deliveries start again with the next event (those stopped are not sent); its failures
    are counted from zero. False when it was active already."""
    return bool(
        WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=False).update(
            is_active=True, disabled_at=None, disabled_reason="", consecutive_failures=0
        )
    )


def rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new secret, used from the next attempt on (retries of older events included)."""
    endpoint.secret = new_webhook_secret()
    endpoint.save(update_fields=["secret"])
    return endpoint.secret
