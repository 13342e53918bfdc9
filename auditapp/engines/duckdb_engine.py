"""The DuckDB engine: out-of-core GROUP BY over Parquet/CSV files, globs, or a DuckDB table.

Three passes, each streaming and in bounded memory (``AUDITAPP_DUCKDB_MEMORY``, default 1 GB; DuckDB
spills to ``AUDITAPP_DUCKDB_TEMP`` beyond it): column statistics (``engines.plan``), value counts of
quantile-binned features, then one GROUP BY of the raw sensitive values, the target, and the prediction
(or the decision and score bin) whose few thousand rows ``engines.finish`` turns into the counts table.
With a model, the rows are streamed as Arrow record batches through the model (the same sandboxed
process as any model file) and each batch is reduced to grouped counts (``engines.batches``).

The connection is locked down: it can read the source's files and its spill directory only
(``enable_external_access`` off, ``allowed_paths``), loads no extension, and its configuration is
locked. Identifiers are quoted and literals escaped; nothing the user typed is pasted into SQL.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.core.limits import runtime
from auditapp.core.spec import AuditSpec, _labels, resolved_edges
from auditapp.engines.base import Aggregates, Progress, StratifiedSample, allocate
from auditapp.engines.batches import RAW_KEYS, alias, combine, model_batch, sensitive_aliases
from auditapp.engines.duckdb_sql import PREFIX_ROWS, lit, num, q
from auditapp.engines.finish import finish, labels_of
from auditapp.engines.histograms import DEFAULT_BINS
from auditapp.engines.plan import (
    ColumnStats,
    Plan,
    check_stats,
    exact_quantiles,
    make_plan,
    needed_stats,
)
from auditapp.engines.sources import Source, check_file_columns, parquet_columns

FLOATS = ("FLOAT", "DOUBLE", "REAL")
NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
           "FLOAT", "DOUBLE", "REAL", "DECIMAL")
# CSV cells are read as pandas reads them: whole numbers, other numbers, or text ("yes" stays text).
CSV_TYPES = "auto_type_candidates=['BIGINT', 'DOUBLE', 'VARCHAR']"


class DuckDBEngine:
    """The contract over a :class:`~auditapp.engines.sources.Source`, computed by DuckDB."""

    name = "duckdb"

    def __init__(self, source: Source, *, memory_limit: str | None = None, threads: int | None = None,
                 batch_rows: int = 500_000, keep_order: bool = False):
        import duckdb

        self.source, self.batch_rows = source, int(batch_rows)
        self._duckdb = duckdb
        settings = runtime()
        spill = settings.duckdb_temp or os.path.join(tempfile.gettempdir(), "auditapp-duckdb")
        os.makedirs(spill, exist_ok=True)
        config: dict[str, str | bool | int | float | list[str]] = {
                  "memory_limit": memory_limit or settings.duckdb_memory,
                  "threads": int(threads or settings.duckdb_threads or os.cpu_count() or 1),
                  "temp_directory": spill, "preserve_insertion_order": bool(keep_order),
                  "autoinstall_known_extensions": False, "autoload_known_extensions": False}
        database = source.paths[0] if source.kind == "duckdb" else ":memory:"
        try:
            self.con = duckdb.connect(database, read_only=source.kind == "duckdb", config=config)
        except duckdb.Error as exc:
            raise AuditInputError(f"{source.name}: DuckDB could not open it ({exc}).") from exc
        files = [] if source.kind == "duckdb" else list(source.paths)
        self.con.execute(f"SET allowed_paths=[{', '.join(lit(p) for p in files)}]")
        self.con.execute(f"SET allowed_directories=[{lit(spill.rstrip('/') + '/')}]")
        # Parquet footers leave NaN out of a column's min/max; DuckDB 2.0.1 trusts them and folds isnan(x) to
        # false in projections, so a NaN score would be counted as a number. Tested in test_duckdb_engine.
        self.con.execute("SET disabled_optimizers='statistics_propagation'")
        self.con.execute("SET enable_external_access=false")
        self.con.execute("SET lock_configuration=true")
        self._types: dict[str, str] | None = None

    # --- the source ----------------------------------------------------------------------------------

    @property
    def relation(self) -> str:
        if self.source.kind == "duckdb":
            if self.source.table is None:
                raise AuditInputError(f"{self.source.name}: name the table of the DuckDB database to audit.")
            return ".".join(q(part) for part in self.source.table.split("."))
        files = "[" + ", ".join(lit(p) for p in self.source.paths) + "]"
        if self.source.format == "parquet":
            return f"read_parquet({files}, union_by_name=true)"
        return f"read_csv({files}, union_by_name=true, header=true, {CSV_TYPES})"

    def _sql(self, query: str) -> Any:
        try:
            return self.con.sql(query)
        except self._duckdb.Error as exc:
            raise AuditInputError(f"{self.source.name}: DuckDB could not read it ({str(exc).splitlines()[0]}).") \
                from exc

    def types(self) -> dict[str, str]:
        if self._types is None:
            rows = self._sql(f"DESCRIBE SELECT * FROM {self.relation}").fetchall()
            self._types = {str(r[0]): str(r[1]) for r in rows}
        return self._types

    def columns(self) -> list[str]:
        return list(self.types())

    def check_columns(self, needed: list[str]) -> None:
        """Every file (or the table) has every needed column; the error names the file and the column."""
        if self.source.kind == "duckdb":
            check_file_columns(self.source, {self.source.name: self.columns()}, needed)
            return
        by_file = {}
        for path in self.source.paths:
            if self.source.format == "parquet":
                by_file[path] = parquet_columns(path)
            else:
                rows = self._sql(f"DESCRIBE SELECT * FROM read_csv([{lit(path)}], header=true, {CSV_TYPES})"
                                 ).fetchall()
                by_file[path] = [str(r[0]) for r in rows]
        check_file_columns(self.source, by_file, needed)

    def count_rows(self) -> int:
        return int(self._sql(f"SELECT count(*) FROM {self.relation}").fetchall()[0][0])

    # --- the audit -----------------------------------------------------------------------------------

    def _missing(self, name: str) -> str:
        column = q(name)
        if self.types().get(name, "").upper() in FLOATS:
            return f"({column} IS NULL OR isnan({column}))"
        return f"{column} IS NULL"

    def _number(self, name: str) -> str:
        return f"TRY_CAST({q(name)} AS DOUBLE)" if not self._numeric(name) else f"CAST({q(name)} AS DOUBLE)"

    def _numeric(self, name: str) -> bool:
        return self.types().get(name, "").upper().split("(")[0] in NUMERIC

    def stats(self, spec: AuditSpec) -> ColumnStats:
        """The statistics ``engines.plan.check_stats`` needs, in one pass.

        Columns stored as numbers need no per-row test here (nulls, minimum, maximum); a NaN is caught by
        the grouped pass (and counted with the nulls when there are nulls, so the message counts both).
        Text columns read as numbers are tested row by row. Distinct values are counted on the first
        ``PREFIX_ROWS`` rows only, to refuse an identifier column before grouping by it.
        """
        need = needed_stats(spec)
        parts, keys = ["count(*)"], []
        for name in need["missing"]:
            text = name in need["numeric"] and not self._numeric(name)
            test = f"{q(name)} IS NULL OR isnan({self._number(name)})" if text else None
            parts.append(f"count(*) FILTER (WHERE {test})" if test else f"count(*) - count({q(name)})")
            keys.append(("missing", name))
        for name in need["numeric"]:
            number = self._number(name)
            if self._numeric(name):
                parts += ["0", "NULL", f"min({number})", f"max({number})"]
            else:
                bad = f"{q(name)} IS NOT NULL AND {number} IS NULL"
                ok = f"{number} IS NOT NULL AND NOT isnan({number})"
                parts += [f"count(*) FILTER (WHERE {bad})", f"any_value({q(name)}::VARCHAR) FILTER (WHERE {bad})",
                          f"min({number}) FILTER (WHERE {ok})", f"max({number}) FILTER (WHERE {ok})"]
            keys += [("not_numeric", name), ("example", name), ("low", name), ("high", name)]
        values = list(self._sql(f"SELECT {', '.join(parts)} FROM {self.relation}").fetchall()[0])
        for i, (kind, name) in enumerate(keys, start=1):
            if kind == "missing" and values[i] and self.types().get(name, "").upper() in FLOATS:
                # Nulls found: the message counts NaN too (the grouped pass finds NaN alone).
                values[i] = self._sql(f"SELECT count(*) FILTER (WHERE {self._missing(name)}) "
                                      f"FROM {self.relation}").fetchall()[0][0]
            if kind in ("low", "high") and values[i] is not None and values[i] != values[i]:
                # A NaN among the numbers: the range of the others (NaN is a missing value).
                number = self._number(name)
                agg = "min" if kind == "low" else "max"
                values[i] = self._sql(f"SELECT {agg}({number}) FILTER (WHERE NOT isnan({number})) "
                                      f"FROM {self.relation}").fetchall()[0][0]
        if need["distinct"]:
            prefix = ", ".join(f"count(DISTINCT {q(n)})" for n in need["distinct"])
            values += list(self._sql(f"SELECT {prefix} FROM (SELECT {', '.join(q(n) for n in need['distinct'])} "
                                     f"FROM {self.relation} LIMIT {PREFIX_ROWS})").fetchall()[0])
            keys += [("distinct", n) for n in need["distinct"]]
        out: dict[str, dict[str, Any]] = {"missing": {}, "not_numeric": {}, "example": {}, "low": {}, "high": {}, "distinct": {}}
        for (kind, name), value in zip(keys, values[1:], strict=True):
            if kind == "example":
                out[kind][name] = value
            elif kind in ("low", "high"):
                out[kind][name] = float("nan") if value is None else float(value)
            else:
                out[kind][name] = int(value)
        return ColumnStats(rows=int(values[0]), **out)

    def plan(self, spec: AuditSpec, *, bins: int, has_model: bool) -> Plan:
        needed = [spec.target, *spec.sensitive, *(c for c in (spec.prediction, spec.score) if c)]
        self.check_columns(needed)
        stats = self.stats(spec)
        check_stats(spec, stats, where=self.source.name)
        edges = {}
        for name, binning in spec.bins.items():
            if binning.quantiles:
                number = self._number(name)
                counts = self._sql(f"SELECT v, count(*) FROM (SELECT {number} AS v FROM {self.relation}) "
                                   "WHERE v IS NOT NULL AND NOT isnan(v) GROUP BY v ORDER BY v").fetchnumpy()
                values = list(counts.values())
                edges[name] = exact_quantiles(values[0], values[1], binning.quantiles, name)
            else:
                edges[name] = resolved_edges(pd.Series(dtype=float), name, binning)
        return make_plan(spec, stats, edges, bins=bins, has_model=has_model)

    def bin_sql(self, name: str, edges: Sequence[float]) -> str:
        """A binned feature's bin index (``spec.bin_labels`` order), -1 for a missing value."""
        v, inner = self._number(name), edges[1:-1]
        index = " + ".join(f"({v} >= {num(e)})::INTEGER" for e in inner) or "0"
        return f"(CASE WHEN {v} IS NULL OR isnan({v}) THEN -1 ELSE {index} END)"

    def _sensitive_sql(self, plan: Plan) -> list[str]:
        out = []
        for name, name_alias in zip(plan.spec.sensitive, sensitive_aliases(plan), strict=True):
            if name in plan.edges:
                out.append(f"{self.bin_sql(name, plan.edges[name])} AS {q(name_alias)}")
            else:
                out.append(f"{q(name)} AS {q(name_alias)}")
        return out

    def aggregate(self, spec: AuditSpec, model: Any = None, *, bins: int = DEFAULT_BINS,
                  progress: Progress | None = None) -> Aggregates:
        if model is not None:
            self.check_columns(list(model.feature_names))
        plan = self.plan(spec, bins=bins, has_model=model is not None)
        select = [*self._sensitive_sql(plan), f"{q(spec.target)} AS {q(alias('t'))}"]
        if model is not None:
            raw = self._through_model(plan, model, select, progress)
        elif plan.source == "prediction":
            query = (f"SELECT {', '.join(select)}, {q(str(spec.prediction))} AS {q(alias('p'))}, count(*) AS n "
                     f"FROM {self.relation} GROUP BY ALL")
            raw = self._fetch(query, progress)
        else:
            from auditapp.engines.duckdb_scores import grouped_scores

            raw = grouped_scores(self, plan, lambda query: self._fetch(query, progress))
            if raw is None:
                raw = self._fetch(self._score_query(plan, select), progress)
        raw.columns = [c[len(alias("")):] if c.startswith(alias("")) else c for c in raw.columns]
        has_scores = plan.grid is not None and "b" in raw.columns and bool((raw["b"] >= 0).any())
        return finish(raw, plan, model=model, engine=self.name, has_scores=has_scores)

    def _score_query(self, plan: Plan, select: list[str]) -> str:
        score, grid, threshold = plan.scores
        x = q(alias("x"))
        lo, width, top = num(grid.lo), num(grid.width), num(float(grid.bins))
        names = ", ".join(q(a) for a in [*sensitive_aliases(plan), alias("t")])
        return f"""
            WITH a AS (SELECT {', '.join(select)}, {self._number(score)} AS {x} FROM {self.relation}),
            b AS (SELECT *, least(greatest(floor(({x} - {lo}) / {width}), 0), {top}) AS k0 FROM a),
            c AS (SELECT *, CASE WHEN k0 > 0 AND {x} < {lo} + k0 * {width} THEN k0 - 1 ELSE k0 END AS k1 FROM b),
            d AS (SELECT *, CASE WHEN k1 < {top} AND {x} >= {lo} + (k1 + 1) * {width} THEN k1 + 1 ELSE k1 END AS k
                  FROM c)
            SELECT {names}, ({x} >= {num(threshold)})::BIGINT AS {q(alias('d'))},
                   (CASE WHEN {x} IS NULL OR isnan({x}) THEN -2 ELSE k END)::BIGINT AS {q(alias('b'))},
                   count(*) AS n, sum({x}) AS ssum
            FROM d GROUP BY ALL"""

    def _fetch(self, query: str, progress: Progress | None) -> pd.DataFrame:
        relation = self._sql(query)
        with self._progress(progress, "Counting rows by group with DuckDB"):
            try:
                return relation.to_arrow_table().to_pandas()
            except self._duckdb.Error as exc:
                raise AuditInputError(f"{self.source.name}: DuckDB could not read it "
                                      f"({str(exc).splitlines()[0]}).") from exc

    def _through_model(self, plan: Plan, model: Any, select: list[str],
                       progress: Progress | None) -> pd.DataFrame:
        features = [q(f) for f in model.feature_names]
        total = max(self.count_rows(), 1)
        reader = self._sql(f"SELECT {', '.join([*features, *select])} FROM {self.relation}").to_arrow_reader(
            self.batch_rows)
        parts, done = [], 0
        keys = [*(f"s{i}" for i in range(len(plan.spec.sensitive))), *RAW_KEYS]
        for batch in reader:
            parts.append(model_batch(batch.to_pandas(), plan, model))
            done += batch.num_rows
            if progress is not None:
                progress(done / total, f"Predicted {done:,} of {total:,} rows with the model")
            if len(parts) >= 64:
                parts = [combine(parts, keys)]
        raw = combine(parts, keys)
        return raw.rename(columns={k: alias(k) for k in keys})

    @contextmanager
    def _progress(self, progress: Progress | None, text: str) -> Iterator[None]:
        if progress is None:
            yield
            return
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(0.5):
                done = self.con.query_progress()
                if done is not None and done >= 0:
                    progress(min(float(done) / 100.0, 1.0), text)

        thread = threading.Thread(target=poll, daemon=True, name="auditapp-duckdb-progress")
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    # --- the sample ----------------------------------------------------------------------------------

    def sample(self, spec: AuditSpec, *, size: int, seed: int, columns: list[str] | None = None) -> StratifiedSample:
        plan = self.plan(spec, bins=DEFAULT_BINS, has_model=True)
        select = [*self._sensitive_sql(plan), f"{q(spec.target)} AS {q(alias('t'))}"]
        names = [*sensitive_aliases(plan), alias("t")]
        strata = self._sql(f"SELECT {', '.join(select)}, count(*) AS n FROM {self.relation} GROUP BY ALL"
                           ).to_arrow_table().to_pandas()
        strata.columns = [c[len(alias("")):] if c.startswith(alias("")) else c for c in strata.columns]
        labels = labels_of(strata, plan)
        labels["outcome"] = _labels(strata["t"].rename(spec.target).to_frame(), spec)
        codes, uniques = pd.MultiIndex.from_frame(labels.astype(str)).factorize(sort=True)
        rows = pd.Series(strata["n"].to_numpy()).groupby(codes).sum().reindex(range(len(uniques)), fill_value=0)
        take = allocate(rows.to_numpy(), size)
        # Each raw combination keeps a row when its seeded hash falls under its stratum's share (with room
        # to spare); the stratum then keeps its rows with the smallest hashes.
        share = (take * 1.25 + 20) / rows.to_numpy().clip(min=1)
        limits = [min(int(s * 2**64), 2**64 - 1) for s in share[codes]]
        self.con.register("auditapp_strata", pd.DataFrame(
            {**{n: strata[n[len(alias("")):]] for n in names}, "stratum": codes, "lim": limits,
             "take": take[codes]}).astype({"lim": "uint64"}))
        wanted = ", ".join(q(c) for c in (columns or self.columns()))
        join = " AND ".join(f"r.{q(n)} IS NOT DISTINCT FROM s.{q(n)}" for n in names)
        every = ", ".join(q(c) for c in self.columns())
        query = f"""
            WITH r AS (SELECT *, {', '.join(select)}, hash({every}, {int(seed)}) AS h FROM {self.relation}),
            k AS (SELECT r.*, s.stratum, s.take FROM r JOIN auditapp_strata s ON {join} WHERE r.h <= s.lim)
            SELECT {wanted}, stratum, h FROM k
            QUALIFY row_number() OVER (PARTITION BY stratum ORDER BY h) <= take
            ORDER BY stratum, h"""
        frame = self._sql(query).to_arrow_table().to_pandas()
        self.con.unregister("auditapp_strata")
        got = frame["stratum"].value_counts().reindex(range(len(uniques)), fill_value=0).to_numpy()
        table = pd.DataFrame(list(uniques), columns=list(labels.columns)).assign(rows=rows.to_numpy(), sampled=got)
        return StratifiedSample(frame.drop(columns=["stratum", "h"]).reset_index(drop=True), table,
                                int(rows.sum()), int(seed), self.name)

    def preview(self, *, size: int, seed: int) -> pd.DataFrame:
        """About ``size`` rows drawn uniformly (reservoir sampling, seeded): for column choices."""
        query = f"SELECT * FROM {self.relation} USING SAMPLE reservoir({int(size)} ROWS) REPEATABLE ({int(seed)})"
        return self._sql(query).to_arrow_table().to_pandas()

    def close(self) -> None:
        self.con.close()
