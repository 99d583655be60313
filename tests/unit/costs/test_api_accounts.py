"""Clients, credentials and configurations: the Credentials API's use cases on local adapters."""

from __future__ import annotations

from pathlib import Path

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.adapters.local.secrets import FileSecretStore
from stratus.platform.adapters.local.table import SqliteTableStore
from stratus.platform.ports import IndexSpec, TableSpec
from stratus.solutions.costs import accounts
from stratus.solutions.costs.accounts import (
    AccountPorts,
    ConflictError,
    InvalidInputError,
    MissingError,
)
from stratus.solutions.costs.domain.accounts import mask_secret, upload_key

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def ports(tmp_path: Path, clock: FakeClock) -> AccountPorts:
    spec = TableSpec("credentials", indexes={"GSI1": IndexSpec("Data1", "SK")})
    return AccountPorts(
        table=SqliteTableStore(tmp_path / "tables.sqlite3", spec, clock=clock),
        secrets=FileSecretStore(tmp_path / "secrets.sqlite3", tmp_path / "secrets.key"),
        clock=clock,
    )


def aws_credential(ports: AccountPorts, client: str = "acme") -> str:
    cred = accounts.create_credential(
        ports, client, "aws", {"access_key_id": "AKIAEXAMPLE"}, SECRET, "main"
    )
    return cred.credential_id


def test_a_client_is_created_read_renamed_listed_and_deleted(ports):
    created = accounts.create_client(ports, "Acme Corp", "acme")
    assert created.client_id == "acme"
    assert accounts.get_client(ports, "acme").name == "Acme Corp"
    accounts.update_client(ports, "acme", "Acme Inc")
    accounts.create_client(ports, "Beta")
    names = [c.name for c in accounts.list_clients(ports)]
    assert sorted(names) == ["Acme Inc", "Beta"]
    accounts.delete_client(ports, "acme")
    with pytest.raises(MissingError):
        accounts.get_client(ports, "acme")


def test_a_taken_client_id_is_a_conflict_and_a_bad_id_is_invalid(ports):
    accounts.create_client(ports, "Acme", "acme")
    with pytest.raises(ConflictError):
        accounts.create_client(ports, "Other", "acme")
    with pytest.raises(InvalidInputError) as bad:
        accounts.create_client(ports, "X", "no spaces allowed")
    assert "ClientId" in bad.value.reasons[0]


def test_the_secret_goes_to_the_secret_store_and_only_a_mask_is_kept(ports):
    accounts.create_client(ports, "Acme", "acme")
    cred_id = aws_credential(ports)
    item = ports.table.get({"PK": "CLIENT#acme", "SK": f"CREDENTIAL#{cred_id}"})
    assert SECRET not in repr(item)
    cred = accounts.get_credential(ports, "acme", cred_id)
    assert cred.has_secret
    assert cred.secret_hint == mask_secret(SECRET) == "****EKEY"
    assert accounts.credential_secret(ports, cred) == SECRET


def test_updating_a_credential_without_a_secret_keeps_the_stored_one(ports):
    accounts.create_client(ports, "Acme", "acme")
    cred_id = aws_credential(ports)
    accounts.update_credential(
        ports, "acme", cred_id, {"access_key_id": "AKIAOTHER", "region": "eu-west-1"}, None
    )
    cred = accounts.get_credential(ports, "acme", cred_id)
    assert cred.access == {"access_key_id": "AKIAOTHER", "region": "eu-west-1"}
    assert accounts.credential_secret(ports, cred) == SECRET
    accounts.update_credential(ports, "acme", cred_id, {"access_key_id": "AKIAOTHER"}, "new-secret")
    cred = accounts.get_credential(ports, "acme", cred_id)
    assert accounts.credential_secret(ports, cred) == "new-secret"
    assert cred.secret_hint == "****"


