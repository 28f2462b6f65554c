"""Sending SMS: a small backend interface chosen by settings.SMS_BACKEND (a dotted path).

LoggingSmsBackend is the development default; HttpGatewaySmsBackend posts to an HTTP gateway
configured by SMS_GATEWAY_URL, SMS_GATEWAY_TOKEN, SMS_FROM and SMS_GATEWAY_TIMEOUT.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsError(Exception):
    """The message was not accepted; the outbox records the reason and tries again later."""


class SmsBackend:
    def send(self, *, to: str, body: str, key: str = "") -> None:
        """Send `body` to the number `to`; raise SmsError when it was not accepted.

        `key` names the message, the same on every attempt: a gateway that honours it sends a
        message that is tried again (its first attempt's answer lost) only once.
        """
        raise NotImplementedError


class LoggingSmsBackend(SmsBackend):
    """Writes each message to the log instead of sending it (development)."""

    def send(self, *, to: str, body: str, key: str = "") -> None:
        logger.info("SMS to %s: %s", to, body)


class HttpGatewaySmsBackend(SmsBackend):
    """POSTs {"to", "from", "body"} as JSON with a bearer token, and the message's key as its
    Idempotency-Key header; any 2xx answer means accepted."""

    def __init__(self) -> None:
        self.url = settings.SMS_GATEWAY_URL
        if not self.url:
            raise ImproperlyConfigured(
                "SMS_BACKEND is the HTTP gateway but SMS_GATEWAY_URL is not set. Set it to the "
                "gateway's send endpoint, e.g. https://sms.example.org/v1/messages."
            )
        # urllib also opens file:// and ftp:// URLs: only a web gateway is acceptable here.
        if urlsplit(self.url).scheme not in {"http", "https"}:
            raise ImproperlyConfigured(
                f"SMS_GATEWAY_URL must start with https:// or http://, not {self.url!r}."
            )
        self.token = settings.SMS_GATEWAY_TOKEN
        self.sender = settings.SMS_FROM
        self.timeout = settings.SMS_GATEWAY_TIMEOUT

    def send(self, *, to: str, body: str, key: str = "") -> None:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if key:
            headers["Idempotency-Key"] = key
        request = urllib.request.Request(
            self.url,
            data=json.dumps({"to": to, "from": self.sender, "body": body}).encode(),
            headers=headers,
            method="POST",
        )
        try:
            # urlopen raises HTTPError for every answer outside 2xx.
            with urllib.request.urlopen(request, timeout=self.timeout):
                pass
        except urllib.error.HTTPError as exc:
            detail = exc.read(200).decode(errors="replace").strip() or exc.reason
            raise SmsError(f"SMS gateway answered HTTP {exc.code}: {detail}") from exc
        except urllib.error.URLError as exc:
            raise SmsError(f"SMS gateway unreachable: {exc.reason}") from exc
        except OSError as exc:  # a timeout or reset while reading the answer
            raise SmsError(f"SMS gateway unreachable: {exc}") from exc


def get_sms_backend() -> SmsBackend:
    backend_class: type[SmsBackend] = import_string(settings.SMS_BACKEND)
    return backend_class()
