"""The uploader state machine on the local ASL runner, with the real handlers and resources.

Clients and configurations are created through the Credentials API; the state machine reads
them, maps over clients and, per report type, runs that provider's upload function. The
upload lands in the reports bucket, which starts the ETL (object created).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.costs import accounts
from tests.functional.costs.api_runtime import CostsApi, start_runtime

FOCUS = (
    b"BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,"
    b"BillingCurrency,ServiceName,RegionId,ResourceId,SubAccountId\n"
    b"2026-01-01T00:00:00Z,2026-01-05T00:00:00Z,2026-01-06T00:00:00Z,10.5,8.25,USD,"
    b"Compute,us-east-1,i-1,111\n"
    b"2026-01-01T00:00:00Z,2026-01-06T00:00:00Z,2026-01-07T00:00:00Z,4.5,4.5,USD,"
    b"Storage,eu-west-1,b-1,111\n"
)


@pytest.fixture
def api(tmp_path: Path, clock: FakeClock) -> Iterator[CostsApi]:
    costs = start_runtime(tmp_path / "home", clock)
    yield costs
    costs.runtime.stop()


def uploader_arn(api: CostsApi) -> str:
    return next(m for m in api.runtime.workflows.state_machines() if m.endswith("-uploader"))


def run_uploader(api: CostsApi, payload: dict | None = None) -> dict:
    runtime = api.runtime
    execution = runtime.workflows.wait(
        runtime.workflows.start(uploader_arn(api), payload or {}), 60
    )
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    return execution.output


def add_client(
    api: CostsApi, client: str, report_type: str, config: dict, provider: str = "local"
) -> None:
    assert api.call("POST", "/clients", {"ClientId": client, "Name": client})[0] == 201
    cred: dict = {"CredentialId": "cred", "Provider": provider, "Access": {}}
    if provider == "gcp":
        cred["Access"] = {"project_id": "p"}
    assert api.call("POST", f"/clients/{client}/credentials", cred)[0] == 201
    status, body = api.call(
        "POST",
        f"/clients/{client}/configurations",
        {
            "ConfigurationId": "conf",
            "CredentialId": "cred",
            "ReportType": report_type,
            "Config": config,
        },
    )
    assert status == 201, body


def results_by_client(output: dict) -> dict[str, dict]:
    return {report["ClientId"]: report for client in output["Results"] for report in client}


def test_each_clients_reports_are_uploaded_once(api, tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "jan.csv").write_bytes(FOCUS)
    add_client(api, "acme", "LOCAL_FILE", {"path": str(exports), "etl_provider": "focus"})
    landing = api.runtime.resources.bucket("gcp-landing")
    landing.put("billing/jan.csv", FOCUS)
    add_client(api, "beta", "GCP_BILLING", {"bucket": "gcp-landing", "prefix": "billing/"}, "gcp")
    add_client(api, "gamma", "LOCAL_FILE", {"path": str(tmp_path / "missing")})

    results = results_by_client(run_uploader(api))

    assert len(results["acme"]["Uploaded"]) == 1
    assert results["acme"]["Uploaded"][0].startswith("acme/LOCAL_FILE/")
    assert results["beta"]["Uploaded"][0].startswith("beta/GCP_BILLING/")
    assert results["gamma"]["Uploaded"] == []
    assert "does not exist" in results["gamma"]["Errors"][0]

    again = results_by_client(run_uploader(api))
    assert again["acme"]["Uploaded"] == []
    assert again["acme"]["Unchanged"] == [str(exports / "jan.csv")]
    assert again["beta"]["Unchanged"] == ["billing/jan.csv"]


def test_a_failing_upload_is_recorded_and_the_others_still_run(api, tmp_path, monkeypatch):
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "jan.csv").write_bytes(FOCUS)
    add_client(api, "acme", "LOCAL_FILE", {"path": str(exports)})
    add_client(api, "broken", "LOCAL_FILE", {"path": str(exports)})

    real = accounts.get_configuration

    def failing(ports, client_id, configuration_id):
        if client_id == "broken":
            raise RuntimeError("the table is on fire")
        return real(ports, client_id, configuration_id)

    monkeypatch.setattr(accounts, "get_configuration", failing)
    results = results_by_client(run_uploader(api))
    assert len(results["acme"]["Uploaded"]) == 1
    assert results["broken"]["Uploaded"] == []
    assert "the table is on fire" in results["broken"]["Errors"][0]


def test_no_clients_is_an_empty_run(api):
    assert run_uploader(api) == {"Results": []}


def test_one_client_can_be_uploaded_on_demand(api, tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "jan.csv").write_bytes(FOCUS)
    add_client(api, "acme", "LOCAL_FILE", {"path": str(exports)})
    add_client(api, "beta", "LOCAL_FILE", {"path": str(exports)})
    results = results_by_client(run_uploader(api, {"ClientId": "beta"}))
    assert list(results) == ["beta"]
