"""Build the RFC 5322 / MIME message of an :class:`~stratus.platform.ports.mail.Email` (pure).

Both mailers send exactly these bytes: the local outbox writes them to a ``.eml`` file (and
to SMTP when configured), SES receives them through ``SendRawEmail``. Address checks live
here too so both adapters reject the same malformed addresses with InvalidRequestError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from stratus.platform.ports.errors import InvalidRequestError
from stratus.platform.ports.mail import Email

# Deliberately simple: one "@", a non-empty local part without spaces, a dotted domain.
# SES applies RFC 5321 rules; anything this accepts and SES refuses comes back as
# InvalidRequestError from the SES adapter as well.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"^[^@\s<>()\[\],;:\"]+@{_LABEL}(?:\.{_LABEL})+$")
_DOMAIN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+$")


def is_domain(value: str) -> bool:
    """Whether ``value`` is a dotted DNS domain name such as ``example.com``."""
    return bool(_DOMAIN.match(value))


def address_of(value: str) -> str:
    """The bare address of ``value`` (``"Ann <ann@example.com>"`` → ``ann@example.com``).

    Raises InvalidRequestError when it is not a plausible address."""
    if not isinstance(value, str) or "\n" in value or "\r" in value:
        raise InvalidRequestError(f"invalid email address: {value!r}")
    _, address = parseaddr(value)
    if not address or not _ADDRESS.match(address):
        raise InvalidRequestError(f"invalid email address: {value!r}")
    return address


def domain_of(address: str) -> str:
    """The domain part of a bare address, lower-cased."""
    return address.rsplit("@", 1)[1].lower()


def recipients(email: Email) -> list[str]:
    """Every envelope recipient (To + Cc) as bare addresses; at least one is required."""
    addresses = [address_of(a) for a in (*email.to, *email.cc)]
    if not addresses:
        raise InvalidRequestError("an email needs at least one recipient")
    return addresses


def _check_all(values: Iterable[str]) -> None:
    for value in values:
        address_of(value)


def build_message(email: Email, *, message_id: str | None = None) -> EmailMessage:
    """The MIME message: text and/or html (as multipart/alternative) plus attachments.

    ``message_id`` is the bare id (no angle brackets); one is generated when omitted."""
    address_of(email.sender)
    recipients(email)
    _check_all(email.reply_to)
    if any(c in email.subject for c in "\r\n"):
        raise InvalidRequestError("the subject must be a single line")
    msg = EmailMessage()
    msg["From"] = email.sender
    msg["To"] = ", ".join(email.to)
    if email.cc:
        msg["Cc"] = ", ".join(email.cc)
    if email.reply_to:
        msg["Reply-To"] = ", ".join(email.reply_to)
    msg["Subject"] = email.subject
    msg["Date"] = formatdate(usegmt=True)
    domain = domain_of(address_of(email.sender))
    msg["Message-ID"] = f"<{message_id}>" if message_id else make_msgid(domain=domain)
    msg.set_content(email.text or "")
    if email.html is not None:
        msg.add_alternative(email.html, subtype="html")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        if not subtype:
            maintype, subtype = "application", "octet-stream"
        try:
            msg.add_attachment(
                attachment.content,
                maintype=maintype,
                subtype=subtype,
                filename=attachment.filename,
            )
        except (ValueError, TypeError) as exc:  # e.g. a line break in the file name
            raise InvalidRequestError(f"invalid attachment {attachment.filename!r}: {exc}") from exc
    return msg


def message_id_of(msg: EmailMessage) -> str:
    """The Message-ID header without its angle brackets."""
    return str(msg["Message-ID"]).strip().strip("<>")


def sender_is_verified(sender: str, verified: Sequence[str] | set[str]) -> bool:
    """SES sandbox rule: the sender address, or its domain, is a verified identity."""
    address = address_of(sender).lower()
    identities = {v.lower() for v in verified}
    return address in identities or domain_of(address) in identities


__all__ = [
    "address_of",
    "build_message",
    "domain_of",
    "is_domain",
    "message_id_of",
    "recipients",
    "sender_is_verified",
]
