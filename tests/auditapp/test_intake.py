"""Tests for auditapp.inputs.intake: reading CSV and Parquet uploads into a Dataset."""

import hashlib
import io

import numpy as np
import pandas as pd
import pytest

from auditapp.core.errors import AuditInputError, LimitExceededError
from auditapp.inputs.intake import Dataset, Limits, read_table, sha256_bytes, sha256_file


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


# --- happy paths ---------------------------------------------------------------------------

def test_comma_csv_reads_values_and_types():
    ds = read_table(b"age,group,hired\n30,a,1\n41,b,0\n", filename="people.csv")
    assert ds.columns == ["age", "group", "hired"]
    assert ds.rows == 2
    assert ds.frame["age"].tolist() == [30, 41]
    assert ds.frame["group"].tolist() == ["a", "b"]
    assert ds.format == "csv"
    assert ds.name == "people.csv"
    assert ds.notices == ()
    assert ds.dtypes["age"] == "int64"


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_other_delimiters_are_sniffed(delimiter):
    text = delimiter.join(["x", "y", "z"]) + "\n" + delimiter.join(["1", "2,5", "c"]) + "\n"
    ds = read_table(text.encode(), filename="data.csv")
    assert ds.columns == ["x", "y", "z"]
    assert ds.frame.iloc[0].tolist() == [1, "2,5", "c"]


def test_utf8_bom_is_removed_from_first_column_name():
    ds = read_table(b"\xef\xbb\xbfname,score\nZo\xc3\xab,1\n", filename="bom.csv")
    assert ds.columns == ["name", "score"]
    assert ds.frame["name"].tolist() == ["Zoë"]
    assert ds.notices == ()


def test_latin1_is_read_with_a_notice():
    data = "name,city\nJosé,München\n".encode("latin-1")
    ds = read_table(data, filename="old.csv")
    assert ds.frame.iloc[0].tolist() == ["José", "München"]
    assert len(ds.notices) == 1
    assert "old.csv is not UTF-8; read it as Latin-1" in ds.notices[0]


def test_utf16_with_bom_is_read_with_a_notice():
    ds = read_table("a,b\n1,é\n".encode("utf-16"), filename="excel.csv")
    assert ds.frame.iloc[0].tolist() == [1, "é"]
    assert "UTF-16" in ds.notices[0]


def test_column_names_are_stripped_strings():
    ds = read_table(b" a , b\t,1\n1,2,3\n", filename="x.csv")
    assert ds.columns == ["a", "b", "1"]


def test_quoted_fields_with_separators_and_newlines_keep_every_row():
    data = b'id,text\n1,"hello, world"\n2,"two\nlines"\n3,plain\n'
    ds = read_table(data, filename="q.csv")
    assert ds.frame["text"].tolist() == ["hello, world", "two\nlines", "plain"]


def test_crlf_and_blank_lines_do_not_add_or_drop_rows():
    ds = read_table(b"a,b\r\n1,2\r\n\r\n3,4\r\n", filename="win.csv")
    assert ds.frame.values.tolist() == [[1, 2], [3, 4]]


def test_empty_header_name_gets_a_name_and_a_notice():
    ds = read_table(b",score\n0,5\n1,6\n", filename="idx.csv")
    assert ds.columns == ["unnamed_1", "score"]
    assert "no name" in ds.notices[0]


def test_numeric_header_gets_a_notice():
    ds = read_table(b"1,2\n3,4\n", filename="nohead.csv")
    assert any("looks like data" in n for n in ds.notices)


def test_parquet_from_bytes_by_extension_and_by_magic():
    frame = pd.DataFrame({"x": [1, 2, 3], "g": ["a", "b", "a"], "y": [0.5, np.nan, 1.0]})
    data = parquet_bytes(frame)
    for filename in ("t.parquet", None):
        ds = read_table(data, filename=filename)
        assert ds.format == "parquet"
        assert ds.columns == ["x", "g", "y"]
        assert ds.frame["x"].tolist() == [1, 2, 3]
        assert ds.frame["y"].isna().tolist() == [False, True, False]


def test_parquet_named_csv_is_read_as_parquet_with_notice():
    ds = read_table(parquet_bytes(pd.DataFrame({"a": [1], "b": [2]})), filename="wrong.csv")
    assert ds.format == "parquet"
    assert "holds Parquet" in ds.notices[0]


