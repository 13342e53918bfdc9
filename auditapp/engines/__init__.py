"""Aggregation engines: the counts table and score histograms computed where the data lives.

``base`` is the contract; ``pandas_engine`` (in memory), ``duckdb_engine`` (out of core) and
``spark_engine`` (a cluster) keep it; ``sources`` parses what ``--data`` names; ``assemble`` turns an
engine's tables into an audit. Nothing here imports DuckDB or PySpark until that engine is used.
"""
