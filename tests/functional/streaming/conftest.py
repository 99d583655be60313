"""Handlers invoked by the local runtime with real API Gateway REST proxy events."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stratus.platform import connect
from stratus.platform.runtime.app import LocalRuntime

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "src" / "stratus" / "solutions" / "streaming" / "infra" / "template.yaml"
EVENTS = REPO / "tests" / "events"
BASE_EVENT = json.loads((EVENTS / "apigateway_rest_proxy_event.json").read_text())


def api_event(
    method: str, resource: str, *, body: Any = None, token: str | None = None,
    query: dict[str, str] | None = None, raw_body: str | None = None, **params: str,
) -> dict[str, Any]:
    """A REST proxy event for ``resource`` with its path parameters filled in."""
    event = copy.deepcopy(BASE_EVENT)
    path = re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], resource)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    event.update(
        resource=resource, path=path, httpMethod=method, headers=headers,
        multiValueHeaders={k: [v] for k, v in headers.items()},
        queryStringParameters=query, pathParameters=params or None,
        body=raw_body if raw_body is not None else (None if body is None else json.dumps(body)),
        isBase64Encoded=False,
    )
    event["requestContext"].update(resourcePath=resource, httpMethod=method, path=path)
    return event


class Api:
    """Calls the functions the template routes each resource to."""

    ROUTES = {"/auth": "AccountsFunction", "/me": "AccountsFunction",
              "/products": "ShopFunction", "/orders": "ShopFunction",
              "/pairing-codes": "DevicesFunction", "/devices": "DevicesFunction",
              "/admin": "AdminFunction"}

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime

    def __call__(self, method: str, resource: str, **kwargs: Any) -> tuple[int, Any]:
        first = "/" + resource.strip("/").split("/")[0]
        function = self.ROUTES.get(first, "ChannelsFunction")
        result = self.runtime.invoke(function, api_event(method, resource, **kwargs))
        body = json.loads(result["body"]) if result.get("body") else None
        return int(result["statusCode"]), body


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    rt = LocalRuntime([TEMPLATE], home=tmp_path / "home", port=0)
    connect.install(rt.resources)
    try:
        yield rt
    finally:
        connect.install(None)
        rt.stop()


@pytest.fixture
def api(runtime: LocalRuntime) -> Api:
    from stratus.solutions.streaming.domain.orders import Product
    from stratus.solutions.streaming.store import Store

    table = runtime.apps[0].tables["StreamingTable"].spec.name
    Store(runtime.resources.table(table)).put_product(Product("box", "Stratus Box", 29900))
    return Api(runtime)
