"""The streaming domain: pure rules, no I/O (accounts, orders, devices, streams, chat)."""

class DomainError(Exception):
    """A rule says no: the message is the reason (answered as 4xx)."""


class NotAllowedError(DomainError):
    """The caller's role or ownership does not allow this (403)."""


class ConflictError(DomainError):
    """The request conflicts with the current state (409)."""
