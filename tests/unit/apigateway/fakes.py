"""Fakes for the local API Gateway tests: a tiny in-memory Lambda service and policies."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Handler = Callable[[dict[str, Any]], Any]


class FunctionError(Exception):
    """What a runtime's ``invoke`` raises when the handler fails (message = errorMessage)."""


class FakeFunctions:
    """Functions by logical id; records every event, like a tiny Lambda service."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def register(self, name: str, handler: Handler) -> None:
        self.handlers[name] = handler

    def __call__(self, name: str, event: dict[str, Any]) -> Any:
        self.calls.append((name, event))
        return self.handlers[name](event)

    def events_of(self, name: str) -> list[dict[str, Any]]:
        return [event for called, event in self.calls if called == name]


def ok(body: Any = None, status: int = 200, **headers: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **headers},
        "body": json.dumps(body if body is not None else {"ok": True}),
    }


def policy(
    effect: str, resource: str | list[str], *, principal: str = "user-1", **context: Any
) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context,
    }


def token_authorizer(event: dict[str, Any]) -> Any:
    """``Bearer allow`` allows the called methodArn only; ``deny`` denies; ``bad`` fails."""
    token = event["authorizationToken"].removeprefix("Bearer ")
    if token == "allow":
        return policy("Allow", event["methodArn"], principal="alice", tier="gold", admin=True)
    if token == "allow-all":
        arn_prefix = event["methodArn"].split("/")[0]
        return policy("Allow", f"{arn_prefix}/*", principal="root")
    if token == "deny":
        return policy("Deny", event["methodArn"])
    if token == "unauthorized":
        raise FunctionError("Unauthorized")
    if token == "malformed":
        return {"principalId": "x"}
    raise FunctionError("boom")
