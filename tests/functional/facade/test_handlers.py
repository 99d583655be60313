"""The real handlers with real API Gateway event JSON: the TOKEN authorizer and the facade
API, over a real database and the legacy API on loopback."""

from __future__ import annotations

import json

import pytest

from stratus.solutions.facade import bootstrap
from stratus.solutions.facade.entrypoints import api, authorizer
from tests.functional.facade.conftest import event
from tests.unit.facade.helpers import down_database_url


def call(ev):
    response = api.lambda_handler(ev, None)
    headers = dict(response.get("headers") or {})
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name] = values[-1]
    return response["statusCode"], json.loads(response["body"]), headers


def overview(customer_id: str = "C1", token: str = "alice-demo-token"):
    ev = event("overview_request")
    ev["path"] = f"/customers/{customer_id}/overview"
    ev["pathParameters"] = {"customerId": customer_id}
    ev["headers"]["Authorization"] = f"Bearer {token}"
    return ev


def notes(method: str, customer_id: str = "C1", body: str | None = None):
    ev = overview(customer_id)
    ev.update(
        resource="/customers/{customerId}/notes",
        path=f"/customers/{customer_id}/notes",
        httpMethod=method,
        body=body,
    )
    ev["headers"]["Content-Type"] = "application/json"
    return ev


# ---- authorizer -----------------------------------------------------------------------------


def test_a_valid_token_gets_a_policy_and_the_user_in_its_context(legacy) -> None:
    answer = authorizer.lambda_handler(event("token_authorizer"), None)

    assert answer["principalId"] == "1"
    assert answer["context"]["username"] == "alice"
    resources = answer["policyDocument"]["Statement"][0]["Resource"]
    assert "arn:aws:execute-api:eu-central-1:123456789012:abc123/dev/POST/customers/*/notes" in (
        resources
    )


@pytest.mark.parametrize(
    "header",
    ["Bearer never-issued", "Bearer dave-demo-token", "alice-demo-token", "Bearer ", ""],
    ids=["unknown", "expired", "no-scheme", "empty-token", "empty"],
)
def test_unknown_expired_and_malformed_tokens_are_unauthorized(legacy, header) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.lambda_handler(event("token_authorizer", authorizationToken=header), None)


def test_a_revoked_token_is_denied_everything(legacy) -> None:
    answer = authorizer.lambda_handler(
        event("token_authorizer", authorizationToken="Bearer carol-demo-token"), None
    )
    assert answer["policyDocument"]["Statement"] == [
        {
            "Action": "execute-api:Invoke",
            "Effect": "Deny",
            "Resource": "arn:aws:execute-api:eu-central-1:123456789012:abc123/dev/*",
        }
    ]


def test_with_the_database_down_the_authorizer_fails_with_its_own_error(
    legacy, monkeypatch
) -> None:
    monkeypatch.setenv("WRITER_URL", down_database_url())
    with pytest.raises(authorizer.AuthorizerUnavailableError):
        authorizer.lambda_handler(event("token_authorizer"), None)


# ---- facade API ---------------------------------------------------------------------------


def test_the_overview_combines_legacy_and_database_data(legacy) -> None:
    status, body, _ = call(overview())

    assert status == 200
    assert body["partial"] is False
    assert body["profile"]["id"] == "C1"
    assert body["orderSummary"]["count"] == len(body["orders"])
    assert body["loyalty"] is not None


def test_a_failing_legacy_api_gives_a_partial_answer_not_an_error(legacy) -> None:
    legacy.set_faults(error_rate=1.0)

    status, body, _ = call(overview())

    assert status == 200
    assert body["partial"] is True
    assert {e["source"] for e in body["errors"]} == {"legacy.customer", "legacy.orders"}
    assert body["loyalty"] is not None


def test_a_slow_legacy_api_times_out_into_a_partial_answer(legacy) -> None:
    legacy.set_faults(latency_ms=2000)

    status, body, _ = call(overview("C3"))

    assert status == 200
    assert {e["error"] for e in body["errors"]} == {"timeout"}


def test_with_the_database_down_the_facade_answers_503_with_retry_after(
    legacy, monkeypatch
) -> None:
    monkeypatch.setenv("READER_URL", down_database_url())
    monkeypatch.setenv("WRITER_URL", down_database_url())
    bootstrap.reset()

    for ev in (overview(), notes("GET"), notes("POST", body='{"text": "x"}')):
        status, body, headers = call(ev)
        assert status == 503, ev["httpMethod"]
        assert headers["Retry-After"] == "5"
        assert "database" in body["message"]


def test_an_unknown_customer_is_404(legacy) -> None:
    status, body, _ = call(overview("C999"))
    assert status == 404
    assert "C999" in body["message"]


@pytest.mark.parametrize("customer_id", ["bad id", "x" * 40, "C1;DROP"])
def test_a_malformed_customer_id_is_400_with_a_reason(legacy, customer_id) -> None:
    status, body, _ = call(overview(customer_id))
    assert status == 400
    assert any("customerId" in reason for reason in body["errors"])


def test_notes_are_added_and_listed(legacy) -> None:
    status, _, _ = call(notes("POST", body=json.dumps({"text": "prefers e-mail"})))
    assert status == 201
    status, listed, _ = call(notes("GET"))
    assert status == 200
    assert listed[0]["text"] == "prefers e-mail"
    assert listed[0]["author"] == "alice"


@pytest.mark.parametrize(
    "body",
    ["not json", "[]", "{}", '{"text": ""}', json.dumps({"text": "x" * 2001}), '{"text": 1}'],
)
def test_bad_note_bodies_are_400_with_reasons(legacy, body) -> None:
    status, answer, _ = call(notes("POST", body=body))
    assert status == 400
    assert answer["errors"] or answer["message"]


def test_static_data_endpoints_answer(legacy) -> None:
    products = overview()
    products.update(resource="/catalog/products", path="/catalog/products", pathParameters=None)
    countries = dict(products, resource="/reference/countries", path="/reference/countries")

    assert call(products)[0] == 200
    assert call(countries)[1][0]["code"] == "DE"


def test_products_with_the_legacy_api_down_is_503_with_retry_after(legacy) -> None:
    legacy.set_faults(down=True)
    products = overview()
    products.update(resource="/catalog/products", path="/catalog/products", pathParameters=None)

    status, _, headers = call(products)

    assert status == 503
    assert "Retry-After" in headers


def test_the_openapi_document_describes_every_route(legacy) -> None:
    doc = overview()
    doc.update(resource="/openapi.json", path="/openapi.json", pathParameters=None)

    status, body, _ = call(doc)

    assert status == 200
    assert set(body["paths"]) == {
        "/customers/{customerId}/overview",
        "/customers/{customerId}/notes",
        "/catalog/products",
        "/reference/countries",
    }
    assert "bearer" in body["components"]["securitySchemes"]


def test_concurrent_invocations_in_one_process_do_not_see_each_others_requests(legacy) -> None:
    # The local runtime runs invocations on threads of one process; Powertools keeps the
    # current event on the resolver, so a shared resolver mixed requests up (another
    # request's customer or token, or KeyError '_route' -> 502).
    import sys
    from concurrent.futures import ThreadPoolExecutor

    def one(n: int) -> tuple[str, int, str | None, str | None]:
        customer = f"C{n % 5 + 1}"
        status, body, _ = call(overview(customer))
        profile = body.get("profile") or {}
        return customer, status, body.get("customerId"), profile.get("id")

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so requests interleave anywhere
    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(one, range(120)))
    finally:
        sys.setswitchinterval(interval)

    assert [r for r in results if r[1:] != (200, r[0], r[0])] == []
