"""Run the three-way match for one tenant-day: the import's record files -> DuckDB SQL -> results stored.

`reconcile` is pure (inputs in, Arrow out) so it is tested and benchmarked without a database; `reconcile_day`
wires it to the record store (the lookback window is a set of Parquet files, listed from imports.files under
row-level security) and to the results store (reconciliation/store.py: Postgres keeps what people query,
Parquet every item state), replacing that tenant-day's results.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from financeops_pipeline.audit import code_version
from financeops_pipeline.db.connect import copy_arrow, copy_into_day
from financeops_pipeline.imports.record_store import day_record_paths
from financeops_pipeline.imports.records import SCHEMAS
from financeops_pipeline.money import CURRENCY_EXPONENTS
from financeops_pipeline.reconciliation import keys, store
from financeops_pipeline.reconciliation.config import ReconConfig, load_recon_config
from financeops_pipeline.sqlfiles import load_named_sql, load_sql
from financeops_pipeline.workbench.daylock import day_locked
from financeops_pipeline.workbench.resolutions import Resolutions, load_resolutions

# A source's rows: an Arrow table, or the record files (Parquet) of the window, read by DuckDB where they are.
SourceRows = pa.Table | Sequence[Path]

SUPERSEDED_SCHEMA = pa.schema([("file_sha256", pa.string()), ("source_position", pa.string())])

# 10^exponent of every currency, for the FX rule's exact rate check (fx.sql).
_CURRENCY_UNITS = pa.table({"currency": list(CURRENCY_EXPONENTS),
                            "unit": pa.array([10**e for e in CURRENCY_EXPONENTS.values()], pa.decimal128(18, 0))})

PREV_BREAKS_SCHEMA = pa.schema([
    ("break_id", pa.string()), ("break_type", pa.string()), ("source", pa.string()),
    ("source_ref", pa.string()), ("currency", pa.string()), ("amount_minor", pa.int64()),
    ("first_seen", pa.date32()), ("details", pa.string()),
])


@dataclass
class ReconInputs:
    internal: SourceRows
    processor: SourceRows
    bank: SourceRows
    prev_breaks: pa.Table
    # unbooked bank lines (intraday, notifications) a booked statement superseded up to the day: no items
    bank_superseded: pa.Table = field(default_factory=SUPERSEDED_SCHEMA.empty_table)
    # People's resolutions from the workbench (manual matches, accepted breaks, rejected suggestions)
    resolutions: Resolutions = field(default_factory=Resolutions.none)

    def item_count(self) -> int:
        """Rows of the three sources (read from the Parquet footers when they are files)."""
        return sum(_row_count(rows) for rows in (self.internal, self.processor, self.bank))

    def to_arrow(self) -> ReconInputs:
        """The same inputs with every source read into Arrow (for the pandas baseline)."""
        return ReconInputs(*(_arrow_of(rows, name) for name, rows in (
            ("internal", self.internal), ("processor", self.processor), ("bank", self.bank))),
            prev_breaks=self.prev_breaks, bank_superseded=self.bank_superseded, resolutions=self.resolutions)


@dataclass
class ReconResult:
    # Every item of the window the day tracks, with one state: the day's items, earlier ones still pending or
    # in a break, and earlier ones matched today. A matched item carries its match group and match day, so
    # the day's matches are these rows (recon.matches is a view of them). Two parts: open_states, every state
    # but the plain 1:1 matches by processor reference, and those as plain_pairs, one row per pair
    # (store.PAIRS_SCHEMA; store.expand_pairs gives their two items): on a 10M day 99% of the states, which
    # as item rows cost more to build and write than the whole match.
    open_states: pa.Table
    breaks: pa.Table        # breaks of the day with lifecycle new / persisting / resolved
    # adjusting entries of the tolerance and FX matches made that day (reconciliation/adjusting.py posts them)
    adjustments: pa.Table | None = None
    plain_pairs: pa.Table = field(default_factory=lambda: store.PAIRS_SCHEMA.empty_table())

    @property
    def item_status(self) -> pa.Table:
        """Every state as item rows (both parts; for small days and tests: a 10M day's are ~20M rows)."""
        return store.all_states(self.open_states, self.plain_pairs)

    @property
    def item_count(self) -> int:
        return self.open_states.num_rows + 2 * self.plain_pairs.num_rows

    def counts(self) -> dict[str, int]:
        """Items per state, of the day's own items and the earlier ones still open, as the reports count
        them: an earlier item matched today is one of today's matches, not one of today's matched items (the
        same rule as the view recon.day_item_states, which the reports read)."""
        states = self.open_states
        carried = pc.fill_null(pc.less(states["item_date"], states["matched_on"]), False)
        statuses = states.filter(pc.invert(carried)).group_by("status").aggregate([("status", "count")]).to_pylist()
        counts = {r["status"]: r["status_count"] for r in statuses}
        if self.plain_pairs.num_rows:   # a pair matched on its later item's day: that item is the day's
            pairs = self.plain_pairs
            later = pc.max_element_wise(pairs["i_date"], pairs["p_date"])
            own = sum(pc.sum(pc.equal(pairs[c], later)).as_py() for c in ("i_date", "p_date"))
            counts["matched"] = counts.get("matched", 0) + own
        return counts


def reconcile(inputs: ReconInputs, day: dt.date, config: ReconConfig) -> ReconResult:
    """Match everything in DuckDB; no Python loop touches a row. Past its memory limit DuckDB spills to a
    temporary folder of its own, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="financeops-recon-spill-") as spill:
        con = duckdb.connect(config={"threads": 2, "memory_limit": config.memory_limit, "temp_directory": spill,
                                     # no result here depends on row order, and keeping it costs memory
                                     "preserve_insertion_order": False})
        try:
            return _match(con, inputs, day, config)
        finally:
            con.close()


def _match(con: duckdb.DuckDBPyConnection, inputs: ReconInputs, day: dt.date, config: ReconConfig) -> ReconResult:
    """The match itself, on an open connection: register the inputs, run the SQL, read the results."""
    _register_sources(con, inputs)
    con.register("prev_breaks", inputs.prev_breaks)
    con.register("windows", pa.Table.from_pylist(
        [{"processor": p, **w} for p, w in config.windows.items()]))
    con.register("counterparty_patterns", pa.Table.from_pylist(
        [{"processor": p, "pattern": "(?i)" + pat} for p, pat in config.counterparty_patterns.items()],
        schema=pa.schema([("processor", pa.string()), ("pattern", pa.string())])))
    con.execute("CREATE TEMP TABLE params AS SELECT $day::DATE AS day, $bu::INTEGER AS bank_unmatched_days",
                {"day": day, "bu": config.bank_unmatched_days})
    # Each source's columns read once into Arrow, in the sources' order (a row's position is its position there:
    # files in their order, rows in file order): the pairs', the keys' (keys.sql hashes them in DuckDB), the
    # general rules' rows' (taken at those rows alone, by position).
    int_cols = _source_columns(inputs.internal, "internal", _INT_READ, _PAIR_DICTIONARIES)
    proc_cols = _source_columns(inputs.processor, "processor", _PROC_READ)
    con.register("int_cols", int_cols)
    con.register("proc_cols", proc_cols)
    con.execute(load_sql("reconciliation/sql/keys.sql"))   # int_keys, proc_keys: h, g, keyed of every row
    con.execute("SET preserve_insertion_order = true")   # the keys in the rows' order
    int_keys = con.sql("SELECT h, g, keyed FROM int_keys").to_arrow_table()
    proc_keys = con.sql("SELECT h, g, keyed FROM proc_keys").to_arrow_table()
    con.execute("SET preserve_insertion_order = false")
    for name in ("int_keys", "proc_keys"):
        con.execute(f"DROP VIEW {name}")
    for name in ("int_cols", "proc_cols"):
        con.unregister(name)
    split = keys.split_keys(_int_rows(int_cols, int_keys), _with_keys(proc_cols, proc_keys))
    del int_cols, proc_cols, int_keys, proc_keys
    # the 1:1 pairs and the rows of the general rules, which match.sql reads
    con.register("key_plain", split.plain)
    con.register("key_pair_exceptions", split.exceptions)   # taken in Arrow: a DuckDB scan of the pairs cost more
    con.register("int_rest_rows", _with_file_order(split.int_rest))
    con.register("proc_rest_rows", _with_file_order(split.proc_rest))
    con.execute(load_sql("reconciliation/sql/match.sql"))
    # The configured rules after the reference rules, on what those left (reconciliation/rules): parameters are
    # tables the SQL joins, never a Python loop over items.
    for name, table in config.rules.tables().items():
        con.register(name, table)
    con.register("currency_units", _CURRENCY_UNITS)
    con.execute(load_sql("reconciliation/sql/tolerance.sql"))
    con.execute(load_sql("reconciliation/sql/fx.sql"))
    resolutions = inputs.resolutions.tables()
    for name, table in resolutions.items():
        con.register(name, table)
    if any(table.num_rows for table in resolutions.values()):   # none: nothing to apply (most days)
        con.execute(load_sql("reconciliation/sql/apply_resolutions.sql"))
    con.execute(load_sql("reconciliation/sql/suggestions.sql"))
    con.execute(load_sql("reconciliation/sql/adjustments.sql"))
    con.execute(load_sql("reconciliation/sql/breaks.sql"))
    # The day's states: item_status (every state but the plain 1:1 matches) and the plain matches as pairs.
    item_status = con.sql(
        "SELECT source, source_ref, currency, amount_minor::BIGINT AS amount_minor, item_date, status, break_id,"
        " break_type, rule, CAST(details AS VARCHAR) AS details, match_group,"
        " CASE WHEN status = 'matched' THEN matched_on END AS matched_on,"
        " CASE WHEN status IN ('matched', 'suggested') THEN v.rule_version END AS rule_version"
        " FROM item_status LEFT JOIN (SELECT rule, rule_version FROM rule_versions) v USING (rule)"
        " WHERE item_date = $day OR status IN ('pending', 'suggested', 'break')"
        " OR (status = 'matched' AND matched_on = $day)"
        # an earlier item that stays open but accepted (or written off) by a person: kept, with its break id
        " OR rule IN ('accepted', 'written_off')",
        params={"day": day},
    ).to_arrow_table()
    plain_pairs = _plain_pairs(con, split.plain, day)
    breaks = con.sql(
        "SELECT break_id, break_type, source, source_ref, currency, amount_minor::BIGINT AS amount_minor,"
        " first_seen,"
        " CAST($day::DATE - first_seen AS INTEGER) AS age_days, lifecycle, CAST(details AS VARCHAR) AS details"
        " FROM day_breaks", params={"day": day}).to_arrow_table()
    adjustments = con.sql(
        "SELECT a.idempotency_key, a.rule_id, a.rule_version, a.match_group, a.currency, a.amount_minor::BIGINT"
        " AS amount_minor, a.adjust_account, a.counter_account, a.description, a.matched_on FROM adjustments a"
        " WHERE a.matched_on = $day AND EXISTS (SELECT 1 FROM item_status s WHERE s.source = a.carrier_source"
        " AND s.source_ref = a.carrier_ref AND s.status = 'matched' AND s.rule = a.rule_id)"
        " ORDER BY a.idempotency_key", params={"day": day}).to_arrow_table()
    return ReconResult(open_states=item_status, breaks=breaks, adjustments=adjustments, plain_pairs=plain_pairs)


# The columns of each source the match reads (once, into Arrow; with the file's order, from file_sha256): the
# pairs' and keys', and those only the general rules' rows need (~1%: file_order, source_position,
# merchant_reference, net_minor, payout_id), taken from the same rows by position. (DuckDB's read of the pairs'
# columns into Arrow and pyarrow's second read of the files' column chunks for the rest decoded columns twice.)
_INT_READ = ("transaction_id", "processor", "processor_reference", "type", "currency", "amount_minor",
             "business_date", "source_position")
_PROC_READ = ("processor", "line_id", "category", "reference", "merchant_reference", "currency", "gross_minor",
              "net_minor", "payout_id", "business_date", "source_position")


def _source_columns(rows: SourceRows, source: str, columns: Sequence[str], dictionaries: Sequence[str] = ()
                    ) -> pa.Table:
    """`columns` of a source's rows in Arrow, in the sources' order, with file_order (Arrow rows) or file_sha256
    (record files, dictionary-encoded as they store it: _with_file_order derives file_order where it is needed).
    A column a record file lacks is null (as read_parquet's union_by_name); every column has the record schema's
    type."""
    types = {f.name: f.type for f in _empty(source).schema}
    if isinstance(rows, pa.Table) or not rows:
        rows = rows if isinstance(rows, pa.Table) else _empty(source)
        table = rows.select([*columns, "file_order"])
        for c in dictionaries:
            table = table.append_column(f"{c}_dict", rows[c])
        return table
    parts = []
    for path in rows:
        # the few-valued columns as the files store them, dictionaries (decoding them into strings in the reader
        # cost several times their cast from the dictionary); those only the keys, the kind or the rest read stay
        # dictionaries (DuckDB reads them as VARCHAR)
        pf = pq.ParquetFile(path, read_dictionary=[c for c in (*columns, "file_sha256") if c in _FEW_VALUES])
        present = set(pf.schema_arrow.names)
        read = pf.read(columns=[c for c in (*columns, "file_sha256") if c in present])
        parts.append(pa.table({c: (read[c] if c in _KEPT_DICTIONARIES else read[c].cast(types[c])) if c in present
                               else pa.nulls(read.num_rows, types[c]) for c in columns}
                              | {"file_sha256": read["file_sha256"]}
                              | {f"{c}_dict": read[c] if c in present else pa.nulls(read.num_rows, types[c])
                                 for c in dictionaries}))
    return pa.concat_tables(parts)


# Columns of few distinct values (the record files store them dictionary-encoded), and those of them kept so
_FEW_VALUES = frozenset({"processor", "type", "category", "currency", "payout_id", "file_sha256"})
_KEPT_DICTIONARIES = frozenset({"type", "payout_id", "file_sha256"})
# Columns of the internal records read a second time as the files' dictionaries, as <column>_dict: the plain pairs
# keep them so (store.py writes a dictionary's few values once, and the cast to strings of ~10M values is left to
# the keys and compares that need it)
_PAIR_DICTIONARIES = ("processor", "currency")


def _with_keys(cols: pa.Table, hashed: pa.Table) -> pa.Table:
    """A source's columns with their keys beside them (h, g, keyed: keys.sql, in the same order)."""
    if hashed.num_rows != cols.num_rows:
        raise RuntimeError("the keys are not the rows' (keys.sql)")
    for name in hashed.column_names:
        cols = cols.append_column(name, hashed[name])
    return cols


def _int_rows(cols: pa.Table, hashed: pa.Table) -> pa.Table:
    """The internal records as keys.split_keys reads them: ref, processor, pref, kind (keys.sql's internal_kind:
    payment -> charge, refund -> refund, anything else or none -> dispute), currency, amount_minor, item_date, the
    columns only the rest needs, and the keys."""
    rows = pa.table({"ref": cols["transaction_id"], "processor": cols["processor"],
                     "pref": cols["processor_reference"], "kind": _kind(cols["type"]), "currency": cols["currency"],
                     "amount_minor": cols["amount_minor"], "item_date": cols["business_date"],
                     **{c: cols[c] for c in ("source_position", "file_order", "file_sha256", "processor_dict",
                                             "currency_dict") if c in cols.column_names}})
    return _with_keys(rows, hashed)


def _kind(types: pa.ChunkedArray) -> pa.ChunkedArray:
    """keys.sql's internal_kind of each type, on a dictionary's values where the types are one (without nulls)."""
    def kinds(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        kind_of = lambda value: pc.fill_null(pc.equal(values, value), False)   # noqa: E731
        return pc.if_else(kind_of("payment"), "charge", pc.if_else(kind_of("refund"), "refund", "dispute"))

    if not pa.types.is_dictionary(types.type) or types.null_count or not types.num_chunks:
        return kinds(types.cast(pa.string()))
    return pa.chunked_array([pa.DictionaryArray.from_arrays(chunk.indices, kinds(chunk.dictionary))
                             for chunk in types.chunks])


def _with_file_order(rest: pa.Table) -> pa.Table:
    """The rest's rows with file_order (left(file_sha256, 16)) where they have the file's hash."""
    if "file_order" in rest.column_names:
        return rest
    sha = rest["file_sha256"].cast(pa.string())
    return rest.drop_columns(["file_sha256"]).append_column("file_order", pc.utf8_slice_codeunits(sha, 0, 16))


def _plain_pairs(con: duckdb.DuckDBPyConnection, plain: pa.Table, day: dt.date) -> pa.Table:
    """The plain matches (keys.py) of the day as store.PAIRS_SCHEMA's columns: a pair's items are the day's when it
    matched that day (both are dated on or before it). In Arrow, where the pairs are: on most days every pair is
    the day's, and the table is kept as it is (no copy); the kind and the rule version stay dictionaries (the
    Parquet writer encodes those the cheaper, and store.py's readers cast them)."""
    version = con.execute("SELECT max(rule_version) FROM rule_versions WHERE rule = 'processor_reference'"
                          ).fetchall()[0][0]
    later = pc.max_element_wise(plain["i_date"], plain["p_date"])
    today = pc.equal(later, pa.scalar(day, pa.date32()))
    if pc.all(today).as_py() is False:
        plain = plain.filter(today)
    n = plain.num_rows
    versions = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([version], pa.string()))
    return plain.select([f.name for f in store.PAIRS_SCHEMA if f.name != "rule_version"]).append_column(
        "rule_version", versions)


def _register_sources(con: duckdb.DuckDBPyConnection, inputs: ReconInputs) -> None:
    """internal_src, processor_src and bank_src: the bank items leave out the superseded unbooked lines."""
    _register_source(con, "internal_src", "internal", inputs.internal)
    _register_source(con, "processor_src", "processor", inputs.processor)
    _register_source(con, "bank_lines_src", "bank", inputs.bank)
    con.register("bank_superseded", inputs.bank_superseded)
    con.execute(load_sql("reconciliation/sql/bank_src.sql"))


def bank_items(inputs: ReconInputs) -> pa.Table:
    """The bank lines the match reads as items (for tests and dry runs)."""
    con = duckdb.connect()
    try:
        _register_sources(con, inputs)
        return con.sql("SELECT * FROM bank_src ORDER BY file_sha256, source_position").to_arrow_table()
    finally:
        con.close()


def _register_source(con: duckdb.DuckDBPyConnection, view: str, source: str, rows: SourceRows) -> None:
    """`view` over a source's rows as match.sql reads them: Arrow registered as it is, record files read in
    place (only the columns the match uses leave the disk). file_order orders a record's deliveries."""
    if isinstance(rows, pa.Table):
        con.register(view, rows)
        return
    if not rows:
        con.register(view, _empty(source))
        return
    files = ", ".join("'" + str(path).replace("'", "''") + "'" for path in rows)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT *, left(file_sha256, 16) AS file_order"
                f" FROM read_parquet([{files}], union_by_name = true)")


def _empty(source: str) -> pa.Table:
    """No rows, with the columns a record file of `source` has."""
    schema = SCHEMAS[source]
    if source == "bank":
        schema = schema.append(pa.field("classification", pa.string())).append(pa.field("processor", pa.string()))
    schema = (schema.append(pa.field("business_date", pa.date32())).append(pa.field("file_sha256", pa.string()))
              .append(pa.field("record_no", pa.int32())).append(pa.field("file_order", pa.string())))
    return schema.empty_table()


def _row_count(rows: SourceRows) -> int:
    import pyarrow.parquet as pq

    return rows.num_rows if isinstance(rows, pa.Table) else sum(pq.ParquetFile(p).metadata.num_rows for p in rows)


def _arrow_of(rows: SourceRows, source: str) -> pa.Table:
    if isinstance(rows, pa.Table):
        return rows
    con = duckdb.connect()
    try:
        _register_source(con, "rows", source, rows)
        return con.sql("SELECT * FROM rows").to_arrow_table()
    finally:
        con.close()


def load_inputs(conn: psycopg.Connection, archive_dir: Path, tenant: str, day: dt.date,
                config: ReconConfig) -> ReconInputs:
    """The lookback window of every source as the record files the imports wrote (listed from imports.files on
    the tenant's connection), and the previous day's open breaks from Postgres."""
    first = day - dt.timedelta(days=config.lookback_days)
    with conn.transaction():   # reads only, but never leave a transaction open for the write-back to nest in
        sources = {source: day_record_paths(conn, archive_dir, tenant, source, first, day)
                   for source in ("internal", "processor", "bank")}
        queries = load_named_sql("reconciliation/sql/inputs.sql")
        cur = conn.execute(queries["prev_breaks"], (tenant, day))
        names = [c.name for c in cur.description]
        rows = cur.fetchall()
        superseded = conn.execute(queries["bank_superseded"], (tenant, first, day)).fetchall()
        resolutions = load_resolutions(conn, tenant, day)   # people's manual matches and acceptances (workbench)
    prev = pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows], schema=PREV_BREAKS_SCHEMA) \
        if rows else PREV_BREAKS_SCHEMA.empty_table()
    return ReconInputs(internal=sources["internal"], processor=sources["processor"], bank=sources["bank"],
                       prev_breaks=prev, bank_superseded=pa.Table.from_pylist(
                           [{"file_sha256": f, "source_position": p} for f, p in superseded],
                           schema=SUPERSEDED_SCHEMA), resolutions=resolutions)


