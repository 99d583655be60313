"""The REST v1 proxy event and the Lambda proxy response rules."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.runtime.apigateway.events import (
    EventContext,
    HttpRequest,
    MalformedResponseError,
    build_proxy_event,
    proxy_response,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"
NOW = datetime(2020, 3, 10, 0, 3, 59, 428000, tzinfo=UTC)


def context(**overrides: Any) -> EventContext:
    values: dict[str, Any] = {
        "resource": "/items/{id}",
        "path_parameters": {"id": "42"},
        "stage": "Prod",
        "api_id": "abcdef1234",
        "account": "123456789012",
        "request_id": "77375676-xmpl-4b79-853a-f982474efe18",
        "extended_request_id": "JJbxmplHYosFVYQ=",
        "now": NOW,
    }
    values.update(overrides)
    return EventContext(**values)


def sample_request(**overrides: Any) -> HttpRequest:
    values: dict[str, Any] = {
        "method": "GET",
        "path": "/items/42",
        "query": "color=red&size=L&color=blue",
        "headers": [
            ("Accept", "application/json"),
            ("Host", "abcdef1234.execute-api.us-east-1.amazonaws.com"),
            ("User-Agent", "curl/8.5.0"),
            ("X-Tag", "a"),
            ("X-Tag", "b"),
        ],
        "source_ip": "52.255.255.12",
    }
    values.update(overrides)
    return HttpRequest(**values)


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    return type(value).__name__


def test_the_event_has_exactly_the_shape_of_a_real_rest_proxy_event() -> None:
    real = json.loads((EVENTS / "apigateway_rest_proxy_event.json").read_text())

    built = build_proxy_event(sample_request(), context())

    assert shape(built) == shape(real)
    ignored = {"resourceId"}
    assert {k: v for k, v in built["requestContext"].items() if k not in ignored} == {
        k: v for k, v in real["requestContext"].items() if k not in ignored
    }
    assert {k: v for k, v in built.items() if k != "requestContext"} == {
        k: v for k, v in real.items() if k != "requestContext"
    }


def test_single_value_maps_keep_the_last_value_and_multi_value_maps_keep_all() -> None:
    event = build_proxy_event(sample_request(), context())

    assert event["headers"]["X-Tag"] == "b"
    assert event["multiValueHeaders"]["X-Tag"] == ["a", "b"]
    assert event["queryStringParameters"]["color"] == "blue"
    assert event["multiValueQueryStringParameters"]["color"] == ["red", "blue"]


def test_empty_maps_and_an_empty_body_are_null() -> None:
    event = build_proxy_event(
        HttpRequest("POST", "/items"), context(resource="/items", path_parameters={})
    )

    for key in ("headers", "multiValueHeaders", "queryStringParameters", "pathParameters"):
        assert event[key] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False


def test_a_text_body_is_passed_as_text_and_a_binary_media_type_as_base64() -> None:
    text = build_proxy_event(
        sample_request(
            method="POST", body=b'{"a":1}', headers=[("Content-Type", "application/json")]
        ),
        context(binary_media_types=("image/png",)),
    )
    binary = build_proxy_event(
        sample_request(method="POST", body=b"\x89PNG", headers=[("Content-Type", "image/png")]),
        context(binary_media_types=("image/*",)),
    )

    assert (text["body"], text["isBase64Encoded"]) == ('{"a":1}', False)
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x89PNG"


def test_authorizer_api_key_and_stage_variables_reach_the_request_context() -> None:
    event = build_proxy_event(
        sample_request(),
        context(
            authorizer={"principalId": "alice", "tier": "gold"},
            api_key="k-1",
            api_key_id="id1",
            stage_variables={"env": "dev"},
        ),
    )

    assert event["requestContext"]["authorizer"] == {"principalId": "alice", "tier": "gold"}
    assert event["requestContext"]["identity"]["apiKey"] == "k-1"
    assert event["stageVariables"] == {"env": "dev"}


def test_a_well_formed_response_becomes_http_with_a_json_content_type_by_default() -> None:
    response = proxy_response({"statusCode": 201, "body": "created"})

    assert response.status == 201
    assert response.body == b"created"
    assert response.header("content-type") == "application/json"


def test_multi_value_headers_replace_single_headers_of_the_same_name() -> None:
    response = proxy_response(
        {
            "statusCode": "200",
            "headers": {"X-A": "single", "X-B": "b", "Content-Type": "text/plain"},
            "multiValueHeaders": {"X-A": ["m1", "m2"]},
        }
    )

    assert response.status == 200
    assert [v for k, v in response.headers if k == "X-A"] == ["m1", "m2"]
    assert response.header("X-B") == "b"


@pytest.mark.parametrize(
    "result",
    [
        None,
        "hello",
        {"body": "no status"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "extra": 1},
        {"statusCode": 200, "headers": {"X": {"nested": 1}}},
        {"statusCode": 200, "multiValueHeaders": {"X": "not-a-list"}},
        {"statusCode": 99},
        {"statusCode": True},
        {"statusCode": 200, "isBase64Encoded": "yes"},
    ],
)
def test_anything_but_a_proxy_response_is_malformed(result: Any) -> None:
    with pytest.raises(MalformedResponseError):
        proxy_response(result)


def test_a_base64_body_is_decoded_only_when_the_client_accepts_a_binary_media_type() -> None:
    result = {
        "statusCode": 200,
        "body": base64.b64encode(b"\x00\x01").decode(),
        "isBase64Encoded": True,
    }

    decoded = proxy_response(result, accept="image/png", binary_media_types=("image/png",))
    left_alone = proxy_response(result, accept="text/html", binary_media_types=("image/png",))

    assert decoded.body == b"\x00\x01"
    assert left_alone.body == result["body"].encode()
