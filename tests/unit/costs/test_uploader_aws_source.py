"""AWS CUR / Data Exports: the client's bucket read with its keys or an assumed role (moto)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stratus.solutions.costs.domain.accounts import Configuration, Credential
from stratus.solutions.costs.providers import SourceContext, SourceError, source_for

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def context(access: dict[str, str], secret: str | None, config: dict[str, str]) -> SourceContext:
    cred = Credential("c", "acme", "aws", access, bool(secret), None, NOW, NOW)
    conf = Configuration("k", "acme", "c", "AWS_CUR", config, True, NOW, NOW)

    def no_bucket(name: str):
        raise AssertionError("AWS sources use the client's account, not ours")

    return SourceContext(conf, cred, secret, no_bucket)


@pytest.fixture
def client_bucket(moto_aws):
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="acme-cur")
    s3.put_object(Bucket="acme-cur", Key="cur/2026-01/acme-00001.csv.gz", Body=b"gz-bytes")
    s3.put_object(Bucket="acme-cur", Key="cur/2026-01/manifest.json", Body=b"{}")
    s3.put_object(Bucket="acme-cur", Key="other/x.csv", Body=b"a,b\n")
    return s3


def test_keys_list_the_report_files_under_the_prefix(client_bucket):
    source = source_for(
        context(
            {"access_key_id": "AKIAEXAMPLE"}, "secret", {"bucket": "acme-cur", "prefix": "cur/"}
        )
    )
    files = list(source.files())
    assert [f.name for f in files] == ["cur/2026-01/acme-00001.csv.gz"]
    assert files[0].fingerprint  # the S3 etag
    with source.open(files[0]) as stream:
        assert stream.read() == b"gz-bytes"


def test_a_role_is_assumed_with_sts(client_bucket):
    import boto3

    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(
        RoleName="costs-reader",
        AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}',
    )["Role"]["Arn"]
    source = source_for(
        context(
            {"role_arn": role, "external_id": "x-1"}, None, {"bucket": "acme-cur", "prefix": "cur/"}
        )
    )
    assert len(list(source.files())) == 1


def test_a_missing_bucket_is_a_source_error(client_bucket):
    source = source_for(context({}, None, {"bucket": "nope"}))
    with pytest.raises(SourceError):
        list(source.files())