def write_results(conn: psycopg.Connection, archive_dir: Path, tenant: str, day: dt.date, result: ReconResult,
                  run_id: str) -> bool:
    """Replace the tenant-day's results (derived data: re-running gives the same rows): every item state to
    Parquet and, in one transaction, what people query to Postgres (store.py), the two at once.

    A signed-off day is locked: its results stay as they were signed off and nothing is written (False)."""
    day_columns = {"tenant": tenant, "business_date": day}
    with conn.transaction(), ThreadPoolExecutor(1, thread_name_prefix="recon-states") as pool:
        if day_locked(conn, tenant, day):   # holds the day's shared lock until the results are written
            return False
        # the Parquet (pyarrow, without the GIL) is written while Postgres takes the rest; both before the commit
        states = pool.submit(store.write_states, archive_dir, tenant, day, result.open_states, result.plain_pairs)
        for table in ("recon.item_status", "recon.breaks", "recon.day_totals", "recon.runs"):
            conn.execute(f"DELETE FROM {table} WHERE tenant = %s AND business_date = %s", (tenant, day))
        copy_into_day(conn, "recon.item_status", day, store.queried_states(result.open_states), ("details",),
                      day_columns)
        copy_arrow(conn, "recon.breaks", result.breaks, ("details",), day_columns)
        copy_arrow(conn, "recon.day_totals", store.day_totals(result.open_states, day, result.plain_pairs), (),
                   day_columns)
        conn.execute("INSERT INTO recon.runs (tenant, business_date, run_id, code_version) VALUES (%s, %s, %s, %s)",
                     (tenant, day, run_id, code_version()))
        states.result()
    return True


def stored_item_status(conn: psycopg.Connection, archive_dir: Path, tenant: str, day: dt.date) -> pa.Table:
    """Every item state stored for a tenant-day: the Parquet of every state when the day has one, else (days
    reconciled before it existed) the states in Postgres, which then held every state."""
    states = store.read_states(archive_dir, tenant, day)
    if states is not None:
        return states
    cur = conn.execute("SELECT source, source_ref, currency::text AS currency, amount_minor, item_date, status,"
                       " break_id, break_type, rule, details::text AS details, match_group, matched_on, rule_version"
                       " FROM recon.item_status WHERE tenant = %s AND business_date = %s", (tenant, day))
    names = [c.name for c in cur.description]
    return pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in cur.fetchall()])


def reconcile_day(conn: psycopg.Connection, archive_dir: Path, tenant: str, day: dt.date, run_id: str,
                  config: ReconConfig | None = None) -> ReconResult:
    """Load, match and store one tenant-day."""
    config = config or load_recon_config(tenant)
    result = reconcile(load_inputs(conn, archive_dir, tenant, day, config), day, config)
    write_results(conn, archive_dir, tenant, day, result, run_id)
    return result
