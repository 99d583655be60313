"""Use cases of the Credentials API: clients, credentials and configurations.

Single-table design (the credentials table, PK/SK + GSI1 on ``Data1``)::

    PK              SK                      Data1     what
    CLIENT#<id>     CLIENT                  CLIENTS   ClientId, Name, CreatedDt, UpdatedDt
    CLIENT#<id>     CREDENTIAL#<cred id>              Provider, Access, SecretName, SecretHint
    CLIENT#<id>     CONFIG#<config id>      CONFIGS   CredentialId, ReportType, Config, Enabled
    CLIENT#<id>     SEEN#<config id>#<src>            the uploader's memory of a source file

* every client: GSI1 ``Data1 = CLIENTS``; everything of one client: PK query with
  ``begins_with`` on SK.
* A credential's secret is stored in the SecretStore under ``costs/<client>/<credential>``; the
  table keeps only a masked hint. No function here returns a secret except
  :func:`credential_secret`, which the uploader uses.
* Writes are conditional (create = the key must not exist; a credential or configuration
  needs its client, a configuration its credential) so concurrent callers cannot corrupt the
  data; deleting something still referenced is refused (:class:`ConflictError`).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stratus.platform.ports import (
    Clock,
    ConditionFailedError,
    Exists,
    NotExists,
    NotFoundError,
    SecretStore,
    SortKeyCondition,
    TableStore,
)
from stratus.platform.ports.table import ConditionCheck, Item, Put
from stratus.solutions.costs.domain.accounts import (
    Client,
    Configuration,
    Credential,
    check_configuration,
    check_credential,
    check_id,
    mask_secret,
)

CLIENTS = "CLIENTS"
CONFIGS = "CONFIGS"


class AccountsError(Exception):
    """Base of the Credentials API's errors."""


class InvalidInputError(AccountsError):
    """The input is not acceptable; ``reasons`` say why (HTTP 400)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class MissingError(AccountsError):
    """The thing asked for does not exist (HTTP 404)."""


class ConflictError(AccountsError):
    """The request conflicts with what is stored (HTTP 409)."""


@dataclass(frozen=True)
class AccountPorts:
    """What the use cases need."""

    table: TableStore
    secrets: SecretStore
    clock: Clock


# ---- keys and item mapping -----------------------------------------------------------------


def client_key(client_id: str) -> dict[str, str]:
    return {"PK": f"CLIENT#{client_id}", "SK": "CLIENT"}


def credential_key(client_id: str, credential_id: str) -> dict[str, str]:
    return {"PK": f"CLIENT#{client_id}", "SK": f"CREDENTIAL#{credential_id}"}


def configuration_key(client_id: str, configuration_id: str) -> dict[str, str]:
    return {"PK": f"CLIENT#{client_id}", "SK": f"CONFIG#{configuration_id}"}


def secret_name(client_id: str, credential_id: str) -> str:
    """The SecretStore name of a credential's secret."""
    return f"costs/{client_id}/{credential_id}"


def _when(text: Any) -> datetime:
    moment = datetime.fromisoformat(str(text))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _client(item: Item) -> Client:
    return Client(
        client_id=str(item["ClientId"]),
        name=str(item["Name"]),
        created_at=_when(item["CreatedDt"]),
        updated_at=_when(item["UpdatedDt"]),
    )


def _credential(item: Item) -> Credential:
    return Credential(
        credential_id=str(item["CredentialId"]),
        client_id=str(item["ClientId"]),
        provider=str(item["Provider"]),
        access={str(k): str(v) for k, v in (item.get("Access") or {}).items()},
        has_secret=bool(item.get("HasSecret")),
        secret_hint=item.get("SecretHint"),
        created_at=_when(item["CreatedDt"]),
        updated_at=_when(item["UpdatedDt"]),
    )


def _configuration(item: Item) -> Configuration:
    return Configuration(
        configuration_id=str(item["ConfigurationId"]),
        client_id=str(item["ClientId"]),
        credential_id=str(item["CredentialId"]),
        report_type=str(item["ReportType"]),
        config=dict(item.get("Config") or {}),
        enabled=bool(item.get("Enabled", True)),
        created_at=_when(item["CreatedDt"]),
        updated_at=_when(item["UpdatedDt"]),
    )


