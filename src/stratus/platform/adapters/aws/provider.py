"""The aws target's resource provider: boto3-backed adapters from CloudFormation identifiers.

Inside Lambda, ``stratus.platform.connect`` uses this. Clients are made once per process (per
cold start) and reused, as Lambda best practice asks. A table's key schema is read once with
DescribeTable, so handlers need only the table name from their environment.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from stratus.platform.adapters.aws.mail import SesMailer
from stratus.platform.adapters.aws.objects import S3ObjectStore
from stratus.platform.adapters.aws.queue import SqsQueueBroker
from stratus.platform.adapters.aws.secrets import SecretsManagerSecretStore
from stratus.platform.adapters.aws.table import DynamoDbTableStore
from stratus.platform.adapters.aws.topic import SnsTopic
from stratus.platform.adapters.aws.userpool import CognitoUserPool
from stratus.platform.adapters.aws.workflow import StepFunctionsWorkflowRunner
from stratus.platform.adapters.local.clock import SystemClock
from stratus.platform.connect import resource_name
from stratus.platform.ports import (
    BackendUnavailableError,
    Clock,
    IndexSpec,
    Mailer,
    NotFoundError,
    ObjectStore,
    Queue,
    QueueBroker,
    SecretStore,
    TableSpec,
    TableStore,
    Topic,
    UserPool,
    WorkflowRunner,
)


def table_spec_from_description(table: dict[str, Any]) -> TableSpec:
    """A TableSpec from DescribeTable's ``Table`` (and DescribeTimeToLive's attribute)."""

    def keys(schema: list[dict[str, str]]) -> tuple[str, str | None]:
        hash_key = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
        range_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
        return hash_key, range_key

    pk, sk = keys(table["KeySchema"])
    indexes = {}
    for gsi in table.get("GlobalSecondaryIndexes", []):
        ipk, isk = keys(gsi["KeySchema"])
        indexes[gsi["IndexName"]] = IndexSpec(ipk, isk)
    stream = bool(table.get("StreamSpecification", {}).get("StreamEnabled"))
    return TableSpec(
        name=table["TableName"],
        partition_key=pk,
        sort_key=sk,
        indexes=indexes,
        ttl_attribute=table.get("_TtlAttribute"),
        stream=stream,
    )


class AwsResources:
    """Ports on AWS, built lazily and cached per identifier."""

    def __init__(self, session: Any = None) -> None:
        self._session = session or boto3.session.Session()

    @cache  # noqa: B019 - one provider per process; the cache is the point
    def _client(self, service: str) -> Any:
        return self._session.client(service)

    @cache  # noqa: B019
    def table(self, name: str) -> TableStore:
        table_name = resource_name(name)
        client = self._client("dynamodb")
        try:
            description = client.describe_table(TableName=table_name)["Table"]
            ttl = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise NotFoundError(f"DynamoDB table {table_name!r} does not exist") from exc
            raise BackendUnavailableError(f"DescribeTable {table_name}: {exc}") from exc
        except BotoCoreError as exc:
            raise BackendUnavailableError(f"DescribeTable {table_name}: {exc}") from exc
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            description = {**description, "_TtlAttribute": ttl.get("AttributeName")}
        spec = table_spec_from_description(description)
        return DynamoDbTableStore(
            table_name, spec, client=client, streams_client=self._client("dynamodbstreams")
        )

    @cache  # noqa: B019
    def queue(self, name: str) -> Queue:
        return SqsQueueBroker(client=self._client("sqs")).get(resource_name(name))

    @cache  # noqa: B019
    def queue_broker(self) -> QueueBroker:
        return SqsQueueBroker(client=self._client("sqs"))

    @cache  # noqa: B019
    def topic(self, name: str) -> Topic:
        arn = name
        if not name.startswith("arn:"):
            region = self._session.region_name or os.environ.get("AWS_REGION", "us-east-1")
            account = self._client("sts").get_caller_identity()["Account"]
            arn = f"arn:aws:sns:{region}:{account}:{name}"
        return SnsTopic(arn, client=self._client("sns"), sqs_client=self._client("sqs"))

    @cache  # noqa: B019
    def bucket(self, name: str) -> ObjectStore:
        return S3ObjectStore(resource_name(name), client=self._client("s3"))

    @cache  # noqa: B019
    def workflows(self) -> WorkflowRunner:
        return StepFunctionsWorkflowRunner(client=self._client("stepfunctions"))

    @cache  # noqa: B019
    def mailer(self) -> Mailer:
        return SesMailer(
            client=self._client("ses"),
            configuration_set=os.environ.get("STRATUS_SES_CONFIGURATION_SET") or None,
        )

    @cache  # noqa: B019
    def secrets(self) -> SecretStore:
        return SecretsManagerSecretStore(
            prefix=os.environ.get("STRATUS_SECRETS_PREFIX", ""),
            kms_key_id=os.environ.get("STRATUS_KMS_KEY_ID") or None,
            client=self._client("secretsmanager"),
        )

    def clock(self) -> Clock:
        return SystemClock()

    @cache  # noqa: B019 - one adapter per pool and client: its JWKS is fetched once
    def user_pool(self, pool_id: str, client_id: str) -> UserPool:
        return CognitoUserPool(pool_id, client_id, client=self._client("cognito-idp"))