def test_invalid_credentials_give_every_reason(ports):
    accounts.create_client(ports, "Acme", "acme")
    with pytest.raises(InvalidInputError) as bad:
        accounts.create_credential(ports, "acme", "azure", {"colour": "blue"}, None)
    reasons = " | ".join(bad.value.reasons)
    assert "access.colour" in reasons
    assert "access.tenant_id" in reasons
    assert "secret" in reasons
    with pytest.raises(InvalidInputError):
        accounts.create_credential(ports, "acme", "ibm", {}, None)
    with pytest.raises(InvalidInputError):  # keys without the secret half
        accounts.create_credential(ports, "acme", "aws", {"access_key_id": "AKIA"}, None)


def test_credentials_of_an_unknown_client_are_missing(ports):
    with pytest.raises(MissingError):
        accounts.create_credential(ports, "ghost", "local", {}, None)
    with pytest.raises(MissingError):
        accounts.list_credentials(ports, "ghost")


def test_configurations_are_checked_against_report_type_and_credential(ports):
    accounts.create_client(ports, "Acme", "acme")
    cred_id = aws_credential(ports)
    conf = accounts.create_configuration(
        ports, "acme", cred_id, "AWS_CUR", {"bucket": "acme-cur", "prefix": "cur/"}
    )
    assert accounts.list_configurations(ports, "acme") == [conf]
    with pytest.raises(InvalidInputError) as bad:
        accounts.create_configuration(ports, "acme", cred_id, "AZURE_EXPORT", {"path": "/x"})
    assert any("azure credential" in r for r in bad.value.reasons)
    with pytest.raises(InvalidInputError) as bad:
        accounts.create_configuration(ports, "acme", "nope", "AWS_CUR", {})
    reasons = " | ".join(bad.value.reasons)
    assert "Config.bucket" in reasons
    assert "CredentialId" in reasons
    with pytest.raises(InvalidInputError):
        accounts.create_configuration(ports, "acme", cred_id, "REPORT_X", {})


def test_a_configuration_is_updated_and_deleted(ports):
    accounts.create_client(ports, "Acme", "acme")
    cred_id = aws_credential(ports)
    conf = accounts.create_configuration(ports, "acme", cred_id, "AWS_CUR", {"bucket": "a"})
    updated = accounts.update_configuration(
        ports, "acme", conf.configuration_id, cred_id, "AWS_FOCUS", {"bucket": "b"}, enabled=False
    )
    assert (updated.report_type, updated.config, updated.enabled) == (
        "AWS_FOCUS",
        {"bucket": "b"},
        False,
    )
    accounts.delete_configuration(ports, "acme", conf.configuration_id)
    with pytest.raises(MissingError):
        accounts.delete_configuration(ports, "acme", conf.configuration_id)


def test_what_is_still_used_cannot_be_deleted(ports):
    accounts.create_client(ports, "Acme", "acme")
    cred_id = aws_credential(ports)
    conf = accounts.create_configuration(ports, "acme", cred_id, "AWS_CUR", {"bucket": "a"})
    with pytest.raises(ConflictError):
        accounts.delete_credential(ports, "acme", cred_id)
    with pytest.raises(ConflictError):
        accounts.delete_client(ports, "acme")
    accounts.delete_configuration(ports, "acme", conf.configuration_id)
    accounts.delete_credential(ports, "acme", cred_id)
    assert ports.secrets.names("costs/") == []
    accounts.delete_client(ports, "acme")


def test_the_plan_lists_only_enabled_configurations(ports):
    accounts.create_client(ports, "Acme", "acme")
    cred_id = aws_credential(ports)
    accounts.create_configuration(
        ports, "acme", cred_id, "AWS_CUR", {"bucket": "a"}, configuration_id="on"
    )
    accounts.create_configuration(
        ports, "acme", cred_id, "AWS_CUR", {"bucket": "b"}, enabled=False, configuration_id="off"
    )
    [(client, configs)] = accounts.all_configurations(ports)
    assert client.client_id == "acme"
    assert [c.configuration_id for c in configs] == ["on"]


def test_upload_keys_are_client_report_type_and_utc_time(clock):
    assert upload_key("acme", "AWS_CUR", clock.now(), "csv.gz") == (
        "acme/AWS_CUR/20260101T000000.000000Z.csv.gz"
    )
