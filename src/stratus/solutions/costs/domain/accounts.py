"""Clients, credentials and report configurations: the Credentials API's model (pure).

A *client* is a customer whose cloud spending we process. A *credential* says how to reach one
of the client's cloud accounts: non-secret ``access`` fields (role ARN, tenant id, ...) and a
secret (secret access key, client secret, service-account key) that lives only in the
SecretStore. A *configuration* says which report to fetch with which credential:
``{ReportType, Config}``.

Report types and what each needs in ``Config`` are declared in :data:`REPORT_TYPES`; adding a
provider is one entry here plus one source class in ``stratus.solutions.costs.providers``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
ID_RULE = "1-64 letters, digits, '-' or '_', starting with a letter or digit"


@dataclass(frozen=True)
class ProviderKind:
    """A kind of credential: which ``access`` fields it takes and whether a secret is needed."""

    name: str
    required_access: tuple[str, ...] = ()
    optional_access: tuple[str, ...] = ()
    secret_required: bool = False
    private_part: str = "secret"


PROVIDERS: Mapping[str, ProviderKind] = MappingProxyType(
    {
        "aws": ProviderKind(
            "aws",
            optional_access=("role_arn", "external_id", "access_key_id", "region", "endpoint_url"),
            private_part="secret access key",
        ),
        "azure": ProviderKind(
            "azure",
            required_access=("tenant_id", "client_id"),
            optional_access=("subscription_id", "scope", "authority"),
            secret_required=True,
            private_part="client secret",
        ),
        "gcp": ProviderKind(
            "gcp",
            required_access=("project_id",),
            optional_access=("service_account", "dataset"),
            private_part="service account key",
        ),
        "local": ProviderKind("local"),
        "http": ProviderKind("http", optional_access=("header",), private_part="bearer token"),
    }
)


@dataclass(frozen=True)
class ReportTypeInfo:
    """A report type: the credential kind it uses, the ETL provider of its files and the
    ``Config`` keys it requires/accepts."""

    name: str
    provider: str
    etl_provider: str | None
    required_config: tuple[str, ...]
    optional_config: tuple[str, ...] = ()
    description: str = ""


_COMMON_OPTIONAL = ("suffix", "etl_provider")

REPORT_TYPES: Mapping[str, ReportTypeInfo] = MappingProxyType(
    {
        "AWS_CUR": ReportTypeInfo(
            "AWS_CUR",
            "aws",
            "aws-cur",
            ("bucket",),
            ("prefix", *_COMMON_OPTIONAL),
            "legacy Cost and Usage Report files in the client's S3 bucket",
        ),
        "AWS_FOCUS": ReportTypeInfo(
            "AWS_FOCUS",
            "aws",
            "aws-focus",
            ("bucket",),
            ("prefix", *_COMMON_OPTIONAL),
            "Data Exports (CUR 2.0 / FOCUS) in the client's S3 bucket",
        ),
        "AZURE_EXPORT": ReportTypeInfo(
            "AZURE_EXPORT",
            "azure",
            "azure",
            (),
            (
                "path",
                "bucket",
                "container",
                "storage_account",
                "endpoint",
                "prefix",
                *_COMMON_OPTIONAL,
            ),
            "Azure Cost Management exports (EA/MCA) from Blob Storage, a local path or a bucket",
        ),
        "GCP_BILLING": ReportTypeInfo(
            "GCP_BILLING",
            "gcp",
            "gcp",
            (),
            ("path", "bucket", "gcs_bucket", "endpoint", "prefix", *_COMMON_OPTIONAL),
            "GCP billing export files from Cloud Storage, a local path or a bucket",
        ),
        "GCP_BIGQUERY": ReportTypeInfo(
            "GCP_BIGQUERY",
            "gcp",
            "gcp",
            ("dataset", "table"),
            ("project", "months", "endpoint", "etl_provider"),
            "the Cloud Billing export to BigQuery (standard or detailed usage cost table), "
            "queried per invoice month",
        ),
        "LOCAL_FILE": ReportTypeInfo(
            "LOCAL_FILE",
            "local",
            None,
            ("path",),
            _COMMON_OPTIONAL,
            "files in a local directory (or one file); provider detected by the ETL",
        ),
        "HTTP": ReportTypeInfo(
            "HTTP",
            "http",
            None,
            ("url",),
            _COMMON_OPTIONAL,
            "one file downloaded over HTTP(S); provider detected by the ETL",
        ),
    }
)

ETL_PROVIDERS = ("aws-cur", "aws-focus", "azure", "gcp", "oci", "focus")

#: BigQuery names that GCP_BIGQUERY puts into SQL (a table name cannot be a query parameter):
#: a project id (optionally ``domain:``-scoped), a dataset id, a table id of letters, digits,
#: ``_`` and ``-`` (the billing export's ``gcp_billing_export_v1_<BILLING_ACCOUNT_ID>``).
BIGQUERY_PROJECT = re.compile(r"^(?:[a-z][a-z0-9.-]{0,61}[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
BIGQUERY_DATASET = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
BIGQUERY_TABLE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,1023}$")
BIGQUERY_MAX_MONTHS = 120


def check_bigquery(config: Mapping[str, Any]) -> list[str]:
    """Reasons why a GCP_BIGQUERY ``Config`` names no valid table or month window."""
    reasons: list[str] = []
    project = str(config.get("project") or "")
    if project and not BIGQUERY_PROJECT.match(project):
        reasons.append("Config.project: must be a GCP project id (6-30 a-z, 0-9, '-')")
    dataset = str(config.get("dataset") or "")
    if dataset and not BIGQUERY_DATASET.match(dataset):
        reasons.append("Config.dataset: must be a BigQuery dataset id (letters, digits, '_')")
    table = str(config.get("table") or "")
    if table and not BIGQUERY_TABLE.match(table):
        reasons.append(
            "Config.table: must be a BigQuery table id (letters, digits, '_', '-'), "
            "e.g. gcp_billing_export_v1_<BILLING_ACCOUNT_ID>"
        )
    months = config.get("months")
    if months is not None and not (
        isinstance(months, str) and months.isdigit() and 1 <= int(months) <= BIGQUERY_MAX_MONTHS
    ):
        reasons.append(f"Config.months: must be a whole number from 1 to {BIGQUERY_MAX_MONTHS}")
    return reasons


@dataclass(frozen=True)
class Client:
    """A customer of the platform."""

    client_id: str
    name: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Credential:
    """How to reach a client's cloud account. ``secret_hint`` is a mask, never the secret."""

    credential_id: str
    client_id: str
    provider: str
    access: Mapping[str, str]
    has_secret: bool
    secret_hint: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Configuration:
    """Which report to fetch for a client, with which credential."""

    configuration_id: str
    client_id: str
    credential_id: str
    report_type: str
    config: Mapping[str, Any]
    enabled: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Problems:
    """Validation reasons, ``field: reason``; empty when the input is acceptable."""

    reasons: tuple[str, ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.reasons)


