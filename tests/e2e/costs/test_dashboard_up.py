"""`stratus up --demo` serves the costs dashboard with demo data, checked in headless Chromium,
and the Credentials API keeps its data across a killed and restarted server."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

from tests.e2e.conftest import start_server
from tests.functional.costs.api_runtime import TEMPLATE
from tests.functional.costs.chromium import body_state, charts, dump_dom, need_chromium, status_text


def dashboard_url(log: str) -> str:
    match = re.search(r"costs: dashboard (\S+)", log)
    assert match, log
    return match.group(1)


def test_stratus_up_demo_shows_the_dashboard_with_data(tmp_path: Path):
    need_chromium()
    server = start_server(tmp_path / "home", "--demo", template=TEMPLATE)
    try:
        log = server.log.read_text()
        assert "costs: uploader SUCCEEDED, 1 file(s) uploaded" in log, log
        dom = dump_dom(dashboard_url(log))
        assert body_state(dom) == "ready", status_text(dom)
        drawn = charts(dom)
        assert drawn["by-service"] > 0
        assert drawn["by-day"] > 0
    finally:
        server.kill()


def test_clients_survive_a_killed_server_and_secrets_stay_hidden(tmp_path: Path):
    home = tmp_path / "home"
    first = start_server(home, template=TEMPLATE)
    try:
        key = re.search(r"API key for /costs: (\S+)", first.log.read_text())
        assert key, first.log.read_text()
        headers = {"x-api-key": key.group(1), "Content-Type": "application/json"}
        assert (
            first.request("POST", "/costs/clients", {"ClientId": "acme", "Name": "A"}, headers)[0]
            == 201
        )
        cred = {
            "CredentialId": "k",
            "Provider": "aws",
            "Access": {"access_key_id": "AKIA1"},
            "Secret": "topsecretvalue-1234",
        }
        assert first.request("POST", "/costs/clients/acme/credentials", cred, headers)[0] == 201
    finally:
        first.kill()
    second = start_server(home, template=TEMPLATE)
    try:
        code, body = second.request("GET", "/costs/clients/acme/credentials/k", headers=headers)
        assert code == 200
        assert body["SecretHint"] == "****1234"
        assert "topsecretvalue" not in json.dumps(body)
        with urllib.request.urlopen(second.base + "/costs/dashboard", timeout=10) as page:
            assert page.headers["Content-Type"].startswith("text/html")
    finally:
        second.kill()
