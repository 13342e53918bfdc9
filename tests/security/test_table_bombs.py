"""Tables that are small on disk and huge once read are refused before they are decoded.

The memory checks run the real upload route and the real CLI in a child process and read that
process's peak resident memory (``ru_maxrss``), so an allocation anywhere on the way would show.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from auditapp.core.errors import AuditInputError, LimitExceededError
from auditapp.inputs.intake import Limits, read_table
from tests.facts import says

ROOT = Path(__file__).resolve().parents[2]
MB = 1024**2


def zero_bomb(path: Path, rows: int = 5_000_000, columns: int = 50) -> Path:
    """The attacker's file: ``rows`` × ``columns`` int64 zeros, about 1 MB on disk (2 GB once read)."""
    zeros = pa.array(np.zeros(rows, dtype=np.int64))
    pq.write_table(pa.table({f"c{i}": zeros for i in range(columns)}), path, compression="zstd")
    return path


def dictionary_bomb(rows: int = 1_000_000, length: int = 100_000) -> bytes:
    """One 100 KB string on every row, stored once in the dictionary page: 6 KB on disk, 93 GB once read."""
    column = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["x" * length]))
    buffer = io.BytesIO()
    # Without the stored Arrow schema the column is read back as plain strings (a pandas str column).
    pq.write_table(pa.table({"name": column, "y": np.zeros(rows, dtype=np.int8)}), buffer,
                   compression="zstd", store_schema=False)
    return buffer.getvalue()


UPLOAD = textwrap.dedent("""
    import json, resource, sys, tempfile
    from pathlib import Path
    from flask import Flask
    from auditapp.service.config import Settings
    from auditapp.service.store import ArtifactStore
    from callbacks.routes import register_routes

    data, name = Path(sys.argv[1]).read_bytes(), sys.argv[2]
    root = tempfile.mkdtemp()
    store = ArtifactStore(Path(root) / "store", redis_url="")
    server = Flask("bomb")
    register_routes(server, store, Settings(data_dir=str(Path(root) / "store")))
    client, token = server.test_client(), store.new_session()
    client.post("/api/upload/dataset", data=b"a,b\\n1,2\\n", headers={"X-Auditapp-Session": token, "X-Filename": "warm.csv"})
    cached = lambda: sum(p.stat().st_size for p in (Path(root) / "store" / "cache").iterdir())
    before, cache_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, cached()
    answer = client.post("/api/upload/dataset", data=data, headers={"X-Auditapp-Session": token, "X-Filename": name})
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"status": answer.status_code, "body": answer.get_json(), "growth_kb": after - before,
                      "cache_bytes": cached() - cache_before}))
""")


def _child_peak_kb(args: list[str]) -> tuple[int, str, int]:
    """Run a command; return its exit status, its stderr and its own peak resident memory in KB."""
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, text=True)
    with child.stderr:
        err = child.stderr.read()
    _pid, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not every child's maximum
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, err, usage.ru_maxrss


