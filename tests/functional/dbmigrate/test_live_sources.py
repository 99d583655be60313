"""Live sources by SQLAlchemy URL: SQLite and MariaDB into PostgreSQL, delta, verify."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pymysql
import pytest
from click.testing import Result
from sqlalchemy.engine import make_url

from tests.functional.dbmigrate.conftest import pg_execute, pg_rows

pytestmark = pytest.mark.postgres
Migrate = Callable[..., Result]


def test_a_sqlite_database_migrates_and_verifies(
    migrate: Migrate, pg_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "src.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE Artist (ArtistId INTEGER PRIMARY KEY, Name NVARCHAR(120));
        CREATE TABLE Album (AlbumId INTEGER NOT NULL PRIMARY KEY, Title NVARCHAR(160) NOT NULL,
            ArtistId INTEGER NOT NULL REFERENCES Artist (ArtistId), Price NUMERIC(10,2),
            Released DATETIME, Explicit BOOLEAN NOT NULL DEFAULT 0, Cover BLOB);
        CREATE INDEX IFK_AlbumArtistId ON Album (ArtistId);
        INSERT INTO Artist VALUES (1, 'AC/DC'), (2, NULL);
        INSERT INTO Album VALUES (1, 'For Those About To Rock', 1, 0.99, '2021-01-01 00:00:00',
            0, x'00ff'), (2, 'Untitled', 2, NULL, NULL, 1, NULL);
        """
    )
    db.commit()
    db.close()
    source = f"sqlite:///{path}"
    result = migrate("full", "--source", source, "--target", pg_url)
    assert result.exit_code == 0, result.output
    assert pg_rows(pg_url, "SELECT title, price, explicit, cover FROM album ORDER BY 1") == [
        ("For Those About To Rock", Decimal("0.99"), False, b"\x00\xff"),
        ("Untitled", None, True, None),
    ]
    assert migrate("verify", "--source", source, "--target", pg_url).exit_code == 0


MARIADB_SCHEMA = [
    """CREATE TABLE customer (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL,
        active TINYINT(1) NOT NULL DEFAULT 1, balance DECIMAL(10,2) DEFAULT 0, score DOUBLE,
        born DATE, notes TEXT, photo BLOB,
        updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
            ON UPDATE CURRENT_TIMESTAMP(6),
        CONSTRAINT ck_balance CHECK (balance >= -1000), UNIQUE KEY uq_name (name))""",
    """CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL,
        total DECIMAL(12,2) NOT NULL, at TIME,
        updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
            ON UPDATE CURRENT_TIMESTAMP(6),
        CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customer (id))""",
    """INSERT INTO customer (name, active, balance, score, born, notes, photo) VALUES
        ('Ann', 1, 10.50, 1.5, '1980-01-02', 'héllo', X'00FF'),
        ('Bob', 0, -3.25, NULL, NULL, NULL, NULL), ('Cy', 1, 0, 2.25, '1999-12-31', 'x', NULL)""",
    """INSERT INTO orders (customer_id, total, at) VALUES (1, 9.99, '12:30:00'),
        (1, 5.00, NULL), (2, 7.50, '08:00:01')""",
]


def _mysql(url: str, *statements: str) -> list[tuple[object, ...]]:
    parsed = make_url(url)
    connection = pymysql.connect(
        host=parsed.host, port=parsed.port or 3306, user=parsed.username,
        password=parsed.password or "", database=parsed.database, autocommit=True,
    )  # fmt: skip
    rows: list[tuple[object, ...]] = []
    with connection, connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
            rows = list(cursor.fetchall())
    return rows


def test_mariadb_full_then_delta_after_changes_then_verify(
    migrate: Migrate, pg_url: str, mariadb_url: str
) -> None:
    _mysql(mariadb_url, *MARIADB_SCHEMA)
    full = migrate("full", "--source", mariadb_url, "--target", pg_url)
    assert full.exit_code == 0, full.output
    assert "ON UPDATE CURRENT_TIMESTAMP is not migrated" in full.output
    assert migrate("verify", "--source", mariadb_url, "--target", pg_url).exit_code == 0

    # GIVEN the watermark taken before the changes (DATETIME(6): microseconds)
    watermark = str(_mysql(mariadb_url, "SELECT NOW(6)")[0][0])
    time.sleep(0.01)
    _mysql(
        mariadb_url,
        "INSERT INTO customer (name, balance) VALUES ('Dee', 99.5)",
        "UPDATE customer SET balance = 42 WHERE name = 'Bob'",
        "DELETE FROM orders WHERE id = 2",
        "DELETE FROM customer WHERE name = 'Cy'",
        "INSERT INTO orders (customer_id, total) VALUES (4, 1.25)",
    )
    stale = migrate("verify", "--source", mariadb_url, "--target", pg_url)
    assert stale.exit_code == 1

    # WHEN the delta runs
    delta = migrate(
        "delta", "--source", mariadb_url, "--target", pg_url, "--since", watermark,
        "--watermark", "customer=updated_at", "--watermark", "orders=updated_at",
    )  # fmt: skip
    # THEN only changed rows moved, deletions were found by key set, and verify passes
    assert delta.exit_code == 0, delta.output
    assert "customer: 2 upserted, 1 deleted" in delta.output
    assert "orders: 1 upserted, 1 deleted" in delta.output
    assert migrate("verify", "--source", mariadb_url, "--target", pg_url).exit_code == 0
    assert pg_rows(pg_url, "SELECT balance FROM customer WHERE name = 'Bob'") == [
        (Decimal("42.00"),)
    ]
    assert pg_rows(pg_url, "INSERT INTO customer (name) VALUES ('new') RETURNING id") == [(5,)]

    # AND verify catches a deliberately corrupted row
    pg_execute(pg_url, "DELETE FROM customer WHERE name = 'new'")
    pg_execute(pg_url, "UPDATE orders SET total = total + 0.01 WHERE id = 1")
    corrupted = migrate("verify", "--source", mariadb_url, "--target", pg_url)
    assert corrupted.exit_code == 1
    assert "orders" in corrupted.output


def test_delta_from_a_script_is_refused_clearly(migrate: Migrate, pg_url: str) -> None:
    from tests.functional.dbmigrate.conftest import FIXTURES

    shop = str(FIXTURES / "shop.sql")
    assert migrate("full", "--source", shop, "--target", pg_url).exit_code == 0
    result = migrate("delta", "--source", shop, "--target", pg_url, "--since", "2020-01-01",
                     "--watermark", "Orders=OrderDate")  # fmt: skip
    assert result.exit_code == 2
    assert "delta needs a live source" in result.output
