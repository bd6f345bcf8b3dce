"""The indexer's durable position: catch-up after a restart, reindex, cross-process visibility."""

from __future__ import annotations

import json
import time
from pathlib import Path

from click.testing import CliRunner

from charter.app import create_app
from charter.cli import main
from charter.config import Settings
from tests.catalog.conftest import ORDER, Catalog, _close


def _position(app, outbox: str) -> int:
    return app.extensions["charter.catalog"].store.position(outbox)


def test_position_is_saved_and_a_restart_catches_up(tmp_path: Path) -> None:
    first = create_app(Settings(data_dir=tmp_path))
    cat = Catalog(first)
    cat.register("orders-value", ORDER)
    assert _position(first, "registry_outbox") == 1
    # Stop following, then change the registry: the catalog does not know yet.
    first.extensions["charter.events"].stop()
    response = cat.client.post(
        "/subjects/contacts-value/versions",
        json={
            "schema": json.dumps(
                {"type": "record", "name": "C", "fields": [{"name": "email", "type": "string"}]}
            )
        },
    )
    assert response.status_code == 200
    assert cat.names("email", type="field") == ["field:orders-value:customer.customerEmail"]
    _close(first)

    second = create_app(Settings(data_dir=tmp_path))  # resumes from position 1
    try:
        cat2 = Catalog(second)
        cat2.sync()
        assert "field:contacts-value:email" in cat2.names("email")
        assert _position(second, "registry_outbox") == 2
    finally:
        _close(second)


def test_the_follower_thread_indexes_without_help(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    try:
        client = app.test_client()
        client.post("/subjects/orders-value/versions", json={"schema": json.dumps(ORDER)})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = client.get("/catalog/v1/search?q=sku").json["total"]
            if found:
                break
            time.sleep(0.02)
        assert found == 1
    finally:
        _close(app)


def test_a_fresh_catalog_over_existing_data_rebuilds(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    cat = Catalog(app)
    cat.register("orders-value", ORDER)
    database = app.extensions["charter.database"]
    database.execute_sql("DELETE FROM catalog_position")
    database.execute_sql("DELETE FROM catalog_fts")
    database.execute_sql("DELETE FROM catalog_label")
    database.execute_sql("DELETE FROM catalog_entity")
    _close(app)
    again = create_app(Settings(data_dir=tmp_path))
    try:
        assert Catalog(again).names("sku") == ["field:orders-value:lines.sku"]
    finally:
        _close(again)


def test_reindex_command_rebuilds_from_the_database(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    cat = Catalog(app)
    cat.register("orders-value", ORDER)
    qn = "field:orders-value:lines.sku"
    cat.client.post(f"/catalog/v1/entities/{qn}/tags", json={"value": "inventory"})
    database = app.extensions["charter.database"]
    database.execute_sql("DELETE FROM catalog_fts")
    assert cat.names("sku") == []
    _close(app)

    result = CliRunner().invoke(main, ["catalog", "reindex", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "9 entities" in result.output

    again = create_app(Settings(data_dir=tmp_path))
    try:
        cat2 = Catalog(again)
        assert cat2.names("sku") == [qn]
        assert cat2.names("", tag="inventory") == [qn]
    finally:
        _close(again)


def test_events_are_applied_once_by_competing_workers(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    other = create_app(Settings(data_dir=tmp_path))  # a second worker over the same database
    try:
        cat = Catalog(app)
        for index in range(5):
            schema = {
                "type": "record",
                "name": f"R{index}",
                "fields": [{"name": "f", "type": "int"}],
            }
            cat.client.post(
                f"/subjects/s{index}-value/versions", json={"schema": json.dumps(schema)}
            )
        Catalog(other).sync()
        cat.sync()
        assert cat.search(type="subject")["total"] == 5
        assert _position(app, "registry_outbox") == 5
    finally:
        _close(other)
        _close(app)