def _query_all(table: TableStore, partition: str, **kwargs: Any) -> Iterator[Item]:
    token: str | None = None
    while True:
        page = table.query(partition, start=token, **kwargs)
        yield from page.items
        token = page.next_token
        if token is None:
            return


def _new_id(given: str | None, what: str) -> str:
    if given is None:
        return uuid.uuid4().hex[:12]
    reasons = check_id(given, what)
    if reasons:
        raise InvalidInputError(reasons)
    return given


def _check_name(name: str) -> None:
    if not name.strip() or len(name) > 200:
        raise InvalidInputError(["Name: must be 1-200 characters, not only spaces"])


# ---- clients --------------------------------------------------------------------------------


def create_client(ports: AccountPorts, name: str, client_id: str | None = None) -> Client:
    """Create a client; ConflictError when the id is taken."""
    _check_name(name)
    cid = _new_id(client_id, "ClientId")
    now = ports.clock.now().isoformat()
    item = {
        **client_key(cid),
        "Data1": CLIENTS,
        "ClientId": cid,
        "Name": name.strip(),
        "CreatedDt": now,
        "UpdatedDt": now,
    }
    try:
        ports.table.put(item, condition=NotExists("PK"))
    except ConditionFailedError:
        raise ConflictError(f"client {cid} already exists") from None
    return _client(item)


def get_client(ports: AccountPorts, client_id: str) -> Client:
    """The client; MissingError when there is none."""
    item = ports.table.get(client_key(client_id))
    if item is None:
        raise MissingError(f"client {client_id} not found")
    return _client(item)


def list_clients(ports: AccountPorts) -> list[Client]:
    """Every client, by id."""
    items = _query_all(ports.table, CLIENTS, index="GSI1")
    return sorted((_client(i) for i in items), key=lambda c: c.client_id)


def update_client(ports: AccountPorts, client_id: str, name: str) -> Client:
    """Rename a client; MissingError when there is none."""
    _check_name(name)
    try:
        item = ports.table.update(
            client_key(client_id),
            set={"Name": name.strip(), "UpdatedDt": ports.clock.now().isoformat()},
            condition=Exists("PK"),
        )
    except ConditionFailedError:
        raise MissingError(f"client {client_id} not found") from None
    return _client(item)


def delete_client(ports: AccountPorts, client_id: str) -> None:
    """Delete a client that has no credentials and no configurations left (else 409)."""
    get_client(ports, client_id)
    children = [
        i
        for i in _query_all(ports.table, f"CLIENT#{client_id}")
        if str(i["SK"]).startswith(("CREDENTIAL#", "CONFIG#"))
    ]
    if children:
        raise ConflictError(
            f"client {client_id} still has {len(children)} credential(s)/configuration(s): "
            "delete them first"
        )
    # the upload memory of a client goes with it
    for item in _query_all(
        ports.table, f"CLIENT#{client_id}", sort=SortKeyCondition.begins_with("SEEN#")
    ):
        ports.table.delete({"PK": item["PK"], "SK": item["SK"]})
    ports.table.delete(client_key(client_id))


# ---- credentials ----------------------------------------------------------------------------


def create_credential(
    ports: AccountPorts,
    client_id: str,
    provider: str,
    access: Mapping[str, Any],
    secret: str | None,
    credential_id: str | None = None,
) -> Credential:
    """Store a credential; its secret goes to the SecretStore, the table keeps a mask."""
    reasons = check_credential(provider, access, secret)
    if reasons:
        raise InvalidInputError(reasons)
    cred_id = _new_id(credential_id, "CredentialId")
    get_client(ports, client_id)
    now = ports.clock.now().isoformat()
    name = secret_name(client_id, cred_id)
    item: Item = {
        **credential_key(client_id, cred_id),
        "CredentialId": cred_id,
        "ClientId": client_id,
        "Provider": provider,
        "Access": {k: str(v) for k, v in access.items()},
        "HasSecret": bool(secret),
        "SecretHint": mask_secret(secret) if secret else None,
        "SecretName": name if secret else None,
        "CreatedDt": now,
        "UpdatedDt": now,
    }
    if ports.table.get(credential_key(client_id, cred_id)) is not None:
        raise ConflictError(f"credential {cred_id} already exists for client {client_id}")
    if secret:
        ports.secrets.put(name, secret)  # first: an orphan secret is harmless, a dangling item not
    try:
        ports.table.transact_write(
            [
                ConditionCheck(client_key(client_id), Exists("PK")),
                Put(item, NotExists("PK")),
            ]
        )
    except ConditionFailedError:
        raise ConflictError(
            f"credential {cred_id} cannot be created: it exists or client {client_id} was deleted"
        ) from None
    return _credential(item)


