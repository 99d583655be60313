"""The Credentials API over loopback HTTP: real API Gateway events into the real handler."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.costs.api_runtime import CostsApi, start_runtime

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AZURE_SECRET = "az-client-secret-value-0123456789"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CostsApi]:
    costs = start_runtime(tmp_path_factory.mktemp("costs-home"))
    yield costs
    costs.runtime.stop()


@pytest.fixture
def client(api: CostsApi, request: pytest.FixtureRequest) -> str:
    client_id = request.node.name.replace("test_", "")[:60].replace("_", "-")
    status, body = api.call("POST", "/clients", {"ClientId": client_id, "Name": "Acme"})
    assert status == 201, body
    return client_id


def test_every_route_needs_the_api_key(api):
    assert api.call("GET", "/clients", key=None)[0] == 403
    assert api.call("GET", "/clients", key="wrong")[0] == 403
    assert api.call("GET", "/clients")[0] == 200


def test_a_client_goes_through_create_get_update_list_delete(api):
    status, created = api.call("POST", "/clients", {"ClientId": "lifecycle", "Name": "Life"})
    assert status == 201
    assert created["ClientId"] == "lifecycle"
    assert api.call("GET", "/clients/lifecycle")[1]["Name"] == "Life"
    status, renamed = api.call("PUT", "/clients/lifecycle", {"Name": "Life Inc"})
    assert (status, renamed["Name"]) == (200, "Life Inc")
    listed = api.call("GET", "/clients")[1]["Clients"]
    assert "lifecycle" in [c["ClientId"] for c in listed]
    assert api.call("DELETE", "/clients/lifecycle")[0] == 204
    assert api.call("GET", "/clients/lifecycle")[0] == 404


def test_a_generated_client_id_is_returned(api):
    status, created = api.call("POST", "/clients", {"Name": "No id given"})
    assert status == 201
    assert api.call("GET", f"/clients/{created['ClientId']}")[0] == 200


def test_bad_bodies_are_400_with_reasons_and_store_nothing(api):
    status, body = api.call("POST", "/clients", raw=b"{not json")
    assert status == 400
    assert "not JSON" in body["reasons"][0]
    status, body = api.call("POST", "/clients", {"ClientId": "bad id!", "Name": ""})
    assert status == 400
    assert any("Name" in r for r in body["reasons"])
    status, body = api.call("POST", "/clients", {"Name": "x", "Colour": "blue"})
    assert status == 400
    assert any("Colour" in r for r in body["reasons"])
    status, body = api.call("POST", "/clients", ["a", "list"])
    assert status == 400
    assert api.call("GET", "/clients/bad%20id!")[0] == 404


def test_a_duplicate_client_is_409(api, client):
    assert api.call("POST", "/clients", {"ClientId": client, "Name": "Again"})[0] == 409


def test_secrets_are_stored_but_never_returned(api, client):
    status, cred = api.call(
        "POST",
        f"/clients/{client}/credentials",
        {
            "CredentialId": "keys",
            "Provider": "aws",
            "Access": {"access_key_id": "AKIAX"},
            "Secret": SECRET,
        },
    )
    assert status == 201, cred
    assert cred["HasSecret"] is True
    assert cred["SecretHint"] == "****EKEY"
    answers = [
        cred,
        api.call("GET", f"/clients/{client}/credentials/keys")[1],
        api.call("GET", f"/clients/{client}/credentials")[1],
        api.call(
            "PUT",
            f"/clients/{client}/credentials/keys",
            {"Access": {"access_key_id": "AKIAY"}, "Secret": SECRET + "2"},
        )[1],
    ]
    for answer in answers:
        text = json.dumps(answer)
        assert SECRET not in text
        assert 'Secret"' not in text.replace("HasSecret", "").replace("SecretHint", "")
    # ... and the secret is encrypted at rest: it is not in any file of the home directory
    home: Path = api.runtime.home
    for path in home.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_credentials_are_validated_per_provider(api, client):
    status, body = api.call(
        "POST",
        f"/clients/{client}/credentials",
        {"Provider": "azure", "Access": {"tenant_id": "t"}},
    )
    assert status == 400
    reasons = " ".join(body["reasons"])
    assert "client_id" in reasons
    assert "secret" in reasons
    status, body = api.call("POST", f"/clients/{client}/credentials", {"Provider": "ibm"})
    assert status == 400
    assert "provider" in body["reasons"][0]


def test_configurations_for_a_client(api, client):
    base = f"/clients/{client}"
    assert (
        api.call(
            "POST",
            f"{base}/credentials",
            {
                "CredentialId": "az",
                "Provider": "azure",
                "Access": {"tenant_id": "t", "client_id": "c", "subscription_id": "s"},
                "Secret": AZURE_SECRET,
            },
        )[0]
        == 201
    )
    status, conf = api.call(
        "POST",
        f"{base}/configurations",
        {"CredentialId": "az", "ReportType": "AZURE_EXPORT", "Config": {"path": "/exports"}},
    )
    assert status == 201, conf
    assert conf["Config"] == {"path": "/exports"}
    conf_id = conf["ConfigurationId"]
    status, body = api.call(
        "POST",
        f"{base}/configurations",
        {"CredentialId": "az", "ReportType": "AWS_CUR", "Config": {}},
    )
    assert status == 400
    assert any("Config.bucket" in r for r in body["reasons"])
    assert any("aws credential" in r for r in body["reasons"])
    status, updated = api.call(
        "PUT",
        f"{base}/configurations/{conf_id}",
        {
            "CredentialId": "az",
            "ReportType": "AZURE_EXPORT",
            "Config": {"bucket": "landing"},
            "Enabled": False,
        },
    )
    assert (status, updated["Enabled"], updated["Config"]) == (200, False, {"bucket": "landing"})
    listed = api.call("GET", f"{base}/configurations")[1]["Configurations"]
    assert [c["ConfigurationId"] for c in listed] == [conf_id]
    assert api.call("DELETE", f"{base}/credentials/az")[0] == 409
    assert api.call("DELETE", f"{base}/configurations/{conf_id}")[0] == 204
    assert api.call("GET", f"{base}/configurations/{conf_id}")[0] == 404
    assert api.call("DELETE", f"{base}/credentials/az")[0] == 204
    assert api.call("DELETE", base)[0] == 204


def test_unknown_things_are_404(api, client):
    assert api.call("GET", "/clients/ghost")[0] == 404
    assert api.call("GET", "/clients/ghost/credentials")[0] == 404
    assert api.call("GET", f"/clients/{client}/credentials/none")[0] == 404
    assert api.call("PUT", "/clients/ghost", {"Name": "x"})[0] == 404
    assert api.call("DELETE", f"/clients/{client}/configurations/none")[0] == 404


def test_a_browser_preflight_needs_no_key(api):
    import urllib.request

    request = urllib.request.Request(f"{api.runtime.url}/costs/clients", method="OPTIONS")
    request.add_header("Origin", "https://dashboard.example")
    request.add_header("Access-Control-Request-Method", "GET")
    request.add_header("Access-Control-Request-Headers", "x-api-key")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert "x-api-key" in response.headers["Access-Control-Allow-Headers"]
