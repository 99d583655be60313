"""One contract for the regex-pattern-set port: the bot-table adapter and WAFv2 (moto)."""

from __future__ import annotations

import pytest

from stratus.platform.adapters.local.table import SqliteTableStore
from stratus.platform.ports.table import TableSpec
from stratus.solutions.edge import service
from stratus.solutions.edge.patternsets import PatternSetLockedError, TablePatternSetStore


class PatternSetContract:
    name: str

    def test_update_with_the_current_token_replaces_the_patterns(self, store):
        current = store.get(self.name)
        store.update(self.name, ["foo", "bar"], current.lock_token)
        assert store.get(self.name).patterns == ("foo", "bar")

    def test_a_stale_token_is_refused(self, store):
        current = store.get(self.name)
        store.update(self.name, ["one"], current.lock_token)
        with pytest.raises(PatternSetLockedError):
            store.update(self.name, ["two"], current.lock_token)
        assert store.get(self.name).patterns == ("one",)

    def test_each_update_gives_a_new_token(self, store):
        first = store.update(self.name, ["a"], store.get(self.name).lock_token)
        second = store.update(self.name, ["b"], first)
        assert first != second
        assert store.get(self.name).lock_token == second

    def test_refresh_from_the_bot_table_goes_through_the_port(self, store, tmp_path, clock):
        table = SqliteTableStore(tmp_path / "b.sqlite3", TableSpec("Bots"), clock=clock)
        table.put({"PK": "BOTUA", "SK": "Mozilla/5.0 (X11) Gecko/20100101 Firefox/99.0 Zyxelia"})
        result = service.refresh_pattern_set(table, store, self.name)
        assert result.changed
        assert store.get(self.name).patterns == ("zyxelia",)


class TestTablePatternSetStore(PatternSetContract):
    name = "ReportedBotPatternSet"

    @pytest.fixture
    def store(self, tmp_path, clock):
        table = SqliteTableStore(tmp_path / "t.sqlite3", TableSpec("Bots"), clock=clock)
        return TablePatternSetStore(table)


class TestWafv2PatternSetStore(PatternSetContract):
    @pytest.fixture
    def store(self, moto_aws):
        import boto3

        from stratus.solutions.edge.adapters.wafv2 import Wafv2PatternSetStore

        client = boto3.client("wafv2", region_name="us-east-1")
        made = client.create_regex_pattern_set(
            Name="reported-bots", Scope="CLOUDFRONT", RegularExpressionList=[{"RegexString": "^x$"}]
        )["Summary"]
        self.name = f"reported-bots|{made['Id']}|CLOUDFRONT"  # what CloudFormation's Ref gives
        return Wafv2PatternSetStore(client)
