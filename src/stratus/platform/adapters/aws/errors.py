"""boto3/botocore exceptions → port errors: the one translation most aws adapters share.

An adapter names the error codes of its service that mean something to its port (not found,
refused, invalid, ...); every other ``ClientError`` and any transport failure is
BackendUnavailableError, and a request botocore refuses before sending
(``ParamValidationError``) is InvalidRequestError. Messages read ``<what>: <code>: <detail>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from botocore.exceptions import ClientError, ParamValidationError

from stratus.platform.ports.errors import (
    BackendUnavailableError,
    InvalidRequestError,
    PortError,
)

Codes = Mapping[str, type[PortError]]


def error_code(exc: ClientError) -> str:
    """The service's error code (``ResourceNotFoundException``, ``NoSuchKey``, ``404``...)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def codes(error: type[PortError], names: Iterable[str]) -> dict[str, type[PortError]]:
    """``{code: error}`` for each of ``names``, to merge into an adapter's table."""
    return dict.fromkeys(names, error)


def translate(exc: Exception, what: str, table: Codes) -> PortError:
    """The port error for ``exc`` raised while doing ``what``."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        return table.get(code, BackendUnavailableError)(f"{what}: {code}: {exc}")
    if isinstance(exc, ParamValidationError):  # refused by botocore before sending
        return InvalidRequestError(f"{what}: {exc}")
    return BackendUnavailableError(f"{what}: {exc}")
