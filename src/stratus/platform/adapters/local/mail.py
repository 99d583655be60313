"""OutboxMailer: the Mailer port as a directory of ``.eml`` files (and SMTP when configured)."""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from stratus.platform import mime
from stratus.platform.ports.errors import (
    BackendUnavailableError,
    InvalidRequestError,
    MailRejectedError,
)
from stratus.platform.ports.mail import Email

_TRUE = {"1", "true", "yes", "on"}


class _SmtpTarget:
    """``smtp://[user:pass@]host[:port][?starttls=true]`` or ``smtps://...`` (implicit TLS)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise InvalidRequestError(f"unsupported SMTP URL {url!r} (smtp:// or smtps://)")
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else ""
        query = parse_qs(parts.query)
        self.starttls = query.get("starttls", ["false"])[-1].lower() in _TRUE
        self.timeout = float(query.get("timeout", ["30"])[-1])

    def send(self, msg: EmailMessage, sender: str, recipients: list[str]) -> None:
        try:
            smtp: smtplib.SMTP
            if self.tls:
                smtp = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(msg, from_addr=sender, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailRejectedError(f"SMTP server refused the recipients: {exc}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise BackendUnavailableError(f"SMTP login failed: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            # 5xx is a permanent refusal of this message; 4xx is "try again later".
            if 500 <= exc.smtp_code < 600:
                raise MailRejectedError(f"SMTP server rejected the message: {exc}") from exc
            raise BackendUnavailableError(f"SMTP server deferred the message: {exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise BackendUnavailableError(
                f"SMTP server {self.host}:{self.port} unavailable: {exc}"
            ) from exc


class OutboxMailer:
    """A Mailer writing one RFC 5322 ``.eml`` file per accepted message into ``outbox``.

    Files are named ``<UTC timestamp>-<message id>.eml`` and written atomically. Like SES in
    its sandbox, the sender must be a verified identity: the address itself or its domain
    (``verify`` or the ``verified`` argument). When ``smtp_url`` is set the message is also
    relayed through that server before it is recorded in the outbox. Differences from SES:
    recipients need no verification and there is no sending quota.
    """

    def __init__(
        self,
        outbox: Path,
        *,
        verified: Iterable[str] = (),
        smtp_url: str | None = None,
    ) -> None:
        self.outbox = Path(outbox)
        self._verified: set[str] = set()
        self._lock = threading.Lock()
        self._smtp = _SmtpTarget(smtp_url) if smtp_url else None
        for identity in verified:
            self.verify(identity)
        try:
            self.outbox.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendUnavailableError(f"cannot create outbox {self.outbox}: {exc}") from exc

    def verify(self, identity: str) -> None:
        """Mark an address (``ann@example.com``) or a domain (``example.com``) verified."""
        if "@" in identity:
            value = mime.address_of(identity).lower()
        elif mime.is_domain(identity):
            value = identity.lower()
        else:
            raise InvalidRequestError(f"not an email address or a domain: {identity!r}")
        with self._lock:
            self._verified.add(value)

    def send(self, email: Email) -> str:
        """Check, build, relay (SMTP) and record the message; return its message id."""
        sender = mime.address_of(email.sender)
        recipients = mime.recipients(email)
        with self._lock:
            verified = set(self._verified)
        if not mime.sender_is_verified(sender, verified):
            # SES: "Email address is not verified. The following identities failed the
            # check in region ...": MessageRejected.
            raise MailRejectedError(f"sender {sender!r} is not a verified identity")
        message_id = f"{uuid.uuid4().hex}@{mime.domain_of(sender)}"
        msg = mime.build_message(email, message_id=message_id)
        if self._smtp is not None:
            self._smtp.send(msg, sender, recipients)
        self._write(msg, message_id)
        return message_id

    def messages(self) -> list[Path]:
        """The ``.eml`` files sent so far, oldest first."""
        try:
            return sorted(self.outbox.glob("*.eml"))
        except OSError as exc:
            raise BackendUnavailableError(f"cannot read outbox {self.outbox}: {exc}") from exc

    def _write(self, msg: EmailMessage, message_id: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        target = self.outbox / f"{stamp}-{message_id}.eml"
        tmp = self.outbox / f".{message_id}.tmp"
        try:
            with open(tmp, "wb") as out:
                out.write(msg.as_bytes())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise BackendUnavailableError(f"cannot write to outbox {self.outbox}: {exc}") from exc
