"""Exceptions raised by every port.

Adapters translate backend errors (botocore, sqlite3, OSError, ...) into these; no backend
exception reaches a service or a handler. Each exception carries a human-readable message.
"""

from __future__ import annotations


class PortError(Exception):
    """Base class of every error a port raises."""


class NotFoundError(PortError):
    """The named resource (table, queue, object, secret, execution...) does not exist."""


class ConditionFailedError(PortError):
    """A conditional write was refused because its condition did not hold."""


class InvalidRequestError(PortError):
    """The request breaks a rule of the port (size limit, bad key, bad argument)."""


class MessageTooLargeError(InvalidRequestError):
    """A message or a batch exceeds the queue/topic size limit."""


class BackendUnavailableError(PortError):
    """The backend could not be reached or failed; the call may be retried."""


class MailRejectedError(PortError):
    """The mailer refused the message (for example: the sender is not verified)."""


class AlreadyExistsError(ConditionFailedError):
    """A create was refused because the resource exists (a user pool user with this email)."""


class AuthenticationError(PortError):
    """Credentials or a token were refused: wrong password, unknown user, disabled user,
    a token that is tampered with, expired, or issued by another pool or client."""