def test_parquet_with_index_keeps_it_as_a_column():
    frame = pd.DataFrame({"v": [1, 2]}, index=pd.Index(["p", "q"], name="id"))
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    ds = read_table(buffer.getvalue(), filename="i.parquet")
    assert ds.columns == ["id", "v"]
    assert ds.frame["id"].tolist() == ["p", "q"]


def test_read_from_path_and_hashes(tmp_path):
    data = b"a,b\n1,2\n"
    path = tmp_path / "d.csv"
    path.write_bytes(data)
    ds = read_table(path)
    assert ds.name == "d.csv"
    assert ds.sha256 == hashlib.sha256(data).hexdigest() == sha256_bytes(data)
    assert sha256_file(path) == ds.sha256


def test_summary_counts_missing_and_distinct():
    ds = read_table(b"a,b\n1,x\n,x\n3,y\n", filename="s.csv")
    summary = ds.summary().set_index("column")
    assert summary.loc["a", "missing"] == 1
    assert summary.loc["a", "distinct"] == 2
    assert summary.loc["b", "distinct"] == 2
    assert summary.loc["b", "example"] == "x"
    assert list(ds.summary().columns) == ["column", "dtype", "missing", "distinct", "example"]


def test_dataset_is_frozen():
    ds = read_table(b"a,b\n1,2\n", filename="f.csv")
    assert isinstance(ds, Dataset)
    with pytest.raises(AttributeError):
        ds.name = "other"


def test_large_parquet_reads_every_row():
    n = 200_000
    frame = pd.DataFrame({"x": np.arange(n), "g": np.where(np.arange(n) % 2, "a", "b")})
    ds = read_table(parquet_bytes(frame), filename="big.parquet")
    assert ds.rows == n
    assert int(ds.frame["x"].sum()) == n * (n - 1) // 2


# --- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"  \n\n"])
def test_empty_file_is_refused(data):
    with pytest.raises(AuditInputError, match="empty.csv is empty"):
        read_table(data, filename="empty.csv")


def test_header_only_is_refused():
    with pytest.raises(AuditInputError, match="h.csv has a header row but no data rows"):
        read_table(b"a,b,c\n", filename="h.csv")


def test_header_only_parquet_is_refused():
    data = parquet_bytes(pd.DataFrame({"a": pd.Series([], dtype="int64")}))
    with pytest.raises(AuditInputError, match="no data rows"):
        read_table(data, filename="h.parquet")


def test_binary_junk_named_csv_is_refused():
    junk = np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    with pytest.raises(AuditInputError, match="junk.csv is not a text table: it contains binary"):
        read_table(junk, filename="junk.csv")


def test_control_characters_without_nul_are_refused():
    junk = bytes(np.random.default_rng(1).integers(1, 32, 4000, dtype=np.uint8))
    with pytest.raises(AuditInputError, match="ctl.csv is not a text table: it contains"):
        read_table(junk, filename="ctl.csv")


def test_excel_workbook_named_csv_is_refused():
    with pytest.raises(AuditInputError, match="ZIP archive"):
        read_table(b"PK\x03\x04" + b"\x14" * 100, filename="book.csv")


def test_single_column_of_prose_is_refused():
    prose = b"It was a dark and stormy night\nThe model was unfair\nNobody noticed\n"
    with pytest.raises(AuditInputError, match="story.csv is not a table: it has only one column"):
        read_table(prose, filename="story.csv")


def test_prose_with_commas_is_refused():
    prose = (b"Once, upon a time\nthere was a model, which was, unfair\nand nobody knew\n"
             b"the end\nreally, truly, the, very, end\n")
    with pytest.raises(AuditInputError, match="tale.csv is not a table: its lines have"):
        read_table(prose, filename="tale.csv")


def test_duplicate_column_names_are_named():
    with pytest.raises(AuditInputError, match=r"duplicate column names: 'age' \(columns 1, 3\)"):
        read_table(b"age,b, age \n1,2,3\n", filename="d.csv")


def test_short_row_is_refused_with_its_line():
    with pytest.raises(AuditInputError, match="r.csv line 3 has 2 fields but the header has 3"):
        read_table(b"a,b,c\n1,2,3\n4,5\n6,7,8\n", filename="r.csv")


