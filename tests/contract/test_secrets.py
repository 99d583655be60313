"""SecretStore contract: one suite, every adapter (encrypted file on tmp_path, Secrets Manager
on moto)."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.ports.errors import (
    BackendUnavailableError,
    InvalidRequestError,
    NotFoundError,
)
from stratus.platform.ports.secrets import SecretStore

PLAINTEXT = "s3cr3t-p@ssw0rd-that-must-not-leak"


class SecretStoreContract:
    """What every SecretStore adapter must do. Subclasses provide ``secrets`` (empty)."""

    def test_a_secret_put_can_be_read_back(self, secrets: SecretStore) -> None:
        secrets.put("db/password", PLAINTEXT)

        assert secrets.get("db/password") == PLAINTEXT

    def test_a_second_put_updates_the_value(self, secrets: SecretStore) -> None:
        secrets.put("api-key", "old")
        secrets.put("api-key", "new")

        assert secrets.get("api-key") == "new"
        assert secrets.names() == ["api-key"]

    def test_unicode_and_json_values_round_trip(self, secrets: SecretStore) -> None:
        value = '{"user": "zoë", "password": "p\\"w 🔑"}'
        secrets.put("json", value)

        assert secrets.get("json") == value

    def test_a_missing_secret_is_not_found(self, secrets: SecretStore) -> None:
        with pytest.raises(NotFoundError):
            secrets.get("nope")

    def test_a_deleted_secret_is_gone_at_once_and_its_name_is_free(
        self, secrets: SecretStore
    ) -> None:
        secrets.put("temp", "v1")

        secrets.delete("temp")

        with pytest.raises(NotFoundError):
            secrets.get("temp")
        assert secrets.names() == []
        secrets.put("temp", "v2")
        assert secrets.get("temp") == "v2"

    def test_deleting_a_missing_secret_is_not_found(self, secrets: SecretStore) -> None:
        with pytest.raises(NotFoundError):
            secrets.delete("nope")

    @pytest.mark.parametrize("name", ["", "with space", "ünïcode", "x" * 513, "semi;colon"])
    def test_a_name_secrets_manager_would_refuse_is_an_invalid_request(
        self, secrets: SecretStore, name: str
    ) -> None:
        with pytest.raises(InvalidRequestError):
            secrets.put(name, "v")

    def test_names_are_sorted_filtered_by_prefix_and_carry_no_values(
        self, secrets: SecretStore
    ) -> None:
        for name in ["costs/gcp", "costs/azure", "edge/jwt", "costs-legacy"]:
            secrets.put(name, PLAINTEXT)

        assert secrets.names("costs/") == ["costs/azure", "costs/gcp"]
        assert secrets.names() == ["costs-legacy", "costs/azure", "costs/gcp", "edge/jwt"]
        assert secrets.names("none/") == []
        assert PLAINTEXT not in repr(secrets.names())


# -- the encrypted file adapter ------------------------------------------------------


class TestFileSecretStore(SecretStoreContract):
    @pytest.fixture
    def secrets(self, tmp_path: Path) -> SecretStore:
        from stratus.platform.adapters.local.secrets import FileSecretStore

        return FileSecretStore(tmp_path / "secrets.sqlite3", tmp_path / "keys" / "secrets.key")

    def test_no_file_on_disk_contains_the_plaintext(
        self, secrets: SecretStore, tmp_path: Path
    ) -> None:
        secrets.put("db/password", PLAINTEXT)
        secrets.put("db/password", PLAINTEXT + "-v2")

        files = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert files
        for path in files:
            assert PLAINTEXT.encode() not in path.read_bytes(), path

    def test_the_key_is_generated_on_first_use_readable_by_the_owner_only(
        self, secrets: SecretStore, tmp_path: Path
    ) -> None:
        key = tmp_path / "keys" / "secrets.key"
        assert not key.exists()

        secrets.put("a", "b")

        assert stat.S_IMODE(key.stat().st_mode) == 0o600

    def test_secrets_survive_reopening_the_store(self, tmp_path: Path) -> None:
        from stratus.platform.adapters.local.secrets import FileSecretStore

        FileSecretStore(tmp_path / "s.db", tmp_path / "k").put("a", PLAINTEXT)

        assert FileSecretStore(tmp_path / "s.db", tmp_path / "k").get("a") == PLAINTEXT

    def test_a_wrong_key_file_is_reported_as_such_on_get_and_put(self, tmp_path: Path) -> None:
        from cryptography.fernet import Fernet

        from stratus.platform.adapters.local.secrets import FileSecretStore

        FileSecretStore(tmp_path / "s.db", tmp_path / "k").put("a", PLAINTEXT)
        (tmp_path / "other.key").write_bytes(Fernet.generate_key())
        wrong = FileSecretStore(tmp_path / "s.db", tmp_path / "other.key")

        with pytest.raises(BackendUnavailableError, match="wrong key"):
            wrong.get("a")
        with pytest.raises(BackendUnavailableError, match="wrong key"):
            wrong.put("b", "x")
        assert wrong.names() == ["a"]  # names need no key

    def test_a_missing_key_file_is_reported_and_not_silently_replaced(self, tmp_path: Path) -> None:
        from stratus.platform.adapters.local.secrets import FileSecretStore

        FileSecretStore(tmp_path / "s.db", tmp_path / "k").put("a", PLAINTEXT)
        (tmp_path / "k").unlink()

        with pytest.raises(BackendUnavailableError, match="missing"):
            FileSecretStore(tmp_path / "s.db", tmp_path / "k").get("a")
        assert not (tmp_path / "k").exists()

    def test_a_key_file_of_garbage_is_a_backend_error(self, tmp_path: Path) -> None:
        from stratus.platform.adapters.local.secrets import FileSecretStore

        (tmp_path / "k").write_bytes(b"not a fernet key")

        with pytest.raises(BackendUnavailableError, match="valid Fernet key"):
            FileSecretStore(tmp_path / "s.db", tmp_path / "k").put("a", "b")

    def test_a_corrupt_store_file_is_a_backend_error(self, tmp_path: Path) -> None:
        from stratus.platform.adapters.local.secrets import FileSecretStore

        (tmp_path / "s.db").write_bytes(b"this is not a database" * 100)

        with pytest.raises(BackendUnavailableError):
            FileSecretStore(tmp_path / "s.db", tmp_path / "k")


# -- the Secrets Manager adapter on moto ---------------------------------------------


class TestSecretsManagerSecretStore(SecretStoreContract):
    @pytest.fixture
    def secrets(self, moto_aws: None) -> SecretStore:
        import boto3

        from stratus.platform.adapters.aws.secrets import SecretsManagerSecretStore

        client = boto3.client("secretsmanager", region_name="us-east-1")
        return SecretsManagerSecretStore(client=client)

    def test_the_store_prefix_namespaces_the_secrets(self, moto_aws: None) -> None:
        import boto3

        from stratus.platform.adapters.aws.secrets import SecretsManagerSecretStore

        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name="other-app/x", SecretString="nope")
        store = SecretsManagerSecretStore(prefix="stratus/costs/", client=client)

        store.put("gcp", "v")

        assert client.get_secret_value(SecretId="stratus/costs/gcp")["SecretString"] == "v"
        assert store.names() == ["gcp"]
        assert store.get("gcp") == "v"

    def test_a_customer_kms_key_encrypts_the_secret(self, moto_aws: None) -> None:
        import boto3

        from stratus.platform.adapters.aws.secrets import SecretsManagerSecretStore

        key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
        client = boto3.client("secretsmanager", region_name="us-east-1")
        store = SecretsManagerSecretStore(kms_key_id=key_id, client=client)

        store.put("a", "b")

        assert client.describe_secret(SecretId="a")["KmsKeyId"] == key_id
        assert store.get("a") == "b"

    def test_an_unreachable_endpoint_is_a_backend_outage(
        self, unreachable_client: Callable[[str], Any]
    ) -> None:
        from stratus.platform.adapters.aws.secrets import SecretsManagerSecretStore

        store = SecretsManagerSecretStore(client=unreachable_client("secretsmanager"))

        with pytest.raises(BackendUnavailableError):
            store.get("a")
        with pytest.raises(BackendUnavailableError):
            store.put("a", "b")
        with pytest.raises(BackendUnavailableError):
            store.names()


# -- a backend that cannot be reached ------------------------------------------------


