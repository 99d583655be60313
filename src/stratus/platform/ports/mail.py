"""Mailer port: SES-shaped outgoing mail.

Semantics (tests/contract/test_mail.py): the sender must be a verified identity (an address,
or a domain covering it), else MailRejectedError; at least one recipient; a message id is
returned for every accepted message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Email:
    """An email to send. ``text`` and/or ``html`` make the body."""

    sender: str
    to: Sequence[str]
    subject: str
    text: str = ""
    html: str | None = None
    cc: Sequence[str] = ()
    reply_to: Sequence[str] = ()
    attachments: Sequence[Attachment] = field(default_factory=tuple)


@runtime_checkable
class Mailer(Protocol):
    def send(self, email: Email) -> str:
        """Send the email; return the message id."""
        ...
