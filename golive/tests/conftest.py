"""The core's test helpers: a local webhook receiver, as the hospital's systems run one."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pytest_django import Settings


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    fresh: bool


class Receiver:
    """What a webhook consumer does: check the signature and the timestamp, then answer."""

    def __init__(self) -> None:
        self.secret = ""
        self.answers: list[int] = []  # status codes to answer in turn; 200 once they run out
        self.received: list[Received] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _ReceiverHandler)
        self.server.receiver = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/golive?from=mercy"

    def check(self, headers: dict[str, str], body: bytes) -> tuple[bool, bool]:
        timestamp = headers.get("X-Golive-Timestamp", "")
        expected = hmac.new(
            self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        signature_ok = hmac.compare_digest(
            f"sha256={expected}", headers.get("X-Golive-Signature", "")
        )
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= 300
        return signature_ok, fresh


class _ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        receiver: Receiver = self.server.receiver  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = dict(self.headers.items())
        signature_ok, fresh = receiver.check(headers, body)
        receiver.received.append(Received(self.path, headers, body, signature_ok, fresh))
        if not (signature_ok and fresh):
            status = 401
        else:
            status = receiver.answers.pop(0) if receiver.answers else 200
        answer = b'{"ok": true}' if status < 300 else b"receiver is having a bad day"
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads what was received instead."""


@pytest.fixture
def receiver(settings: Settings) -> Iterator[Receiver]:
    # The receiver listens on 127.0.0.1, which a production install refuses by default.
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join(timeout=5)
