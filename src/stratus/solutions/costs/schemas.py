"""API bodies of the costs APIs (pydantic v2, the edge): what clients send and receive.

Field names follow the spec's entities (``ClientId``, ``Name``, ``CredentialId``, ``Access``,
``ReportType``, ``Config``, ``CreatedDt``, ``UpdatedDt``); ``Config`` is a reserved name in
pydantic, so models call that field ``Settings`` with the alias ``Config`` (dump with
``by_alias=True``). Unknown fields are refused so a
typo is a 400 with a reason, not silently ignored. A credential's ``Secret`` is write-only:
no response model has it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from stratus.solutions.costs.domain.accounts import Client, Configuration, Credential

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreateClient(BaseModel):
    model_config = _STRICT
    ClientId: str | None = Field(default=None, min_length=1, max_length=64)
    Name: str = Field(min_length=1, max_length=200)


class UpdateClient(BaseModel):
    model_config = _STRICT
    Name: str = Field(min_length=1, max_length=200)


class CreateCredential(BaseModel):
    model_config = _STRICT
    CredentialId: str | None = Field(default=None, min_length=1, max_length=64)
    Provider: str = Field(min_length=1, max_length=20)
    Access: dict[str, str] = Field(default_factory=dict)
    Secret: str | None = Field(default=None, min_length=1, max_length=16_384)


class UpdateCredential(BaseModel):
    model_config = _STRICT
    Provider: str | None = None
    Access: dict[str, str] = Field(default_factory=dict)
    Secret: str | None = Field(default=None, min_length=1, max_length=16_384)


class CreateConfiguration(BaseModel):
    model_config = _STRICT
    ConfigurationId: str | None = Field(default=None, min_length=1, max_length=64)
    CredentialId: str = Field(min_length=1, max_length=64)
    ReportType: str = Field(min_length=1, max_length=40)
    Settings: dict[str, Any] = Field(default_factory=dict, alias="Config")
    Enabled: bool = True


class UpdateConfiguration(BaseModel):
    model_config = _STRICT
    CredentialId: str = Field(min_length=1, max_length=64)
    ReportType: str = Field(min_length=1, max_length=40)
    Settings: dict[str, Any] = Field(default_factory=dict, alias="Config")
    Enabled: bool = True


class ClientOut(BaseModel):
    ClientId: str
    Name: str
    CreatedDt: datetime
    UpdatedDt: datetime

    @classmethod
    def of(cls, client: Client) -> ClientOut:
        return cls(
            ClientId=client.client_id,
            Name=client.name,
            CreatedDt=client.created_at,
            UpdatedDt=client.updated_at,
        )


class CredentialOut(BaseModel):
    """A credential as the API shows it: the secret is only ``HasSecret`` and a mask."""

    CredentialId: str
    ClientId: str
    Provider: str
    Access: dict[str, str]
    HasSecret: bool
    SecretHint: str | None
    CreatedDt: datetime
    UpdatedDt: datetime

    @classmethod
    def of(cls, cred: Credential) -> CredentialOut:
        return cls(
            CredentialId=cred.credential_id,
            ClientId=cred.client_id,
            Provider=cred.provider,
            Access=dict(cred.access),
            HasSecret=cred.has_secret,
            SecretHint=cred.secret_hint,
            CreatedDt=cred.created_at,
            UpdatedDt=cred.updated_at,
        )


class ConfigurationOut(BaseModel):
    """A configuration as the API shows it (``Config`` is the JSON field name)."""

    ConfigurationId: str
    ClientId: str
    CredentialId: str
    ReportType: str
    Settings: dict[str, Any] = Field(alias="Config")
    Enabled: bool
    CreatedDt: datetime
    UpdatedDt: datetime

    @classmethod
    def of(cls, conf: Configuration) -> ConfigurationOut:
        return cls(
            ConfigurationId=conf.configuration_id,
            ClientId=conf.client_id,
            CredentialId=conf.credential_id,
            ReportType=conf.report_type,
            Config=dict(conf.config),  # the alias of Settings
            Enabled=conf.enabled,
            CreatedDt=conf.created_at,
            UpdatedDt=conf.updated_at,
        )
