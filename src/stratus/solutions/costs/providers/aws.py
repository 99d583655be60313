"""AWS CUR (legacy) and Data Exports (CUR 2.0 / FOCUS) from the client's S3 bucket.

The client's credential gives either keys (``Access.access_key_id`` + the secret) or a role to
assume (``Access.role_arn``, ``Access.external_id``), or both (keys, then the role). boto3 is
used through :mod:`stratus.platform.adapters.aws.external`, imported only when an AWS source
is built, so the local target never needs it for other providers.
"""

from __future__ import annotations

from typing import ClassVar

from stratus.platform.ports import PortError
from stratus.solutions.costs.providers.base import SourceContext, SourceError, register
from stratus.solutions.costs.providers.files import BucketSource


@register
class AwsS3ReportSource:
    """``AWS_CUR`` / ``AWS_FOCUS``: report files under ``Config.prefix`` in ``Config.bucket``;
    the parts of a month listed in a CUR or Data Exports manifest are uploaded as one report
    version (``providers/manifests.py``)."""

    report_types: ClassVar[tuple[str, ...]] = ("AWS_CUR", "AWS_FOCUS")

    @classmethod
    def build(cls, context: SourceContext) -> BucketSource:
        from stratus.platform.adapters.aws.external import external_bucket, external_session

        access = context.credential.access
        config = context.configuration.config
        try:
            session = external_session(
                access_key_id=access.get("access_key_id"),
                secret_access_key=context.secret if access.get("access_key_id") else None,
                role_arn=access.get("role_arn"),
                external_id=access.get("external_id"),
                region=access.get("region"),
                session_name=f"stratus-costs-{context.configuration.client_id}"[:64],
            )
        except PortError as exc:
            raise SourceError(str(exc)) from exc
        store = external_bucket(
            str(config["bucket"]), session, endpoint_url=access.get("endpoint_url")
        )
        prefix, suffix = str(config.get("prefix") or ""), config.get("suffix")
        return BucketSource(store, prefix, suffix, "aws", manifests=True)
