"""The 1:1 pairs by processor reference and the rows of the general rules, from the 64-bit keys of every record
(keys.sql), by numpy's sorts.

Almost every internal record meets exactly one processor line under its rule-1 key (processor, processor
reference, kind). engine.py reads each source's columns once into Arrow and keys.sql hashes them (h, the hash of
the record's id, a delivery of it again repeats h, and g, the hash of its key, where it has one: keyed); engine.py
gives the rows with their keys beside them. From those:
- repeated ids: rows whose h another row of the same side shares;
- lone pairs: hash groups of g holding exactly one keyed record of each side, neither of them a repeated id.
  The processor lines' columns are taken by position beside the internal rows, in these rows' order (the
  lines follow it closely: both files are in time order; a random order cost 5x), and the strings compared:
  same_key (the key agrees; false for a hash collision) and plain (same key, currency and amount);
- the rest: every row that is not one side of a same-key pair, for the general rules (match.sql), which are
  exact. A whole hash group goes there together, so every record of a key and every delivery of an id does.
  Those rows (~1%) are taken by position, with their row number in the source (`row`): engine.py adds the
  columns only they need from the sources at those rows.

Each sort is of one array of 64-bit words packing the hash's high bits above the row's position (and the side):
numpy sorts those with AVX-512 in a fraction of an argsort's time, and of DuckDB's hash aggregates and join over
~10M groups with the strings in the hash table. Dropping the hash's low bits only merges hash groups (more
collisions), and a collision only ever sends rows to the general rules.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# the columns of a pair taken from each side
_INT_COLUMNS = ["ref", "processor", "pref", "kind", "currency", "amount_minor", "item_date"]
_PROC_COLUMNS = ["processor", "line_id", "reference", "category", "currency", "gross_minor", "business_date"]


@dataclass
class KeySplit:
    plain: pa.Table       # every plain 1:1 match (same key, currency and amount), one row a pair: i_ref, line_id,
    #                       processor, pref, kind, currency, amount_minor, i_date, p_date (store.PAIRS_SCHEMA's)
    int_rest: pa.Table    # the internal rows for the general rules (the columns given, and `row`: their position)
    proc_rest: pa.Table   # the processor lines for the general rules, likewise
    exceptions: pa.Table  # the same-key pairs, and the hash collisions, that are not a plain match (a few of a day):
    #                       g, i_ref, p_ref, processor, pref, kind, both sides' currency, amount and date, same_key


def split_keys(int_rows: pa.Table, proc_rows: pa.Table) -> KeySplit:
    """Lone pairs and rests of the sources' rows with their keys (engine.py: in the sources' order, with the columns
    only the rest needs, which the rest's rows keep).

    The rest is every row that is not one side of a same-key pair (a side of a pair is no repeated id, so every
    delivery of a rest row's id is in the rest too). Only the pairs' columns are taken at the pairs (the plain ones
    and the exceptions apart): no table of every internal row with its partner's columns is built."""
    h_int, h_proc = _u64(int_rows["h"]), _u64(proc_rows["h"])
    # the repeated ids' two sorts on another thread while this one sorts the keys (numpy's sorts release the GIL)
    with ThreadPoolExecutor(1, thread_name_prefix="recon-keys") as pool:
        repeated = pool.submit(lambda: (_repeated(h_int), _repeated(h_proc)))
        i_row, p_row = _lone_pairs(_u64(int_rows["g"]), _flag(int_rows["keyed"]),
                                   _u64(proc_rows["g"]), _flag(proc_rows["keyed"]))
        repeated_int, repeated_proc = repeated.result()
    keep = ~(repeated_int[i_row] | repeated_proc[p_row])
    del repeated_int, repeated_proc
    i_row, p_row = i_row[keep], p_row[keep]
    n_proc = proc_rows.num_rows
    # every internal row as it is (no copy), beside its pair's processor line or nulls (no pair)
    partner = np.full(int_rows.num_rows, -1, dtype=np.int64)
    partner[i_row] = p_row
    pair = partner >= 0
    i = int_rows.select(_INT_COLUMNS)
    p = proc_rows.select(_PROC_COLUMNS).take(pa.array(partner, mask=~pair))
    same_key = pc.fill_null(pc.and_(pc.and_(pc.equal(i["processor"], p["processor"]),
                                            pc.equal(i["pref"], p["reference"])),
                                    pc.equal(i["kind"], p["category"])), False)
    paired = _flag(same_key)   # the internal rows that are one side of a same-key pair
    p_amount = pc.abs(p["gross_minor"])
    plain = _flag(pc.and_(same_key, pc.and_(pc.equal(i["currency"], p["currency"]),
                                            pc.equal(i["amount_minor"], p_amount))))
    int_rest = _rows_at(int_rows, np.flatnonzero(~paired))
    proc_rest = _rows_at(proc_rows, np.flatnonzero(~_mask(n_proc, partner[paired])))
    # the pairs that are not plain matches (a few): their columns taken at their rows
    odd = np.flatnonzero(pair & ~plain)
    odd_i, odd_p = _rows_at(int_rows.select(["g", *_INT_COLUMNS]), odd), p.take(odd)
    exceptions = pa.table({
        "g": odd_i["g"], "i_ref": odd_i["ref"],
        "p_ref": pc.binary_join_element_wise(odd_p["processor"], odd_p["line_id"], ":"),
        "processor": odd_i["processor"], "pref": odd_i["pref"], "kind": odd_i["kind"],
        "i_currency": odd_i["currency"], "p_currency": odd_p["currency"], "i_amount": odd_i["amount_minor"],
        "p_amount": p_amount.take(odd), "i_date": odd_i["item_date"], "p_date": odd_p["business_date"],
        "same_key": same_key.take(odd)})
    # the plain matches: the internal rows' columns filtered chunk by chunk (the sides agree on the key, currency
    # and amount; processor and currency as the record files' dictionaries where engine.py gives them), and of the
    # processor lines' only the line id and the date
    mask = pa.array(plain)
    line_id, p_date = p["line_id"].filter(mask), p["business_date"].filter(mask)
    del p, odd_p, p_amount, proc_rows   # the partners' columns before the internal rows' are copied (peak memory)
    processor, currency = _few(int_rows, "processor"), _few(int_rows, "currency")
    plain_i = int_rows.select(["ref", processor, "pref", "kind", currency, "amount_minor", "item_date"]).filter(mask)
    del int_rows
    plain_pairs = pa.table({
        "i_ref": plain_i["ref"], "line_id": line_id, "processor": plain_i[processor], "pref": plain_i["pref"],
        "kind": plain_i["kind"], "currency": plain_i[currency], "amount_minor": plain_i["amount_minor"],
        "i_date": plain_i["item_date"], "p_date": p_date})
    return KeySplit(plain=plain_pairs, int_rest=int_rest, proc_rest=proc_rest, exceptions=exceptions)


def _few(rows: pa.Table, name: str) -> str:
    """A few-valued column's name in `rows`: its dictionary as the record files hold it (<name>_dict), if given."""
    return f"{name}_dict" if f"{name}_dict" in rows.column_names else name


def _rows_at(rows: pa.Table, positions: np.ndarray) -> pa.Table:
    """The rows at `positions` (ascending), with their positions as `row`. Taken chunk by chunk: Arrow's take from
    a column of several chunks (one per record file, and DuckDB's batches) first concatenates the whole column."""
    columns = {}
    for name in rows.column_names:
        column = rows[name]
        if column.num_chunks <= 1:
            columns[name] = column.take(positions)
            continue
        parts, offset = [], 0
        for chunk in column.chunks:
            lo, hi = np.searchsorted(positions, [offset, offset + len(chunk)])
            parts.append(chunk.take(pa.array(positions[lo:hi] - offset)))
            offset += len(chunk)
        columns[name] = pa.chunked_array(parts, column.type)
    return pa.table(columns).append_column("row", pa.array(positions, pa.int64()))


def _u64(column: pa.ChunkedArray) -> np.ndarray:
    return column.to_numpy().astype(np.uint64, copy=False)


def _flag(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(column, False).to_numpy(zero_copy_only=False), dtype=bool)


def _mask(n: int, rows: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return mask


def _packed(hashes: np.ndarray, low: np.ndarray, shift: int) -> np.ndarray:
    """hashes' high bits above `low` (which fits in `shift` bits), one word each."""
    s = np.uint64(shift)
    return ((hashes >> s) << s) | low


def _repeated(h: np.ndarray) -> np.ndarray:
    """Rows whose hash another row shares (by its high bits: a collision only adds rows)."""
    n = h.size
    out = np.zeros(n, dtype=bool)
    if n < 2:
        return out
    shift = n.bit_length()
    words = _packed(h, np.arange(n, dtype=np.uint64), shift)
    words.sort()
    top = words >> np.uint64(shift)
    same = top[1:] == top[:-1]
    rows = words & np.uint64((1 << shift) - 1)
    out[rows[1:][same]] = True
    out[rows[:-1][same]] = True
    return out


def _lone_pairs(g_int: np.ndarray, keyed_int: np.ndarray, g_proc: np.ndarray, keyed_proc: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """(internal row, processor row) of every hash group of g with exactly one keyed row of each side."""
    bits = max(g_int.size, g_proc.size, 1).bit_length()
    side = np.uint64(1 << bits)
    words = np.concatenate([
        _packed(g_int[keyed_int], np.flatnonzero(keyed_int).astype(np.uint64), bits + 1),
        _packed(g_proc[keyed_proc], np.flatnonzero(keyed_proc).astype(np.uint64) | side, bits + 1)])
    if words.size < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    words.sort()
    top = words >> np.uint64(bits + 1)
    starts = np.flatnonzero(np.concatenate([[True], top[1:] != top[:-1], [True]]))
    first = starts[:-1][np.diff(starts) == 2]   # groups of two rows; a group's internal row sorts first
    a, b = words[first], words[first + 1]
    pair = ((a & side) == 0) & ((b & side) != 0)
    row = side - np.uint64(1)
    return (a[pair] & row).astype(np.int64), (b[pair] & row).astype(np.int64)
