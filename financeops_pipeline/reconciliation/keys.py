"""repeated_int, repeated_proc and open_keys (keys.sql) from the 64-bit keys of every record, by numpy's sorts.

keys.sql gives one narrow row per record (int_keys, proc_keys): h, the hash of its identity (a delivery of it
again repeats h); g, the hash of its rule-1 key; keyed, whether it has one. From those:
- repeated_int(h), repeated_proc(h): the ids of a side held by more than one row;
- open_keys(g): every rule-1 key that is not exactly one keyed record on each side (one-sided, split or repeated
  on a side), or that holds a repeated id. A hash collision only ever adds keys here (more rows to the general
  rules, which are exact).
Every comparison is of the exact 64-bit values. numpy sorts them with AVX-512 in a fraction of the time of
DuckDB's hash aggregates over ~10M groups (which also build each group's state), and the two sides sort at once
on two threads (a sort releases the GIL).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def key_tables(int_keys: pa.Table, proc_keys: pa.Table) -> dict[str, pa.Table]:
    """repeated_int, repeated_proc and open_keys as Arrow tables (one uint64 column each: h, h, g)."""
    with ThreadPoolExecutor(2, thread_name_prefix="recon-keys") as pool:
        sides = list(pool.map(_side, (int_keys, proc_keys)))
    (rep_int, once_int, multi_int, g_rep_int), (rep_proc, once_proc, multi_proc, g_rep_proc) = sides
    # a key once on each side is a lone pair; once on one side only (absent or several on the other) is open
    both = np.concatenate([once_int, once_proc])
    both.sort(kind="stable")   # two sorted runs: one merge
    paired = np.zeros(both.size, dtype=bool)
    if both.size > 1:
        equal = both[1:] == both[:-1]
        paired[1:] |= equal
        paired[:-1] |= equal
    open_keys = np.unique(np.concatenate([both[~paired], multi_int, multi_proc, g_rep_int, g_rep_proc]))
    return {"repeated_int": _table("h", rep_int), "repeated_proc": _table("h", rep_proc),
            "open_keys": _table("g", open_keys)}


def _side(keys: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One side's repeated ids, the keys it holds once and several times, and the keys of its repeated ids."""
    h = _u64(keys["h"])
    keyed = np.asarray(pc.fill_null(keys["keyed"], False).to_numpy(zero_copy_only=False), dtype=bool)
    g = _u64(keys["g"])[keyed]
    _, repeated = _once_and_more(h)
    once, more = _once_and_more(g)
    if repeated.size:
        hit = np.asarray(pc.is_in(pa.array(h[keyed]), value_set=pa.array(repeated)).to_numpy(zero_copy_only=False),
                         dtype=bool)
        g_repeated = g[hit]
    else:
        g_repeated = np.zeros(0, np.uint64)
    return repeated, once, more, g_repeated


def _once_and_more(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values held once and those held more than once (each sorted)."""
    s = np.sort(values)
    if s.size == 0:
        return s, s
    starts = np.flatnonzero(np.concatenate([[True], s[1:] != s[:-1], [True]]))
    counts = np.diff(starts)
    firsts = s[starts[:-1]]
    return firsts[counts == 1], firsts[counts > 1]


def _u64(column: pa.ChunkedArray) -> np.ndarray:
    return column.to_numpy().astype(np.uint64, copy=False)


def _table(name: str, values: np.ndarray) -> pa.Table:
    return pa.table({name: pa.array(values, pa.uint64())})