def test_long_row_is_refused_with_its_line():
    with pytest.raises(AuditInputError, match="line 2 has 4 fields but the header has 3"):
        read_table(b"a,b,c\n1,2,3,4\n5,6,7\n", filename="r.csv")


def test_short_row_in_quoted_file_is_refused_with_its_line():
    data = b'a,b,c\n"x\ny",2,3\n4,5\n'
    with pytest.raises(AuditInputError, match="line 4 has 2 fields"):
        read_table(data, filename="q.csv")


def test_truncated_quoted_value_is_refused():
    with pytest.raises(AuditInputError, match="t.csv could not be read as CSV: .*EOF inside"):
        read_table(b'a,b,c\n1,2,3\n4,5,"six\n', filename="t.csv")


def test_invalid_parquet_is_refused():
    with pytest.raises(AuditInputError, match="bad.parquet is not a valid Parquet file"):
        read_table(b"PAR1 this is not really parquet", filename="bad.parquet")


def test_missing_path_is_refused(tmp_path):
    with pytest.raises(AuditInputError, match="there is no file at"):
        read_table(tmp_path / "nope.csv")


# --- limits --------------------------------------------------------------------------------

def test_byte_limit_names_limit_size_and_env_var():
    with pytest.raises(LimitExceededError, match=r"b.csv is 16 bytes, more than the limit of 10 "
                                                 r"bytes.*AUDITAPP_MAX_BYTES"):
        read_table(b"a,b\n1,2\n3,4\n5,6\n", filename="b.csv", limits=Limits(max_bytes=10))


def test_byte_limit_is_checked_before_reading_a_path(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 100)
    with pytest.raises(LimitExceededError, match="404 bytes"):
        read_table(path, limits=Limits(max_bytes=100))


def test_row_limit_csv():
    data = b"a,b\n" + b"1,2\n" * 11
    with pytest.raises(LimitExceededError, match=r"has 11 rows, over the limit of 10.*"
                                                 r"AUDITAPP_MAX_ROWS"):
        read_table(data, filename="r.csv", limits=Limits(max_rows=10))
    assert read_table(data, filename="r.csv", limits=Limits(max_rows=11)).rows == 11


def test_row_limit_quoted_csv():
    data = b'a,b\n' + b'"1",2\n' * 11
    with pytest.raises(LimitExceededError, match="has 11 rows, over the limit of 10"):
        read_table(data, filename="r.csv", limits=Limits(max_rows=10))


def test_row_limit_parquet():
    data = parquet_bytes(pd.DataFrame({"a": range(11), "b": range(11)}))
    with pytest.raises(LimitExceededError, match="has 11 rows"):
        read_table(data, filename="r.parquet", limits=Limits(max_rows=10))


def test_column_limit():
    with pytest.raises(LimitExceededError, match=r"has 3 columns, more than the limit of 2.*"
                                                 r"AUDITAPP_MAX_COLUMNS"):
        read_table(b"a,b,c\n1,2,3\n", filename="c.csv", limits=Limits(max_columns=2))


def test_limits_from_the_variables_read_at_start_up(use_limits):
    use_limits(environ={"AUDITAPP_MAX_ROWS": "7", "AUDITAPP_MAX_BYTES": "1000"})
    assert Limits.configured() == Limits(max_bytes=1000, max_rows=7, max_columns=5_000)


def test_read_table_uses_the_installed_limits_by_default(use_limits, monkeypatch):
    use_limits(max_rows=1)
    with pytest.raises(LimitExceededError, match="limit of 1"):
        read_table(b"a,b\n1,2\n3,4\n", filename="e.csv")
    use_limits()
    monkeypatch.setenv("AUDITAPP_MAX_ROWS", "1")  # the library reads no environment: only start-up does
    assert len(read_table(b"a,b\n1,2\n3,4\n", filename="e.csv").frame) == 2


@pytest.mark.parametrize("raw", ["abc", "0", "-5"])
def test_bad_env_limit_is_refused(raw):
    from auditapp.core.limits import RuntimeLimits

    with pytest.raises(AuditInputError, match=f"AUDITAPP_MAX_COLUMNS must be a positive whole "
                                              f"number, but is '{raw}'"):
        RuntimeLimits.from_environ({"AUDITAPP_MAX_COLUMNS": raw})
