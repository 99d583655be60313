"""uploader.asl.json on moto's Step Functions interpreter and on the local runner: with echo
Lambdas both map over clients and reports, route each report type, and give the same output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.workflows.conftest import ECHO_ARN, LocalEngine, MotoEngine

DEFINITION = (
    Path(__file__).resolve().parents[3]
    / "src/stratus/solutions/costs/infra/statemachines/uploader.asl.json"
)

PLAN = {
    "Clients": [
        {
            "ClientId": "acme",
            "Reports": [
                {"ClientId": "acme", "ConfigurationId": "cur", "ReportType": "AWS_CUR"},
                {"ClientId": "acme", "ConfigurationId": "az", "ReportType": "AZURE_EXPORT"},
            ],
        },
        {
            "ClientId": "beta",
            "Reports": [
                {"ClientId": "beta", "ConfigurationId": "gcp", "ReportType": "GCP_BILLING"},
                {"ClientId": "beta", "ConfigurationId": "bq", "ReportType": "GCP_BIGQUERY"},
                {"ClientId": "beta", "ConfigurationId": "web", "ReportType": "HTTP"},
            ],
        },
    ]
}


def definition() -> dict[str, Any]:
    text = DEFINITION.read_text(encoding="utf-8")
    for name in (
        "ListClientsFunctionArn",
        "UploadAwsReportFunctionArn",
        "UploadAzureReportFunctionArn",
        "UploadGcpReportFunctionArn",
        "UploadFileReportFunctionArn",
    ):
        text = text.replace("${" + name + "}", ECHO_ARN)
    parsed: dict[str, Any] = json.loads(text)
    return parsed


EXPECTED = {"Results": [client["Reports"] for client in PLAN["Clients"]]}


def test_the_local_runner_maps_every_report_of_every_client(local_engine: LocalEngine) -> None:
    outcome = local_engine.run(definition(), PLAN)
    assert outcome.status == "SUCCEEDED", outcome
    assert outcome.output == EXPECTED


def test_moto_gives_the_same_result(moto_engine: MotoEngine) -> None:
    outcome = moto_engine.run(definition(), PLAN)
    assert outcome.status == "SUCCEEDED", outcome
    assert outcome.output == EXPECTED


def test_no_clients_on_both(local_engine: LocalEngine, moto_engine: MotoEngine) -> None:
    assert local_engine.run(definition(), {"Clients": []}).output == {"Results": []}
    assert moto_engine.run(definition(), {"Clients": []}).output == {"Results": []}
