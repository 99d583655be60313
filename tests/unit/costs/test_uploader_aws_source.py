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


# ---- manifests: the parts of one report version -------------------------------------------

LEGACY = "cur/acme/20260101-20260201"
EXPORT = "exports/acme-focus"


def put_json(s3, key: str, body: dict) -> None:
    import json

    s3.put_object(Bucket="acme-cur", Key=key, Body=json.dumps(body).encode())


@pytest.fixture
def manifests_bucket(moto_aws):
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="acme-cur")
    # Legacy CUR: an older assembly a1, then a2 in two parts (and its manifest's copy).
    s3.put_object(Bucket="acme-cur", Key=f"{LEGACY}/a1/acme-1.csv.gz", Body=b"old-1")
    put_json(s3, f"{LEGACY}/a1/acme-Manifest.json", {
        "assemblyId": "a1", "reportKeys": [f"{LEGACY}/a1/acme-1.csv.gz"],
        "billingPeriod": {"start": "20260101T000000.000Z", "end": "20260201T000000.000Z"},
    })  # fmt: skip
    parts = [f"{LEGACY}/a2/acme-1.csv.gz", f"{LEGACY}/a2/acme-2.csv.gz"]
    for n, key in enumerate(parts):
        s3.put_object(Bucket="acme-cur", Key=key, Body=f"new-{n}".encode())
    manifest = {
        "assemblyId": "a2", "reportKeys": parts,
        "billingPeriod": {"start": "20260101T000000.000Z", "end": "20260201T000000.000Z"},
    }  # fmt: skip
    put_json(s3, f"{LEGACY}/a2/acme-Manifest.json", manifest)
    put_json(s3, f"{LEGACY}/acme-Manifest.json", manifest)
    # Data Exports (CUR 2.0 / FOCUS): execution e2 lists one file; e1's file is left over.
    data = f"{EXPORT}/data/BILLING_PERIOD=2026-01"
    s3.put_object(Bucket="acme-cur", Key=f"{data}/e1/acme-focus-00001.csv.gz", Body=b"e1")
    s3.put_object(Bucket="acme-cur", Key=f"{data}/e2/acme-focus-00001.csv.gz", Body=b"e2")
    put_json(s3, f"{EXPORT}/metadata/BILLING_PERIOD=2026-01/acme-focus-Manifest.json", {
        "executionId": "e2",
        "dataFiles": [f"s3://acme-cur/{data}/e2/acme-focus-00001.csv.gz"],
        "billingPeriod": {"start": "2026-01-01T00:00:00.000Z", "end": "2026-02-01T00:00:00.000Z"},
    })  # fmt: skip
    s3.put_object(Bucket="acme-cur", Key="loose/report.csv", Body=b"a,b\n")  # no manifest
    return s3


def test_files_listed_in_the_newest_manifests_carry_their_version(manifests_bucket):
    source = source_for(context({"access_key_id": "AKIAEXAMPLE"}, "secret", {"bucket": "acme-cur"}))
    files = {f.name: f for f in source.files()}
    assert sorted(files) == [
        f"{LEGACY}/a2/acme-1.csv.gz",
        f"{LEGACY}/a2/acme-2.csv.gz",
        f"{EXPORT}/data/BILLING_PERIOD=2026-01/e2/acme-focus-00001.csv.gz",
        "loose/report.csv",
    ]  # a1's and e1's files are not in the newest manifest of their period: skipped
    part = files[f"{LEGACY}/a2/acme-2.csv.gz"]
    assert part.metadata == {"version": "a2", "parts": "2", "part": part.name}
    export = files[f"{EXPORT}/data/BILLING_PERIOD=2026-01/e2/acme-focus-00001.csv.gz"]
    assert (export.metadata["version"], export.metadata["parts"]) == ("e2", "1")
    assert files["loose/report.csv"].metadata == {}


def test_a_manifest_that_cannot_be_parsed_is_ignored(manifests_bucket):
    manifests_bucket.put_object(Bucket="acme-cur", Key="x/bad-Manifest.json", Body=b"{oops")
    source = source_for(context({"access_key_id": "AKIAEXAMPLE"}, "secret", {"bucket": "acme-cur"}))
    assert "loose/report.csv" in {f.name for f in source.files()}


def test_the_uploader_puts_each_part_with_version_metadata(manifests_bucket, tmp_path, clock):
    from stratus.platform.adapters.local.objects import FilesystemObjectStore
    from stratus.platform.adapters.local.secrets import FileSecretStore
    from stratus.platform.adapters.local.table import SqliteTableStore
    from stratus.platform.ports import IndexSpec, TableSpec
    from stratus.solutions.costs import accounts, uploader

    spec = TableSpec("credentials", indexes={"GSI1": IndexSpec("Data1", "SK")})
    account_ports = accounts.AccountPorts(
        table=SqliteTableStore(tmp_path / "tables.sqlite3", spec, clock=clock),
        secrets=FileSecretStore(tmp_path / "secrets.sqlite3", tmp_path / "secrets.key"),
        clock=clock,
    )
    reports = FilesystemObjectStore(tmp_path / "objects", "reports")
    ports = uploader.UploaderPorts(account_ports, reports, lambda name: reports)
    accounts.create_client(account_ports, "Acme", "acme")
    accounts.create_credential(
        account_ports, "acme", "aws", {"access_key_id": "AKIAEXAMPLE"}, "secret", "cred"
    )
    accounts.create_configuration(
        account_ports, "acme", "cred", "AWS_CUR", {"bucket": "acme-cur", "prefix": "cur/"},
        configuration_id="c1",
    )  # fmt: skip
    result = uploader.upload_configuration(ports, "acme", "c1")
    assert result.errors == []
    assert len(result.uploaded) == 2
    metas = [reports.head(key).metadata for key in result.uploaded]
    assert sorted(m["part"] for m in metas) == [f"{LEGACY}/a2/acme-1.csv.gz",
                                                f"{LEGACY}/a2/acme-2.csv.gz"]  # fmt: skip
    assert {(m["version"], m["parts"], m["client"]) for m in metas} == {("a2", "2", "acme")}
    assert uploader.upload_configuration(ports, "acme", "c1").uploaded == []  # unchanged
    # A new assembly rewrites the same part names with the same bytes: uploaded again,
    # because the version changed (the ETL needs every part of the new version).
    import json

    manifest = json.loads(
        manifests_bucket.get_object(Bucket="acme-cur", Key=f"{LEGACY}/acme-Manifest.json")[
            "Body"
        ].read()
    )
    manifest["assemblyId"] = "a3"
    put_json(manifests_bucket, f"{LEGACY}/acme-Manifest.json", manifest)
    again = uploader.upload_configuration(ports, "acme", "c1")
    assert len(again.uploaded) == 2
    assert {reports.head(key).metadata["version"] for key in again.uploaded} == {"a3"}
