"""SecretsManagerSecretStore: the SecretStore port on AWS Secrets Manager (KMS at rest)."""

from __future__ import annotations

import re
from typing import Any

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
)

from stratus.platform.adapters.aws.errors import Codes, codes, error_code, translate
from stratus.platform.ports.errors import (
    InvalidRequestError,
    NotFoundError,
    PortError,
)

# Secrets Manager: 1-512 characters of ASCII letters, digits and /_+=.@- (moto does not check).
_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_INVALID = {"InvalidParameterException", "InvalidRequestException", "ValidationException"}


_TABLE: Codes = {"ResourceNotFoundException": NotFoundError, **codes(InvalidRequestError, _INVALID)}


def _translate(exc: Exception, what: str) -> PortError:
    return translate(exc, what, _TABLE)


def _check_name(secret_id: str) -> None:
    if not _NAME.match(secret_id):
        raise InvalidRequestError(
            f"invalid secret name {secret_id!r}: 1-512 of A-Z a-z 0-9 / _ + = . @ -"
        )


class SecretsManagerSecretStore:
    """A SecretStore on Secrets Manager; port names are stored as ``prefix + name``.

    ``put`` creates the secret (with ``kms_key_id`` when given, else the account's
    ``aws/secretsmanager`` key) the first time and stores a new version afterwards;
    ``delete`` uses ForceDeleteWithoutRecovery so the name is free at once.
    """

    def __init__(
        self, *, prefix: str = "", kms_key_id: str | None = None, client: Any = None
    ) -> None:
        self.prefix = prefix
        self.kms_key_id = kms_key_id
        self._sm: Any = client if client is not None else boto3.client("secretsmanager")

    def put(self, name: str, value: str) -> None:
        """PutSecretValue, or CreateSecret when the secret does not exist yet."""
        secret_id = self.prefix + name
        _check_name(secret_id)
        what = f"put secret {secret_id}"
        try:
            self._sm.put_secret_value(SecretId=secret_id, SecretString=value)
            return
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise _translate(exc, what) from exc
        except BotoCoreError as exc:
            raise _translate(exc, what) from exc
        args: dict[str, Any] = {"Name": secret_id, "SecretString": value}
        if self.kms_key_id:
            args["KmsKeyId"] = self.kms_key_id
        try:
            self._sm.create_secret(**args)
        except ClientError as exc:
            if error_code(exc) != "ResourceExistsException":
                raise _translate(exc, what) from exc
            try:  # created concurrently since our first call: store a new version
                self._sm.put_secret_value(SecretId=secret_id, SecretString=value)
            except (BotoCoreError, ClientError) as again:
                raise _translate(again, what) from again
        except BotoCoreError as exc:
            raise _translate(exc, what) from exc

    def get(self, name: str) -> str:
        """GetSecretValue's SecretString (AWSCURRENT)."""
        secret_id = self.prefix + name
        _check_name(secret_id)
        try:
            response = self._sm.get_secret_value(SecretId=secret_id)
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, f"get secret {secret_id}") from exc
        if "SecretString" not in response:
            raise InvalidRequestError(f"secret {secret_id} holds binary data, not a string")
        return str(response["SecretString"])

    def delete(self, name: str) -> None:
        """DeleteSecret without a recovery window; NotFoundError when missing.

        With ForceDeleteWithoutRecovery, Secrets Manager reports success for a secret that
        does not exist; the port promises NotFoundError, hence the DescribeSecret first."""
        secret_id = self.prefix + name
        _check_name(secret_id)
        try:
            self._sm.describe_secret(SecretId=secret_id)
            self._sm.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, f"delete secret {secret_id}") from exc

    def names(self, prefix: str = "") -> list[str]:
        """ListSecrets filtered by name prefix (paginated); the store's prefix is removed."""
        full = self.prefix + prefix
        args: dict[str, Any] = {}
        if full:
            # The "name" filter matches name prefixes; we still check startswith below.
            args["Filters"] = [{"Key": "name", "Values": [full]}]
        found: list[str] = []
        try:
            for page in self._sm.get_paginator("list_secrets").paginate(**args):
                for entry in page.get("SecretList", []):
                    secret_name = str(entry["Name"])
                    if secret_name.startswith(full) and "DeletedDate" not in entry:
                        found.append(secret_name[len(self.prefix) :])
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, f"list secrets {full}") from exc
        return sorted(found)
