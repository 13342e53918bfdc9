"""The app's server-side sources: only what the operator's directory offers can be opened."""

from __future__ import annotations

import duckdb
import pytest

from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.engines.catalog import list_sources, open_entry
from auditapp.service.source_jobs import audit_source_state, dataset_info_for, open_source
from auditapp.service.store import ArtifactStore
from tests.engines.data import audit_frame, write_parts


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    folder = tmp_path_factory.mktemp("offered")
    frame = audit_frame(3000, seed=4)
    (folder / "logs").mkdir()
    write_parts(frame, folder / "logs", parts=2)
    frame.to_csv(folder / "small.csv", index=False)
    con = duckdb.connect(str(folder / "warehouse.duckdb"))
    con.register("f", frame)
    con.execute("CREATE TABLE decisions AS SELECT * FROM f")
    con.close()
    (folder / "notes.txt.bak").write_text("not data")
    return folder


def test_lists_files_folders_and_tables(root):
    keys = [e.key for e in list_sources(str(root))]
    assert keys == ["duckdb:warehouse.duckdb?table=decisions", "logs/*.parquet", "logs/part-0.parquet",
                    "logs/part-1.parquet", "small.csv"]


def test_only_offered_entries_open(root, tmp_path, use_limits):
    use_limits(data_sources=str(root))
    assert open_entry("logs/*.parquet").paths[0].endswith("part-0.parquet")
    assert open_entry("duckdb:warehouse.duckdb?table=decisions").table == "decisions"
    (tmp_path / "secret.parquet").write_bytes(b"")
    for key in ("../" + tmp_path.name + "/secret.parquet", str(tmp_path / "secret.parquet"), "logs/*",
                "duckdb:warehouse.duckdb?table=duckdb_settings"):
        with pytest.raises(AuditInputError, match="not on offer"):
            open_entry(key)
    use_limits()
    with pytest.raises(AuditInputError, match="AUDITAPP_DATA_SOURCES"):
        open_entry("small.csv")


def test_open_then_audit_the_whole_source(root, tmp_path, use_limits):
    use_limits(data_sources=str(root))
    store = ArtifactStore(tmp_path / "store")
    token = store.new_session()
    seen = []
    state, message = open_source(store, token, "logs/*.parquet", progress=lambda f, t: seen.append(f))
    assert "3,000 rows" in message and state["source"] == "logs/*.parquet" and seen[-1] == 1.0
    state["spec"] = AuditSpec(target="y", favorable="yes", sensitive=("sex",), score="score").to_dict()
    new_state, audit, statement = audit_source_state(store, token, state, sample_rows=800)
    assert audit.result.n_rows == 3000 and audit.engine == "duckdb" and audit.score_grid is not None
    assert new_state["dataset"] != state["dataset"] and "stratified" in statement
    info = dataset_info_for(store, token, new_state)
    assert info["rows"] == 3000 and len(info["sha256"]) == 64 and info["sample"] == statement
    with pytest.raises(AuditInputError, match="Read as missing"):
        audit_source_state(store, token, dict(new_state, missing_values=["NA"]))