def _credential_item(ports: AccountPorts, client_id: str, credential_id: str) -> Item:
    item = ports.table.get(credential_key(client_id, credential_id))
    if item is None:
        raise MissingError(f"credential {credential_id} of client {client_id} not found")
    return item


def get_credential(ports: AccountPorts, client_id: str, credential_id: str) -> Credential:
    """The credential (masked); MissingError when there is none."""
    return _credential(_credential_item(ports, client_id, credential_id))


def list_credentials(ports: AccountPorts, client_id: str) -> list[Credential]:
    """The client's credentials (masked); MissingError for an unknown client."""
    get_client(ports, client_id)
    items = _query_all(
        ports.table, f"CLIENT#{client_id}", sort=SortKeyCondition.begins_with("CREDENTIAL#")
    )
    return [_credential(i) for i in items]


def update_credential(
    ports: AccountPorts,
    client_id: str,
    credential_id: str,
    access: Mapping[str, Any],
    secret: str | None,
    provider: str | None = None,
) -> Credential:
    """Replace the access fields; a new ``secret`` replaces the stored one (None keeps it)."""
    current = _credential(_credential_item(ports, client_id, credential_id))
    if provider is not None and provider != current.provider:
        raise InvalidInputError(
            [f"Provider: a credential's provider cannot change ({current.provider})"]
        )
    kept_secret = "kept" if current.has_secret and not secret else secret
    reasons = check_credential(current.provider, access, kept_secret)
    if reasons:
        raise InvalidInputError(reasons)
    name = secret_name(client_id, credential_id)
    changes: dict[str, Any] = {
        "Access": {k: str(v) for k, v in access.items()},
        "UpdatedDt": ports.clock.now().isoformat(),
    }
    if secret:
        ports.secrets.put(name, secret)
        changes.update({"HasSecret": True, "SecretHint": mask_secret(secret), "SecretName": name})
    try:
        item = ports.table.update(
            credential_key(client_id, credential_id), set=changes, condition=Exists("PK")
        )
    except ConditionFailedError:
        raise MissingError(f"credential {credential_id} of client {client_id} not found") from None
    return _credential(item)


def delete_credential(ports: AccountPorts, client_id: str, credential_id: str) -> None:
    """Delete a credential no configuration uses (else 409), and its secret."""
    item = _credential_item(ports, client_id, credential_id)
    users = [
        c.configuration_id
        for c in list_configurations(ports, client_id)
        if c.credential_id == credential_id
    ]
    if users:
        raise ConflictError(
            f"credential {credential_id} is used by configuration(s) {', '.join(users)}"
        )
    ports.table.delete(credential_key(client_id, credential_id))
    if item.get("SecretName"):
        with contextlib.suppress(NotFoundError):
            ports.secrets.delete(str(item["SecretName"]))


def credential_secret(ports: AccountPorts, credential: Credential) -> str | None:
    """The plaintext secret of a credential, for the uploader only; never for an API answer."""
    if not credential.has_secret:
        return None
    return ports.secrets.get(secret_name(credential.client_id, credential.credential_id))


# ---- configurations -------------------------------------------------------------------------


def _check_configuration(
    ports: AccountPorts,
    client_id: str,
    credential_id: str,
    report_type: str,
    config: Mapping[str, Any],
) -> None:
    cred = ports.table.get(credential_key(client_id, credential_id))
    reasons = check_configuration(
        report_type, config, None if cred is None else str(cred["Provider"])
    )
    if cred is None:
        reasons.append(f"CredentialId: client {client_id} has no credential {credential_id}")
    if reasons:
        raise InvalidInputError(reasons)