def check_id(value: str, what: str) -> list[str]:
    """Reasons why ``value`` is not a valid identifier (empty when it is)."""
    if not ID_PATTERN.match(value):
        return [f"{what}: must be {ID_RULE}"]
    return []


def mask_secret(secret: str) -> str:
    """A hint that lets a person recognise a secret without revealing it.

    At most the last 4 characters are shown, and only for secrets of 16 characters or more
    (short secrets show nothing but their mask)."""
    if len(secret) >= 16:
        return "****" + secret[-4:]
    return "****"


def check_credential(provider: str, access: Mapping[str, Any], secret: str | None) -> list[str]:
    """Reasons why a credential of ``provider`` with these fields is not acceptable."""
    kind = PROVIDERS.get(provider)
    if kind is None:
        return [f"provider: must be one of {', '.join(sorted(PROVIDERS))}"]
    reasons: list[str] = []
    allowed = {*kind.required_access, *kind.optional_access}
    for name in sorted(set(access) - allowed):
        accepted = ", ".join(sorted(allowed)) or "none"
        reasons.append(
            f"access.{name}: not a field of {provider} credentials (accepted: {accepted})"
        )
    for name in kind.required_access:
        if not str(access.get(name) or "").strip():
            reasons.append(f"access.{name}: required for {provider} credentials")
    for name, value in access.items():
        if not isinstance(value, str):
            reasons.append(f"access.{name}: must be a string")
    if kind.secret_required and not secret:
        reasons.append(f"secret: the {kind.private_part} is required for {provider} credentials")
    if provider == "aws":
        has_key = bool(access.get("access_key_id"))
        if has_key and not secret:
            reasons.append("secret: the secret access key is required with access.access_key_id")
        if secret and not has_key:
            reasons.append("access.access_key_id: required when a secret access key is given")
        role = str(access.get("role_arn") or "")
        if role and not role.startswith("arn:aws:iam::"):
            reasons.append("access.role_arn: must be an IAM role ARN (arn:aws:iam::...)")
    return reasons


