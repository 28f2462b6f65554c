"""Acknowledge links: what an escalation email or SMS carries so that its recipient can
acknowledge the issue from the message.

A link is `/a/<token>/`. The token names its message (the issue, the escalation round and level,
the step's trigger, the channel, the recipient, the minute it was sent) in a few base-36 fields,
then a signature of them (8 characters: a 48-bit keyed BLAKE2b MAC, its key derived from
SECRET_KEY). So golive can trust what a link says without having stored anything for it: the sweep
writes no row per link, and a link golive did not make is refused before any lookup. An SMS also
carries a six-digit one-time code, another MAC of the same fields, for recipients who
cannot sign in (directory contacts have no account). What became of a link (used, wrong codes) is
an EscalationAck row, made when it is first used. Opening a link changes nothing: acknowledging
is a POST from its page, so a mail scanner that follows links acknowledges nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from functools import cache, lru_cache

from django.conf import settings
from django.utils.crypto import constant_time_compare
from django.utils.http import int_to_base36

from golive.lib.urls import url_format

CODE_DIGITS = 6
# Codes a link takes before it is locked (signing in still works).
MAX_CODE_TRIES = 5
_SIGNATURE_BYTES = 6
_MAX_TOKEN = 80

_TRIGGERS = {"no_response": "n", "unresolved": "u"}
_CHANNELS = {"email": "e", "sms": "s"}
_RECIPIENTS = {"person": "p", "contact": "c", "user": "u"}
# The token's letters back to names, position by position.
_FLAG_NAMES = tuple(
    {flag: name for name, flag in table.items()} for table in (_TRIGGERS, _CHANNELS, _RECIPIENTS)
)
_RECIPIENT_KEY = re.compile(r"(person|contact|user)([0-9]+)")
_EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
_MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Message:
    """The escalation message a link belongs to."""

    issue_id: int
    round: int
    level: int
    trigger: str  # an EscalationStep.Trigger
    channel: str  # "email" or "sms"
    recipient_key: str  # person<id>, contact<id> or user<id>
    sent_at: dt.datetime  # to the minute

    @property
    def expires_at(self) -> dt.datetime:
        return self.sent_at + dt.timedelta(hours=settings.ESCALATION_ACK_HOURS)


# Django's base 36, remembered: a sweep writes the same few ids and minutes into thousands of links.
_b36 = lru_cache(maxsize=4096)(int_to_base36)


def recipient_of(message: Message) -> tuple[str, int]:
    """("person", "contact" or "user", its id)."""
    found = _RECIPIENT_KEY.fullmatch(message.recipient_key)
    if found is None:
        raise ValueError(f"Not a recipient key: {message.recipient_key!r}")
    return found[1], int(found[2])


def _fields(message: Message) -> str:
    kind, number = recipient_of(message)
    minutes = (message.sent_at - _EPOCH) // _MINUTE
    flags = _TRIGGERS[message.trigger] + _CHANNELS[message.channel] + _RECIPIENTS[kind]
    numbers = (message.issue_id, message.round, message.level)
    return ".".join([*map(_b36, numbers), flags, _b36(number), _b36(minutes)])


@cache
def _mac_key(purpose: str, secret: str) -> bytes:
    """A key of its own for each purpose, derived once from the whole of SECRET_KEY (a BLAKE2b key
    is at most 64 bytes: the secret is hashed to that, not cut)."""
    secret_key = hashlib.blake2b(secret.encode()).digest()
    return hashlib.blake2b(f"golive.issues.{purpose}".encode(), key=secret_key).digest()


def _mac(purpose: str, value: str, size: int) -> bytes:
    """BLAKE2b in its keyed mode, a MAC in one call (HMAC-SHA256 in Python took longer than
    writing the rest of an escalation message)."""
    key = _mac_key(purpose, settings.SECRET_KEY)
    return hashlib.blake2b(value.encode(), key=key, digest_size=size).digest()


def _signature(fields: str) -> str:
    return base64.urlsafe_b64encode(_mac("ack", fields, _SIGNATURE_BYTES)).decode()


def token_for(message: Message) -> str:
    fields = _fields(message)
    return f"{fields}.{_signature(fields)}"


def read(token: str) -> Message | None:
    """The message of a token golive signed; None for one it did not (forged, cut short,
    altered)."""
    fields, _, signature = token.rpartition(".")
    if len(token) > _MAX_TOKEN or not constant_time_compare(signature, _signature(fields)):
        return None
    try:
        issue, round_, level, flags, number, minutes = fields.split(".")
        trigger, channel, kind = (
            names[letter] for names, letter in zip(_FLAG_NAMES, flags, strict=True)
        )
        return Message(
            issue_id=int(issue, 36),
            round=int(round_, 36),
            level=int(level, 36),
            trigger=trigger,
            channel=channel,
            recipient_key=f"{kind}{int(number, 36)}",
            sent_at=_EPOCH + int(minutes, 36) * _MINUTE,
        )
    except (ValueError, KeyError):
        # Signed by golive but not of this shape: no link golive sends.
        return None


def code_for(message: Message) -> str:
    """The one-time code of an SMS (an email has none)."""
    number = int.from_bytes(_mac("ack-code", _fields(message), 8), "big")
    return f"{number % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def code_matches(message: Message, code: str) -> bool:
    return message.channel == "sms" and constant_time_compare(code, code_for(message))


@cache
def _link_format() -> str:
    return settings.SITE_URL + url_format("ack")


def link(message: Message) -> str:
    """The whole address a message carries (SITE_URL first)."""
    return _link_format().format(token_for(message))


def sent_minute(when: dt.datetime) -> dt.datetime:
    """`when` to the minute a token keeps."""
    return _EPOCH + (when - _EPOCH) // _MINUTE * _MINUTE