def test_zero_bomb_is_refused_through_the_upload_route_before_memory_grows(tmp_path):
    bomb = zero_bomb(tmp_path / "bomb.parquet")
    assert bomb.stat().st_size < 2 * MB
    out = subprocess.run([sys.executable, "-c", UPLOAD, str(bomb), "bomb.parquet"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["status"] == 200
    assert report["body"]["error"].startswith(
        "bomb.parquet has 5,000,000 rows × 50 columns = 250,000,000 cells, more than the limit of 50,000,000")
    assert "AUDITAPP_MAX_CELLS" in report["body"]["error"]
    assert report["growth_kb"] < 64 * 1024  # was 6.4 GB: the table was decoded, then pickled
    assert report["cache_bytes"] == 0


def test_zero_bomb_is_refused_by_the_cli_before_memory_grows(tmp_path):
    bomb = zero_bomb(tmp_path / "bomb.parquet")
    small = tmp_path / "small.parquet"
    pd.DataFrame({"c0": [0, 1] * 50, "c1": [1, 0] * 50, "c2": ["a", "b"] * 50}).to_parquet(small)
    command = [sys.executable, "-m", "auditapp.cli", "audit", "--target", "c0", "--prediction", "c1",
               "--sensitive", "c2", "--bootstrap", "0", "--data"]
    status, err, peak = _child_peak_kb([*command, str(bomb)])
    _, _, baseline = _child_peak_kb([*command, str(small)])
    assert status == 2 and "250,000,000 cells" in err and "Traceback" not in err
    assert peak < baseline + 64 * 1024  # was 4.7 GB before refusing


def test_repeated_long_string_is_refused_before_it_is_expanded():
    data = dictionary_bomb()
    assert len(data) < 64 * 1024
    with pytest.raises(LimitExceededError, match=r"would take about 93\.1 GB of memory once read "
                                                 r"\(1,000,000 rows × 2 columns\).*AUDITAPP_MAX_TABLE_MEMORY"):
        read_table(data, filename="names.parquet")


def test_dictionary_bomb_stays_bounded_in_a_child_process(tmp_path):
    path = tmp_path / "names.parquet"
    path.write_bytes(dictionary_bomb())
    out = subprocess.run([sys.executable, "-c", UPLOAD, str(path), "names.parquet"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert "93.1 GB" in report["body"]["error"] and report["growth_kb"] < 64 * 1024


def test_footer_estimate_uses_the_column_types():
    frame = pd.DataFrame({f"x{i}": np.zeros(20_000) for i in range(10)} | {"s": ["abc"] * 20_000})
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    limits = Limits(max_memory=1 * MB)
    with pytest.raises(LimitExceededError, match=r"t\.parquet would take about 2 MB of memory once read "
                                                 r"\(20,000 rows × 11 columns\), more than the limit of 1 MB"):
        read_table(buffer.getvalue(), filename="t.parquet", limits=limits)
    assert read_table(buffer.getvalue(), filename="t.parquet", limits=Limits(max_memory=3 * MB)).rows == 20_000


def test_cells_limit_applies_to_csv_before_parsing():
    data = ("a,b,c\n" + "1,2,3\n" * 1000).encode()
    with pytest.raises(LimitExceededError, match=r"c\.csv has 1,000 rows × 3 columns = 3,000 cells, more than "
                                                 r"the limit of 2,999 cells"):
        read_table(data, filename="c.csv", limits=Limits(max_cells=2_999))
    assert read_table(data, filename="c.csv", limits=Limits(max_cells=3_000)).rows == 1000


def test_a_long_line_of_separators_is_refused_from_a_count():
    data = b"a,b\n" + b"," * 3_000_000 + b"\n"
    with pytest.raises(LimitExceededError, match=r"commas\.csv has more than 3,000,001 cells \(3,000,001 "
                                                 r"separators between values\), more than the limit of 1,000,000"):
        read_table(data, filename="commas.csv", limits=Limits(max_cells=1_000_000, max_columns=5))


def test_oversized_parquet_footer_is_refused_before_it_is_parsed():
    data = b"PAR1" + b"\0" * 64 + (64 * MB).to_bytes(4, "little") + b"PAR1"
    with pytest.raises(LimitExceededError, match=r"footer \(its table of contents\) of 64 MB, more than the 32 MB"):
        read_table(data, filename="f.parquet")


def test_truncated_parquet_is_named_as_such():
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1, 2]}).to_parquet(buffer)
    with pytest.raises(AuditInputError, match="not a valid Parquet file .*truncated"):
        read_table(buffer.getvalue()[:-3], filename="cut.parquet")


def test_hundred_thousand_columns_get_the_column_limit_message(upload, answers_normally):
    n = 100_000
    data = (",".join(f"c{i}" for i in range(n)) + "\n" + ",".join("1" * n) + "\n").encode()
    status, body = upload("dataset", "wide.csv", data)
    assert status == 200
    says(body["error"], "wide.csv", "100,000 columns", "limit of 5,000", "AUDITAPP_MAX_COLUMNS", "drop columns")
    answers_normally()


def test_wide_header_with_long_names_under_the_limit_is_read():
    """A header longer than the csv module's field limit (131,072 characters) in one field per wrong separator."""
    names = [f"{'column_with_a_long_descriptive_name_'}{i:05d}" for i in range(4_000)]
    data = ("\t".join(names) + "\n" + "\t".join("1" * 4_000) + "\n").encode()
    assert len(data) > 131_072
    dataset = read_table(data, filename="wide.tsv")
    assert dataset.columns == names and dataset.rows == 1


def test_a_single_value_over_the_csv_field_limit_is_explained():
    data = b"a,b\n" + b"x" * 200_000 + b",1\n"
    dataset = read_table(data, filename="long.csv")  # pandas has no field limit: it is read
    assert len(dataset.frame["a"][0]) == 200_000
    with pytest.raises(AuditInputError, match="a value longer than 131,072 characters"):
        read_table(b"x" * 200_000 + b"\n1\n", filename="one.csv")