def create_configuration(
    ports: AccountPorts,
    client_id: str,
    credential_id: str,
    report_type: str,
    config: Mapping[str, Any],
    *,
    enabled: bool = True,
    configuration_id: str | None = None,
) -> Configuration:
    """Store ``{ReportType, Config}`` for a client, using one of its credentials."""
    config_id = _new_id(configuration_id, "ConfigurationId")
    get_client(ports, client_id)
    _check_configuration(ports, client_id, credential_id, report_type, config)
    now = ports.clock.now().isoformat()
    item: Item = {
        **configuration_key(client_id, config_id),
        "Data1": CONFIGS,
        "ConfigurationId": config_id,
        "ClientId": client_id,
        "CredentialId": credential_id,
        "ReportType": report_type,
        "Config": dict(config),
        "Enabled": enabled,
        "CreatedDt": now,
        "UpdatedDt": now,
    }
    try:
        ports.table.transact_write(
            [
                ConditionCheck(credential_key(client_id, credential_id), Exists("PK")),
                Put(item, NotExists("PK")),
            ]
        )
    except ConditionFailedError:
        if ports.table.get(configuration_key(client_id, config_id)) is not None:
            raise ConflictError(f"configuration {config_id} already exists") from None
        raise ConflictError(f"credential {credential_id} was deleted meanwhile") from None
    return _configuration(item)


def get_configuration(ports: AccountPorts, client_id: str, configuration_id: str) -> Configuration:
    """The configuration; MissingError when there is none."""
    item = ports.table.get(configuration_key(client_id, configuration_id))
    if item is None:
        raise MissingError(f"configuration {configuration_id} of client {client_id} not found")
    return _configuration(item)


def list_configurations(ports: AccountPorts, client_id: str) -> list[Configuration]:
    """Every configuration of the client; MissingError for an unknown client."""
    get_client(ports, client_id)
    items = _query_all(
        ports.table, f"CLIENT#{client_id}", sort=SortKeyCondition.begins_with("CONFIG#")
    )
    return [_configuration(i) for i in items]


def update_configuration(
    ports: AccountPorts,
    client_id: str,
    configuration_id: str,
    credential_id: str,
    report_type: str,
    config: Mapping[str, Any],
    *,
    enabled: bool = True,
) -> Configuration:
    """Replace a configuration's credential, type, settings and switch."""
    get_configuration(ports, client_id, configuration_id)
    _check_configuration(ports, client_id, credential_id, report_type, config)
    try:
        item = ports.table.update(
            configuration_key(client_id, configuration_id),
            set={
                "CredentialId": credential_id,
                "ReportType": report_type,
                "Config": dict(config),
                "Enabled": enabled,
                "UpdatedDt": ports.clock.now().isoformat(),
            },
            condition=Exists("PK"),
        )
    except ConditionFailedError:
        raise MissingError(f"configuration {configuration_id} not found") from None
    return _configuration(item)


def delete_configuration(ports: AccountPorts, client_id: str, configuration_id: str) -> None:
    """Delete a configuration and the uploader's memory of its files; MissingError when there
    is none."""
    try:
        ports.table.delete(configuration_key(client_id, configuration_id), condition=Exists("PK"))
    except ConditionFailedError:
        raise MissingError(
            f"configuration {configuration_id} of client {client_id} not found"
        ) from None
    seen = SortKeyCondition.begins_with(f"SEEN#{configuration_id}#")
    for item in list(_query_all(ports.table, f"CLIENT#{client_id}", sort=seen)):
        ports.table.delete({"PK": item["PK"], "SK": item["SK"]})


def all_configurations(ports: AccountPorts) -> list[tuple[Client, list[Configuration]]]:
    """Every client with its enabled configurations (the uploader's plan)."""
    plan = []
    for client in list_clients(ports):
        configs = [c for c in list_configurations(ports, client.client_id) if c.enabled]
        plan.append((client, configs))
    return plan
