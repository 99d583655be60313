"""Sessions into *other* AWS accounts: a client's keys or a role assumed with STS.

Solutions that read a customer's resources (cost reports in the customer's bucket, the
customer's Cost Explorer) get a boto3 session here, never by importing boto3 themselves.
Errors become port errors.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from stratus.platform.adapters.aws.objects import S3ObjectStore
from stratus.platform.ports.errors import BackendUnavailableError, InvalidRequestError


def external_session(
    *,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    role_arn: str | None = None,
    external_id: str | None = None,
    region: str | None = None,
    session_name: str = "stratus-costs",
) -> Any:
    """A boto3 session: the given keys (else this process's credentials), then, when
    ``role_arn`` is given, the role assumed with STS (with ``external_id`` when set)."""
    if bool(access_key_id) != bool(secret_access_key):
        raise InvalidRequestError("an access key id needs its secret access key, and back")
    base = boto3.session.Session(
        aws_access_key_id=access_key_id or None,
        aws_secret_access_key=secret_access_key or None,
        region_name=region or None,
    )
    if not role_arn:
        return base
    params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": session_name}
    if external_id:
        params["ExternalId"] = external_id
    try:
        creds = base.client("sts").assume_role(**params)["Credentials"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise InvalidRequestError(f"cannot assume {role_arn}: {code}") from exc
    except BotoCoreError as exc:
        raise BackendUnavailableError(f"cannot assume {role_arn}: {exc}") from exc
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region or None,
    )


def external_bucket(bucket: str, session: Any, *, endpoint_url: str | None = None) -> S3ObjectStore:
    """The ObjectStore of a bucket in another account, through ``session``."""
    client = session.client("s3", endpoint_url=endpoint_url or None)
    return S3ObjectStore(bucket, client=client)
