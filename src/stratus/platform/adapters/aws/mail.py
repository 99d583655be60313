"""SesMailer: the Mailer port on Amazon SES (v1 API, ``SendRawEmail``)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
)

from stratus.platform import mime
from stratus.platform.adapters.aws.errors import Codes, codes, translate
from stratus.platform.ports.errors import (
    InvalidRequestError,
    MailRejectedError,
    PortError,
)
from stratus.platform.ports.mail import Email

_REJECTED = {
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "MailFromDomainNotVerified",
    "AccountSendingPausedException",
    "ConfigurationSetSendingPausedException",
}
_INVALID = {"InvalidParameterValue", "ValidationError", "ConfigurationSetDoesNotExist"}


_TABLE: Codes = {**codes(MailRejectedError, _REJECTED), **codes(InvalidRequestError, _INVALID)}


def _translate(exc: Exception, what: str) -> PortError:
    return translate(exc, what, _TABLE)


class SesMailer:
    """A Mailer sending through SES ``SendRawEmail``.

    The MIME message is built by :mod:`stratus.platform.mime`, byte for byte what the local
    outbox writes. The returned id is SES's ``MessageId``; SES rewrites the ``Message-ID``
    header to ``<MessageId@email.amazonses.com>``. SES itself enforces the verified-sender
    rule (in the sandbox, recipients must be verified too).
    """

    def __init__(self, *, client: Any = None, configuration_set: str | None = None) -> None:
        self._ses: Any = client if client is not None else boto3.client("ses")
        self.configuration_set = configuration_set

    def verify(self, identity: str) -> None:
        """Start verification of an address (SES mails it a link) or a domain (DNS TXT)."""
        try:
            if "@" in identity:
                self._ses.verify_email_identity(EmailAddress=mime.address_of(identity))
            elif mime.is_domain(identity):
                self._ses.verify_domain_identity(Domain=identity.lower())
            else:
                raise InvalidRequestError(f"not an email address or a domain: {identity!r}")
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, f"verify {identity}") from exc

    def send(self, email: Email) -> str:
        """Send the message; return SES's message id."""
        sender = mime.address_of(email.sender)
        recipients = mime.recipients(email)
        msg = mime.build_message(email)
        args: dict[str, Any] = {
            "Source": sender,
            "Destinations": recipients,
            "RawMessage": {"Data": msg.as_bytes()},
        }
        if self.configuration_set:
            args["ConfigurationSetName"] = self.configuration_set
        try:
            response = self._ses.send_raw_email(**args)
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, f"send mail from {sender}") from exc
        return str(response["MessageId"])
