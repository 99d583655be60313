"""Per-route metrics and the SAM-style CORS preflight."""

from __future__ import annotations

import json

from stratus.platform.runtime.apigateway.cors import allowed_methods, preflight, with_origin
from stratus.platform.runtime.apigateway.events import HttpResponse
from stratus.platform.runtime.apigateway.metrics import GatewayMetrics, percentile
from stratus.platform.runtime.apigateway.model import CorsSpec


def test_percentiles_use_the_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]

    assert percentile(samples, 50) == 50
    assert percentile(samples, 99) == 99
    assert percentile([7.0], 90) == 7
    assert percentile([], 50) is None


def test_metrics_count_errors_cache_outcomes_and_throttling_per_route() -> None:
    metrics = GatewayMetrics()
    metrics.record("GET /a", 200, 0.002, integration_s=0.001, cache="miss")
    metrics.record("GET /a", 200, 0.001, cache="hit")
    metrics.record("GET /a", 429, 0.001, throttled=True)
    metrics.record("GET /a", 502, 0.003, integration_s=0.002)

    snapshot = json.loads(json.dumps(metrics.snapshot()))
    route = snapshot["routes"]["GET /a"]

    assert (route["count"], route["4xx"], route["5xx"]) == (4, 1, 1)
    assert (route["cache_hits"], route["cache_misses"], route["throttled"]) == (1, 1, 1)
    assert route["latency_ms"]["p99"] == 3.0
    assert route["integration_latency_ms"]["p50"] == 1.0


def test_a_preflight_answers_with_the_configured_allow_headers() -> None:
    cors = CorsSpec(
        allow_origin="https://app.example",
        allow_headers=("Authorization", "Content-Type"),
        max_age=600,
    )

    response = preflight(cors, ["GET", "POST"])

    assert response.status == 200
    assert response.body == b""
    assert response.header("Access-Control-Allow-Origin") == "https://app.example"
    assert response.header("Access-Control-Allow-Methods") == "GET,OPTIONS,POST"
    assert response.header("Access-Control-Allow-Headers") == "Authorization,Content-Type"
    assert response.header("Access-Control-Max-Age") == "600"


def test_any_expands_to_every_method_and_an_explicit_list_is_used_as_is() -> None:
    assert allowed_methods(CorsSpec(), ["ANY"]) == "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"
    assert allowed_methods(CorsSpec(allow_methods=("GET", "PUT")), ["ANY"]) == "GET,PUT"


def test_the_origin_header_is_added_unless_the_function_set_one() -> None:
    cors = CorsSpec(allow_origin="*", allow_credentials=True)

    added = with_origin(cors, HttpResponse(200))
    kept = with_origin(cors, HttpResponse(200, [("Access-Control-Allow-Origin", "https://x")]))

    assert added.header("Access-Control-Allow-Origin") == "*"
    assert added.header("Access-Control-Allow-Credentials") == "true"
    assert kept.header("Access-Control-Allow-Origin") == "https://x"
