"""The abstracted cost API over HTTP: a client's AWS credential reaches Cost Explorer (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.costs.api_runtime import CostsApi, start_runtime
from tests.unit.costs.test_costapi_adapters import ce_result, queue_ce_answer


@pytest.fixture
def api(tmp_path: Path, moto_aws: None) -> Iterator[CostsApi]:
    costs = start_runtime(tmp_path / "home")
    assert costs.call("POST", "/clients", {"ClientId": "acme", "Name": "Acme"})[0] == 201
    for cred in (
        {
            "CredentialId": "aws",
            "Provider": "aws",
            "Access": {"access_key_id": "AKIAEXAMPLE"},
            "Secret": "example-secret-key-0000",
        },
        {"CredentialId": "files", "Provider": "local"},
    ):
        assert costs.call("POST", "/clients/acme/credentials", cred)[0] == 201
    yield costs
    costs.runtime.stop()


def test_costs_by_service_in_the_common_shape(api):
    queue_ce_answer(ce_result(groups=True))
    status, body = api.call(
        "GET",
        "/clients/acme/costs?credential=aws&start=2026-01-01&end=2026-01-03&groupBy=service",
    )
    assert status == 200, body
    assert body["Provider"] == "aws"
    assert body["Totals"] == {"USD": "26.25"}
    assert body["Rows"][0] == {
        "Start": "2026-01-01",
        "End": "2026-01-02",
        "Group": {"service": "Amazon EC2"},
        "Amount": "10.5",
        "Currency": "USD",
    }


def test_bad_queries_and_unknown_things(api):
    status, body = api.call("GET", "/clients/acme/costs?start=2026-01-01&end=2025-01-01")
    assert status == 400
    assert any("end" in r for r in body["reasons"])
    assert any("credential" in r for r in body["reasons"])
    assert (
        api.call("GET", "/clients/acme/costs?credential=nope&start=2026-01-01&end=2026-01-02")[0]
        == 404
    )
    assert (
        api.call("GET", "/clients/ghost/costs?credential=aws&start=2026-01-01&end=2026-01-02")[0]
        == 404
    )
    status, body = api.call(
        "GET", "/clients/acme/costs?credential=files&start=2026-01-01&end=2026-01-02"
    )
    assert status == 400
    assert "no cost API" in body["reasons"][0]
