"""Composition root of the costs solution: the only place that picks adapters.

Handlers call the functions here; resources come from ``stratus.platform.connect`` with the
identifiers the SAM template puts in the environment, so the same code runs on AWS and locally.

ETL (data path): :func:`etl_ports` and :func:`facts`.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from stratus.platform import connect
from stratus.platform.ports import Clock, ObjectStore, QueueBroker, TableStore
from stratus.solutions.costs.accounts import AccountPorts
from stratus.solutions.costs.costapi import CostApi, CostQueryError
from stratus.solutions.costs.domain.accounts import Credential
from stratus.solutions.costs.ports import FactStore
from stratus.solutions.costs.uploader import UploaderPorts

# ---- ETL (data path) ---------------------------------------------------------------------


@dataclass(frozen=True)
class EtlPorts:
    """Everything the ETL use cases need."""

    files: TableStore
    objects: ObjectStore
    queues: QueueBroker
    facts: FactStore
    clock: Clock
    queue_prefix: str
    chunk_rows: int
    files_ttl_days: int


_facts_lock = threading.Lock()
_facts: dict[str, FactStore] = {}


def facts_for(url: str | None, home: Path) -> FactStore:
    """The fact store for a PostgreSQL URL, else DuckDB at ``home/costs/facts.duckdb``
    (one per process and location)."""
    key = url or str(home.resolve() / "costs" / "facts.duckdb")
    with _facts_lock:
        store = _facts.get(key)
        if store is None:
            if url:
                from stratus.solutions.costs.adapters.postgres_facts import PostgresFactStore

                store = PostgresFactStore(url)
            else:
                from stratus.solutions.costs.adapters.duckdb_facts import DuckDbFactStore

                store = DuckDbFactStore(key)
            _facts[key] = store
        return store


def facts() -> FactStore:
    """The fact store named by FACTS_URL (empty: DuckDB under STRATUS_HOME)."""
    return facts_for(os.environ.get("FACTS_URL") or None, connect.home())


def etl_ports() -> EtlPorts:
    """ETL ports from the environment the template declares."""
    return EtlPorts(
        files=connect.table(os.environ["FILES_TABLE"]),
        objects=connect.bucket(os.environ["REPORTS_BUCKET"]),
        queues=connect.queue_broker(),
        facts=facts(),
        clock=connect.clock(),
        queue_prefix=os.environ.get("ETL_QUEUE_PREFIX", "costs-etl-"),
        chunk_rows=int(os.environ.get("CHUNK_ROWS") or 20000),
        files_ttl_days=int(os.environ.get("FILES_TTL_DAYS") or 30),
    )


# ---- end of ETL ----------------------------------------------------------------------------

# ---- Credentials API, uploader, cost API (4b) ----------------------------------------------


def account_ports() -> AccountPorts:
    """Credentials API ports: the credentials table, the secret store, the clock."""
    return AccountPorts(
        table=connect.table(os.environ["CREDENTIALS_TABLE"]),
        secrets=connect.secrets(),
        clock=connect.clock(),
    )


def uploader_ports() -> UploaderPorts:
    """Uploader ports: the accounts, the reports bucket and buckets by name."""
    return UploaderPorts(
        accounts=account_ports(),
        reports=connect.bucket(os.environ["REPORTS_BUCKET"]),
        bucket=connect.bucket,
    )


def cost_api_for(credential: Credential, secret: str | None) -> CostApi:
    """The provider cost API reached with a client's credential (aws or azure)."""
    access = credential.access
    if credential.provider == "aws":
        from stratus.platform.adapters.aws.external import external_session
        from stratus.solutions.costs.adapters.aws_cost_explorer import CostExplorerCostApi

        session = external_session(
            access_key_id=access.get("access_key_id"),
            secret_access_key=secret if access.get("access_key_id") else None,
            role_arn=access.get("role_arn"),
            external_id=access.get("external_id"),
            region=access.get("region"),
        )
        return CostExplorerCostApi(session, endpoint_url=access.get("endpoint_url"))
    if credential.provider == "azure":
        from stratus.solutions.costs.adapters.azure_cost_query import AzureCostQueryApi

        scope = access.get("scope") or (
            f"subscriptions/{access['subscription_id']}" if access.get("subscription_id") else ""
        )
        if not scope:
            raise CostQueryError(["credential: azure needs Access.scope or Access.subscription_id"])
        return AzureCostQueryApi(
            tenant_id=access["tenant_id"],
            client_id=access["client_id"],
            client_secret=secret or "",
            scope=scope,
        )
    raise CostQueryError([f"credential: {credential.provider} credentials have no cost API"])


# ---- end of 4b ---------------------------------------------------------------------------------