def check_configuration(
    report_type: str, config: Mapping[str, Any], credential_provider: str | None
) -> list[str]:
    """Reasons why ``{ReportType, Config}`` is not acceptable with a credential of
    ``credential_provider`` (None when the credential is unknown: checked elsewhere)."""
    info = REPORT_TYPES.get(report_type)
    if info is None:
        return [f"ReportType: must be one of {', '.join(sorted(REPORT_TYPES))}"]
    reasons: list[str] = []
    allowed = {*info.required_config, *info.optional_config}
    for name in sorted(set(config) - allowed):
        accepted = ", ".join(sorted(allowed))
        reasons.append(f"Config.{name}: not a setting of {report_type} (accepted: {accepted})")
    for name in info.required_config:
        if not str(config.get(name) or "").strip():
            reasons.append(f"Config.{name}: required for {report_type}")
    for name, value in config.items():
        if not isinstance(value, str):
            reasons.append(f"Config.{name}: must be a string")
    if report_type == "GCP_BILLING":
        sources = [k for k in ("path", "bucket", "gcs_bucket") if config.get(k)]
        if len(sources) != 1:
            reasons.append("Config: GCP_BILLING needs exactly one of path, bucket or gcs_bucket")
    if report_type == "GCP_BIGQUERY":
        reasons.extend(check_bigquery(config))
    if report_type == "AZURE_EXPORT":
        sources = [k for k in ("path", "bucket", "container") if config.get(k)]
        if len(sources) != 1:
            reasons.append("Config: AZURE_EXPORT needs exactly one of path, bucket or container")
        if config.get("container") and not (
            config.get("storage_account") or config.get("endpoint")
        ):
            reasons.append("Config.storage_account: required with container (or give endpoint)")
    endpoint = str(config.get("endpoint") or "")
    if endpoint and not endpoint.startswith(("http://", "https://")):
        reasons.append("Config.endpoint: must be an http:// or https:// URL")
    url = str(config.get("url") or "")
    if url and not url.startswith(("http://", "https://")):
        reasons.append("Config.url: must be an http:// or https:// URL")
    etl = config.get("etl_provider")
    if etl is not None and etl not in ETL_PROVIDERS:
        reasons.append(f"Config.etl_provider: must be one of {', '.join(ETL_PROVIDERS)}")
    if credential_provider is not None and credential_provider != info.provider:
        reasons.append(
            f"CredentialId: {report_type} needs a {info.provider} credential, "
            f"not a {credential_provider} one"
        )
    return reasons


def etl_provider_of(report_type: str, config: Mapping[str, Any]) -> str | None:
    """The ETL provider name for files of this configuration (None: detect from the header)."""
    explicit = config.get("etl_provider")
    if isinstance(explicit, str) and explicit:
        return explicit
    info = REPORT_TYPES.get(report_type)
    return info.etl_provider if info is not None else None


def upload_key(client_id: str, report_type: str, at: datetime, extension: str) -> str:
    """Where an uploaded file lands: ``<client>/<report type>/<UTC datetime>.<ext>``.

    The datetime is ISO 8601 basic format in UTC with microseconds, so keys sort by time and
    two uploads in the same second do not collide."""
    if at.tzinfo is None:
        raise ValueError("upload_key needs a timezone-aware datetime")
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    ext = extension.lstrip(".") or "csv"
    return f"{client_id}/{report_type}/{stamp}.{ext}"


def file_extension(name: str) -> str:
    """The extension of a source file name, keeping compression: ``a.csv.gz`` → ``csv.gz``."""
    base = name.rsplit("/", 1)[-1]
    parts = base.split(".")
    if len(parts) < 2:
        return "csv"
    if parts[-1].lower() in ("gz", "gzip", "zip", "zst", "bz2") and len(parts) >= 3:
        return f"{parts[-2].lower()}.{parts[-1].lower()}"
    return parts[-1].lower()
