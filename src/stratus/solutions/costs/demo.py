"""Demo data for ``stratus up --demo``: a client whose costs go through the real pipeline.

1. Through the Credentials API (HTTP, with the generated API key): client ``demo``, a
   ``local`` credential and a ``LOCAL_FILE`` configuration pointing at
   ``STRATUS_HOME/costs-demo/``.
2. A FOCUS 1.2 file is generated there: the previous month and this month up to today, a few
   services, accounts, regions and resources, tags, billed and effective cost (deterministic:
   the same day gives the same bytes).
3. The uploader state machine runs; it copies the file into the reports bucket, which starts
   the ETL state machine; the loader waits until the Reporting API has the months.

Loading twice changes nothing (409s, and the unchanged file is not uploaded again).
"""

from __future__ import annotations

import csv
import io
import json
import random
import time
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

CLIENT = "demo"
WAIT_S = 90.0

SERVICES = [
    # name, category, daily base cost, resource type
    ("Amazon Elastic Compute Cloud", "Compute", 38.0, "Instance"),
    ("Amazon Simple Storage Service", "Storage", 9.5, "Bucket"),
    ("Amazon Relational Database Service", "Databases", 21.0, "DBInstance"),
    ("AWS Lambda", "Compute", 2.4, "Function"),
    ("Amazon CloudFront", "Networking", 5.1, "Distribution"),
    ("Amazon DynamoDB", "Databases", 3.3, "Table"),
]
ACCOUNTS = ["111111111111", "222222222222"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
TEAMS = ["web", "data", "platform"]
COLUMNS = [
    "BillingAccountId",
    "SubAccountId",
    "ProviderName",
    "ServiceName",
    "ServiceCategory",
    "RegionId",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "SkuId",
    "ChargeCategory",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "BillingCurrency",
    "Tags",
]


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def demo_rows(today: date) -> list[dict[str, str]]:
    """FOCUS rows from the first day of the previous month to ``today`` (inclusive)."""
    rng = random.Random(f"stratus-costs-demo-{today.isoformat()}")  # noqa: S311 - demo data
    resources = []
    for i, (service, category, base, rtype) in enumerate(SERVICES):
        for j in range(2):
            account = ACCOUNTS[(i + j) % len(ACCOUNTS)]
            region = REGIONS[(i * 2 + j) % len(REGIONS)]
            rid = f"arn:aws:demo:{region}:{account}:{rtype.lower()}/{rtype.lower()}-{i}{j}"
            resources.append(
                (
                    service,
                    category,
                    base * (1.0 if j == 0 else 0.45),
                    rtype,
                    account,
                    region,
                    rid,
                    f"{rtype.lower()}-{i}{j}",
                    TEAMS[(i + j) % len(TEAMS)],
                )
            )
    first = _month_start(_month_start(today) - timedelta(days=1))
    rows = []
    day = first
    while day <= today:
        period = _month_start(day)
        growth = 1.0 + 0.004 * (day - first).days
        for service, category, base, rtype, account, region, rid, name, team in resources:
            billed = round(base * growth * rng.uniform(0.85, 1.15), 6)
            committed = category in ("Compute", "Databases")
            effective = round(billed * (0.72 if committed else 1.0), 6)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            rows.append(
                {
                    "BillingAccountId": "999999999999",
                    "SubAccountId": account,
                    "ProviderName": "AWS",
                    "ServiceName": service,
                    "ServiceCategory": category,
                    "RegionId": region,
                    "ResourceId": rid,
                    "ResourceName": name,
                    "ResourceType": rtype,
                    "SkuId": f"SKU-{rtype.upper()}",
                    "ChargeCategory": "Usage",
                    "ChargePeriodStart": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "ChargePeriodEnd": (start + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "BillingPeriodStart": f"{period.isoformat()}T00:00:00Z",
                    "BillingPeriodEnd": f"{_next_month(period).isoformat()}T00:00:00Z",
                    "BilledCost": f"{billed:.6f}",
                    "EffectiveCost": f"{effective:.6f}",
                    "ListCost": f"{billed * 1.1:.6f}",
                    "BillingCurrency": "USD",
                    "Tags": json.dumps(
                        {"team": team, "env": "prod" if "0" in name[-2:] else "dev"}
                    ),
                }
            )
        day += timedelta(days=1)
    return rows


def demo_file(today: date) -> bytes:
    """The demo FOCUS CSV."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(demo_rows(today))
    return out.getvalue().encode("utf-8")


def _call(runtime: Any, key: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 - the runtime's loopback URL
        f"{runtime.url}/costs{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"x-api-key": key, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return int(response.status), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read() or b"null")


def _machine_arn(runtime: Any, logical_id: str) -> str:
    for app in runtime.apps:
        machine = app.state_machines.get(logical_id)
        if machine is not None:
            for known in runtime.workflows.state_machines():
                if known == machine.name or str(known).endswith(f":{machine.name}"):
                    return str(known)
    raise LookupError(f"state machine {logical_id} is not running")


def load(runtime: Any) -> list[str]:
    """Create the demo client and push its costs through uploader → ETL; say what happened."""
    key = runtime.checkpoints.get("apikey:costs:CostsApi")
    if key is None:
        return ["costs: no API key for CostsApi; demo skipped"]
    folder = Path(runtime.home) / "costs-demo"
    folder.mkdir(parents=True, exist_ok=True)
    today = runtime.clock.now().astimezone(UTC).date()
    path = folder / "demo-focus.csv"
    content = demo_file(today)
    if not path.exists() or path.read_bytes() != content:
        path.write_bytes(content)
    lines = []
    steps = [
        ("client", "POST", "/clients", {"ClientId": CLIENT, "Name": "Demo Corp"}),
        (
            "credential",
            "POST",
            f"/clients/{CLIENT}/credentials",
            {"CredentialId": "local", "Provider": "local", "Access": {}},
        ),
        (
            "configuration",
            "POST",
            f"/clients/{CLIENT}/configurations",
            {
                "ConfigurationId": "focus-files",
                "CredentialId": "local",
                "ReportType": "LOCAL_FILE",
                "Config": {"path": str(folder), "etl_provider": "focus"},
            },
        ),
    ]
    for what, method, route, body in steps:
        status, answer = _call(runtime, key, method, route, body)
        outcome = {201: "created", 409: "already there"}.get(status, f"HTTP {status} {answer}")
        lines.append(f"costs: {what} {outcome}")
    before, _ = _etl_runs(runtime)
    execution = runtime.workflows.wait(
        runtime.workflows.start(_machine_arn(runtime, "UploaderStateMachine"), {}), WAIT_S
    )
    uploaded = 0
    for client in (execution.output or {}).get("Results", []) if execution.output else []:
        for report in client:
            uploaded += len(report.get("Uploaded", []))
    lines.append(f"costs: uploader {execution.status}, {uploaded} file(s) uploaded")
    # Wait for the ETL runs the upload started (not through the Reporting API: its answers
    # are cached for a minute, and an early empty answer would be what the dashboard sees).
    deadline = time.monotonic() + WAIT_S
    while uploaded and time.monotonic() < deadline:
        started, running = _etl_runs(runtime)
        if started >= before + uploaded and not running:
            break
        time.sleep(0.2)
    status, answer = _call(runtime, key, "GET", f"/reports/{CLIENT}/months")
    months = answer.get("months", []) if status == 200 else []
    lines.append(f"costs: months with data: {', '.join(months) or 'none yet (ETL still running?)'}")
    lines.append(f"costs: dashboard {runtime.url}/costs/dashboard#key={key}")
    return lines


def _etl_runs(runtime: Any) -> tuple[int, int]:
    """How many ETL executions exist and how many are still running."""
    try:
        arn = _machine_arn(runtime, "EtlStateMachine")
    except LookupError:
        return 0, 0
    executions = runtime.workflows.list_executions(arn)
    return len(executions), sum(1 for e in executions if e.status == "RUNNING")
