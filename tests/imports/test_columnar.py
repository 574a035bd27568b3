"""The whole-column fast paths give exactly the records of the row-by-row paths, and step aside otherwise."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from financeops_pipeline.imports import internal, stripe
from tests.conftest import SAMPLES


def _normalized(records: list[dict]) -> list[dict]:
    # extra is stored as jsonb: compare it as JSON, not as text
    return [{**r, "extra": json.loads(r["extra"]) if r.get("extra") else None} if "extra" in r else r
            for r in records]


def _both(module_fast, module_rows, data: bytes, name: str):
    fast = module_fast(data, name)
    rows = module_rows(data, name)
    return fast, rows


def test_sample_files_take_the_fast_path_with_identical_records():
    files = sorted(SAMPLES.glob("*/*/internal/*.csv")) + sorted(SAMPLES.glob("*/*/processor/stripe_*.csv"))
    assert files
    for path in files:
        data = path.read_bytes()
        module = internal if "internal" in path.parts else stripe
        fast = module.parse(data, path.name)
        rows = (module.parse_csv_rows if module is internal else module.parse_rows)(data, path.name)
        assert fast.table is not None, f"{path} should be clean enough for the fast path"
        assert rows.errors == []
        assert _normalized(fast.records()) == _normalized(rows.records()), path


amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(amounts, amounts, st.sampled_from(["charge", "refund", "payout", "fee", "other_x"]),
                          st.sampled_from(["usd", "eur", "jpy", "bhd"]), st.text(max_size=8)),
                min_size=1, max_size=20))
def test_fast_and_row_paths_agree_on_generated_stripe_files(lines):
    text = ["balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,source_id,note"]
    for i, (gross, fee, category, currency, note) in enumerate(lines):
        if currency == "jpy":
            gross, fee = gross.quantize(1), fee.quantize(1)
        if category in ("refund",):
            gross = -gross
        note = note.replace(",", " ").replace('"', "'").replace("\n", " ").replace("\r", " ")
        text.append(f"txn_{i},2026-11-02 10:00:{i % 60:02d},{currency},{gross},{fee},{gross - fee},{category},"
                    f"ch_{i},{note}")
    data = ("\n".join(text) + "\n").encode()
    fast, rows = stripe.parse(data, "s.csv"), stripe.parse_rows(data, "s.csv")
    assert fast.errors == rows.errors
    assert _normalized(fast.records()) == _normalized(rows.records())


def test_a_bad_line_sends_the_file_down_the_row_path_which_names_it():
    data = (SAMPLES / "acme" / "2026-11-02" / "internal" / "transactions.csv").read_bytes()
    bad = data.replace(b"40.00", b"40.001", 1)
    parsed = internal.parse(bad, "t.csv")
    assert parsed.table is None
    assert [(e.position, e.field) for e in parsed.errors] == [("line 2", "amount")]
