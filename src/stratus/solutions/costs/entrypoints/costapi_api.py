"""Abstracted cost API: ``GET /clients/{clientId}/costs`` over the provider behind a credential.

Query string: ``credential`` (required), ``start``, ``end`` (YYYY-MM-DD, end exclusive),
``granularity`` (DAILY|MONTHLY), ``groupBy`` (service,account,region; at most two), ``cost``
(billed|effective). 400 with reasons for a bad query, 404 for an unknown client or credential,
502 with the provider's answer when the provider refuses or cannot be reached.
"""

from __future__ import annotations

from typing import Any

from stratus.platform.ports import PortError
from stratus.platform.restapi import error, path_param, query_param, respond
from stratus.solutions.costs import accounts, costapi
from stratus.solutions.costs.bootstrap import account_ports, cost_api_for


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Query the client's provider for costs in the common shape."""
    client_id = path_param(event, "clientId")
    credential_id = query_param(event, "credential")
    missing = [] if credential_id else ["credential: required (a CredentialId of the client)"]
    try:
        try:
            query = costapi.parse_query(
                query_param(event, "start"),
                query_param(event, "end"),
                query_param(event, "granularity"),
                query_param(event, "groupBy"),
                query_param(event, "cost"),
            )
        except costapi.CostQueryError as exc:
            raise costapi.CostQueryError(exc.reasons + missing) from None
        if credential_id is None:
            raise costapi.CostQueryError(missing)
        ports = account_ports()
        credential = accounts.get_credential(ports, client_id, credential_id)
        api = cost_api_for(credential, accounts.credential_secret(ports, credential))
        result = costapi.query_costs(api, query)
    except costapi.CostQueryError as exc:
        return error(400, "invalid query", exc.reasons)
    except accounts.MissingError as exc:
        return error(404, str(exc))
    except (costapi.ProviderError, PortError) as exc:
        return error(502, f"the provider's cost API failed: {exc}")
    return respond(200, result.as_dict())
