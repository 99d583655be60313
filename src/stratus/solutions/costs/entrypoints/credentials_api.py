"""Credentials API (REST, API key required): clients, credentials and configurations.

Thin: the route is picked from ``(httpMethod, resource)``, the body validated with pydantic,
the use case in :mod:`stratus.solutions.costs.accounts` called, its errors mapped to 400 (with
reasons), 404 and 409. Secrets are accepted on create/update and never returned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stratus.platform.restapi import BadRequestError, error, parse_body, path_param, respond
from stratus.solutions.costs import accounts, schemas
from stratus.solutions.costs.bootstrap import account_ports

Route = Callable[[dict[str, Any]], dict[str, Any]]
CLIENT = "/clients/{clientId}"
CREDENTIALS = f"{CLIENT}/credentials"
CREDENTIAL = f"{CREDENTIALS}/{{credentialId}}"
CONFIGURATIONS = f"{CLIENT}/configurations"
CONFIGURATION = f"{CONFIGURATIONS}/{{configurationId}}"


def _cid(event: dict[str, Any]) -> str:
    return path_param(event, "clientId")


# ---- clients --------------------------------------------------------------------------------


def _create_client(event: dict[str, Any]) -> dict[str, Any]:
    body = parse_body(event, schemas.CreateClient)
    client = accounts.create_client(account_ports(), body.Name, body.ClientId)
    return respond(201, schemas.ClientOut.of(client).model_dump(mode="json"))


def _list_clients(event: dict[str, Any]) -> dict[str, Any]:
    clients = accounts.list_clients(account_ports())
    return respond(
        200, {"Clients": [schemas.ClientOut.of(c).model_dump(mode="json") for c in clients]}
    )


def _get_client(event: dict[str, Any]) -> dict[str, Any]:
    client = accounts.get_client(account_ports(), _cid(event))
    return respond(200, schemas.ClientOut.of(client).model_dump(mode="json"))


def _update_client(event: dict[str, Any]) -> dict[str, Any]:
    body = parse_body(event, schemas.UpdateClient)
    client = accounts.update_client(account_ports(), _cid(event), body.Name)
    return respond(200, schemas.ClientOut.of(client).model_dump(mode="json"))


def _delete_client(event: dict[str, Any]) -> dict[str, Any]:
    accounts.delete_client(account_ports(), _cid(event))
    return respond(204, None)


# ---- credentials ----------------------------------------------------------------------------


def _create_credential(event: dict[str, Any]) -> dict[str, Any]:
    body = parse_body(event, schemas.CreateCredential)
    cred = accounts.create_credential(
        account_ports(), _cid(event), body.Provider, body.Access, body.Secret, body.CredentialId
    )
    return respond(201, schemas.CredentialOut.of(cred).model_dump(mode="json"))


def _list_credentials(event: dict[str, Any]) -> dict[str, Any]:
    creds = accounts.list_credentials(account_ports(), _cid(event))
    return respond(
        200, {"Credentials": [schemas.CredentialOut.of(c).model_dump(mode="json") for c in creds]}
    )


def _get_credential(event: dict[str, Any]) -> dict[str, Any]:
    cred = accounts.get_credential(account_ports(), _cid(event), path_param(event, "credentialId"))
    return respond(200, schemas.CredentialOut.of(cred).model_dump(mode="json"))


def _update_credential(event: dict[str, Any]) -> dict[str, Any]:
    body = parse_body(event, schemas.UpdateCredential)
    cred = accounts.update_credential(
        account_ports(),
        _cid(event),
        path_param(event, "credentialId"),
        body.Access,
        body.Secret,
        body.Provider,
    )
    return respond(200, schemas.CredentialOut.of(cred).model_dump(mode="json"))


def _delete_credential(event: dict[str, Any]) -> dict[str, Any]:
    accounts.delete_credential(account_ports(), _cid(event), path_param(event, "credentialId"))
    return respond(204, None)


# ---- configurations -------------------------------------------------------------------------


def _create_configuration(event: dict[str, Any]) -> dict[str, Any]:
    body = parse_body(event, schemas.CreateConfiguration)
    conf = accounts.create_configuration(
        account_ports(),
        _cid(event),
        body.CredentialId,
        body.ReportType,
        body.Settings,
        enabled=body.Enabled,
        configuration_id=body.ConfigurationId,
    )
    return respond(201, schemas.ConfigurationOut.of(conf).model_dump(mode="json", by_alias=True))


def _list_configurations(event: dict[str, Any]) -> dict[str, Any]:
    confs = accounts.list_configurations(account_ports(), _cid(event))
    return respond(
        200,
        {
            "Configurations": [
                schemas.ConfigurationOut.of(c).model_dump(mode="json", by_alias=True) for c in confs
            ]
        },
    )


def _get_configuration(event: dict[str, Any]) -> dict[str, Any]:
    conf = accounts.get_configuration(
        account_ports(), _cid(event), path_param(event, "configurationId")
    )
    return respond(200, schemas.ConfigurationOut.of(conf).model_dump(mode="json", by_alias=True))


def _update_configuration(event: dict[str, Any]) -> dict[str, Any]:
    body = parse_body(event, schemas.UpdateConfiguration)
    conf = accounts.update_configuration(
        account_ports(),
        _cid(event),
        path_param(event, "configurationId"),
        body.CredentialId,
        body.ReportType,
        body.Settings,
        enabled=body.Enabled,
    )
    return respond(200, schemas.ConfigurationOut.of(conf).model_dump(mode="json", by_alias=True))


def _delete_configuration(event: dict[str, Any]) -> dict[str, Any]:
    accounts.delete_configuration(
        account_ports(), _cid(event), path_param(event, "configurationId")
    )
    return respond(204, None)


ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "/clients"): _create_client,
    ("GET", "/clients"): _list_clients,
    ("GET", CLIENT): _get_client,
    ("PUT", CLIENT): _update_client,
    ("DELETE", CLIENT): _delete_client,
    ("POST", CREDENTIALS): _create_credential,
    ("GET", CREDENTIALS): _list_credentials,
    ("GET", CREDENTIAL): _get_credential,
    ("PUT", CREDENTIAL): _update_credential,
    ("DELETE", CREDENTIAL): _delete_credential,
    ("POST", CONFIGURATIONS): _create_configuration,
    ("GET", CONFIGURATIONS): _list_configurations,
    ("GET", CONFIGURATION): _get_configuration,
    ("PUT", CONFIGURATION): _update_configuration,
    ("DELETE", CONFIGURATION): _delete_configuration,
}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Every Credentials API route."""
    route = ROUTES.get((str(event.get("httpMethod", "")).upper(), str(event.get("resource", ""))))
    if route is None:
        return error(404, f"no route {event.get('httpMethod')} {event.get('resource')}")
    try:
        return route(event)
    except BadRequestError as exc:
        return error(400, "invalid request", exc.reasons)
    except accounts.InvalidInputError as exc:
        return error(400, "invalid request", exc.reasons)
    except accounts.MissingError as exc:
        return error(404, str(exc))
    except accounts.ConflictError as exc:
        return error(409, str(exc))
