"""`stratus up --template` serves the example application end to end over HTTP.

The path of one order: API Gateway (TOKEN authorizer) → CreateOrder → DynamoDB table → stream
→ OnOrderChange → SQS queue → StartFulfilment → FulfilOrder state machine (Wait 60 s, made
fast with --clock-factor) → MarkShipped → the item is SHIPPED.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from stratus.platform.adapters.local.table import SqliteTableStore
from tests.e2e.conftest import EXAMPLE_TEMPLATE, STRATUS, Server

ALICE = {"Authorization": "allow-alice"}
ORDER = {"id": "o-100", "items": [{"sku": "widget", "qty": 2}]}


def wait_for_status(server: Server, order_id: str, status: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    body: Any = None
    while time.monotonic() < deadline:
        code, body = server.request("GET", f"/example_app/orders/{order_id}", headers=ALICE)
        if code == 200 and body["status"] == status:
            return body
        time.sleep(0.2)
    raise AssertionError(f"order {order_id} never became {status}: last answer {body}")


def wait_for_item(home: Path, key: dict[str, str], timeout: float = 30) -> dict[str, Any]:
    """Read the running server's table directly (SQLite in WAL mode allows a second process)."""
    table = SqliteTableStore.open(home / "tables.sqlite3", "example_app-orders")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = table.get(key)
        if item is not None:
            return item
        time.sleep(0.2)
    raise AssertionError(f"no item {key} within {timeout} s")


def test_an_order_travels_from_the_api_through_stream_queue_and_state_machine(up, tmp_path):
    server = up("--clock-factor", "600")
    code, created = server.request("POST", "/example_app/orders", ORDER, ALICE)
    assert code == 201, created
    assert created["status"] == "NEW"
    shipped = wait_for_status(server, "o-100", "SHIPPED")
    assert shipped["id"] == "o-100"
    # MarkShipped announced it on the SNS topic: the filtered subscriber wrote an audit item,
    audit = wait_for_item(tmp_path / "home", {"PK": "ORDER~o-100", "SK": "AUDIT~SHIPPED"})
    assert audit["subject"] == "order shipped"
    # and stored a receipt object, whose EventBridge event started the ArchiveReceipt machine.
    receipt = wait_for_item(tmp_path / "home", {"PK": "ORDER~o-100", "SK": "RECEIPT"})
    assert receipt["key"] == "receipts/o-100.json"
    assert receipt["size"] > 0


def test_requests_without_a_valid_token_are_refused_by_the_authorizer(up):
    server = up()
    assert server.request("GET", "/example_app/orders/o-1")[0] == 401
    assert (
        server.request("GET", "/example_app/orders/o-1", headers={"Authorization": "x"})[0] == 401
    )


def test_bad_input_gets_a_4xx_with_a_reason_and_stores_nothing(up):
    server = up()
    code, body = server.request("POST", "/example_app/orders", {"id": "o-2"}, ALICE)
    assert code == 400
    assert "items" in body["message"]
    assert server.request("GET", "/example_app/orders/o-2", headers=ALICE)[0] == 404
    assert server.request("POST", "/example_app/orders", ORDER, ALICE)[0] == 201
    assert server.request("POST", "/example_app/orders", ORDER, ALICE)[0] == 409


def test_data_survives_a_killed_and_restarted_server(up, tmp_path: Path):
    home = tmp_path / "home"
    first = up("--clock-factor", "600", home=home)
    assert first.request("POST", "/example_app/orders", ORDER, ALICE)[0] == 201
    wait_for_status(first, "o-100", "SHIPPED")
    first.kill()

    second = up(home=home)
    code, body = second.request("GET", "/example_app/orders/o-100", headers=ALICE)
    assert code == 200
    assert body["status"] == "SHIPPED"
    assert second.interrupt() == 0
    assert "Stopped; data kept in" in second.log.read_text()

    listing = subprocess.run(
        [STRATUS, "workflows", "list", "--template", str(EXAMPLE_TEMPLATE), "--home", str(home)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "SUCCEEDED" in listing.stdout
    assert "o-100" in listing.stdout


def test_an_execution_cut_off_by_a_killed_server_resumes_after_restart(up, tmp_path: Path):
    home = tmp_path / "home"
    # GIVEN a server on the wall clock: the fulfilment waits 60 real seconds
    first = up(home=home)
    assert first.request("POST", "/example_app/orders", ORDER, ALICE)[0] == 201
    runner_db = home / "workflows.sqlite3"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and b"WaitStateEntered" not in runner_db.read_bytes():
        time.sleep(0.2)
    # WHEN it is killed in the middle of the Wait state
    first.kill()
    # THEN a new server resumes the execution (on a fast clock) and the order ships
    second = up("--clock-factor", "600", home=home)
    wait_for_status(second, "o-100", "SHIPPED")
