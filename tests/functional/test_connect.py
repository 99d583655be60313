"""`stratus.platform.connect`: one handler code path, AWS adapters on AWS, local ones locally."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from stratus.platform import connect
from stratus.platform.adapters.aws.table import DynamoDbTableStore, dynamodb_create_table_kwargs
from stratus.platform.adapters.local.table import SqliteTableStore
from stratus.platform.ports import IndexSpec, NotFoundError, SortKeyCondition, TableSpec

SPEC = TableSpec(name="orders", indexes={"GSI1": IndexSpec("Data1", "SK")}, ttl_attribute="TTL")


@pytest.mark.parametrize(
    ("identifier", "name"),
    [
        ("orders", "orders"),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/orders", "orders"),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00", "orders"),
        ("https://sqs.us-east-1.amazonaws.com/123456789012/jobs", "jobs"),
        ("arn:aws:sqs:us-east-1:123456789012:jobs", "jobs"),
        ("arn:aws:sns:us-east-1:123456789012:alerts", "alerts"),
        ("arn:aws:states:us-east-1:123456789012:stateMachine:rollout", "rollout"),
        ("arn:aws:lambda:us-east-1:123456789012:function:start:live", "start"),
    ],
)
def test_resource_name_reads_names_out_of_arns_and_urls(identifier, name):
    assert connect.resource_name(identifier) == name


def test_the_target_comes_from_stratus_target_then_lambda(monkeypatch):
    monkeypatch.delenv("STRATUS_TARGET", raising=False)
    monkeypatch.delenv("AWS_EXECUTION_ENV", raising=False)
    assert connect.target() == "local"
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.11")
    assert connect.target() == "aws"
    monkeypatch.setenv("STRATUS_TARGET", "local")
    assert connect.target() == "local"
    monkeypatch.setenv("STRATUS_TARGET", "mars")
    with pytest.raises(ValueError, match="STRATUS_TARGET"):
        connect.target()


def test_on_aws_a_table_is_built_from_its_name_with_the_key_schema_read_once(moto_aws, monkeypatch):
    monkeypatch.setenv("STRATUS_TARGET", "aws")
    client = boto3.client("dynamodb")
    client.create_table(**dynamodb_create_table_kwargs(SPEC))
    client.update_time_to_live(
        TableName="orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "TTL"}
    )
    from stratus.platform.adapters.aws.provider import AwsResources

    connect.install(AwsResources())
    try:
        table = connect.table("arn:aws:dynamodb:us-east-1:123456789012:table/orders")
        assert isinstance(table, DynamoDbTableStore)
        assert table.spec.indexes == SPEC.indexes
        assert table.spec.ttl_attribute == "TTL"
        table.put({"PK": "ORDER~1", "SK": "ORDER", "Data1": "STATUS~NEW"})
        page = table.query("STATUS~NEW", index="GSI1", sort=SortKeyCondition.begins_with("ORD"))
        assert [i["PK"] for i in page.items] == ["ORDER~1"]
        with pytest.raises(NotFoundError):
            connect.table("missing")
        queue_url = boto3.client("sqs").create_queue(QueueName="jobs")["QueueUrl"]
        connect.queue(queue_url).send("hello")
        assert [m.body for m in connect.queue("jobs").receive(1)] == ["hello"]
    finally:
        connect.install(None)


def test_locally_without_a_runtime_the_provider_uses_stratus_home(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("STRATUS_TARGET", "local")
    monkeypatch.setenv("STRATUS_HOME", str(tmp_path))
    SqliteTableStore(tmp_path / "tables.sqlite3", SPEC).put({"PK": "A", "SK": "B"})
    assert connect.table("orders").get({"PK": "A", "SK": "B"}) == {"PK": "A", "SK": "B"}
    with pytest.raises(NotFoundError):
        connect.workflows()


def test_on_aws_a_user_pool_is_cognito_through_the_given_client(moto_aws, monkeypatch):
    monkeypatch.setenv("STRATUS_TARGET", "aws")
    idp = boto3.client("cognito-idp")
    pool_id = idp.create_user_pool(PoolName="users", UsernameAttributes=["email"])["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    from stratus.platform.adapters.aws.provider import AwsResources
    from stratus.platform.adapters.aws.userpool import CognitoUserPool

    connect.install(AwsResources())
    try:
        users = connect.user_pool(pool_id, client_id)
        assert isinstance(users, CognitoUserPool)
        assert users is connect.user_pool(pool_id, client_id)  # one per process: keys cached
        sub = users.sign_up("ann@example.com", "Correct-horse-1")
        assert idp.admin_get_user(UserPoolId=pool_id, Username=sub)["UserStatus"] == "CONFIRMED"
        assert users.authenticate("ann@example.com", "Correct-horse-1").id_token
    finally:
        connect.install(None)


def test_locally_a_user_pool_must_be_declared_by_a_template(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("STRATUS_TARGET", "local")
    monkeypatch.setenv("STRATUS_HOME", str(tmp_path))
    with pytest.raises(NotFoundError, match="no user pool"):
        connect.user_pool("us-east-1_users", "web")
