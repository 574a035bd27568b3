"""Issue 15: the fallback rule for bank credits without a payout reference (unique -> matched, several ->
suggested) and duplicates named as duplicates, on small days run through the real DuckDB match."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from financeops_pipeline.reconciliation.config import ReconConfig
from financeops_pipeline.reconciliation.engine import PREV_BREAKS_SCHEMA, ReconInputs, _empty, reconcile

DAY = dt.date(2026, 11, 5)


def _rows(source: str, rows: list[dict]) -> pa.Table:
    schema = _empty(source).schema
    return pa.Table.from_pylist([{**{n: None for n in schema.names}, **r} for r in rows], schema=schema)


def _int(tx: str, pref: str, amount: int) -> dict:
    return {"transaction_id": tx, "type": "payment", "amount_minor": amount, "currency": "USD",
            "processor": "stripe", "processor_reference": pref, "business_date": DAY, "file_sha256": "i" * 64,
            "source_position": tx, "file_order": "i"}


def _line(line_id: str, pref: str, amount: int, payout: str | None = None, category: str = "charge") -> dict:
    return {"processor": "stripe", "line_id": line_id, "category": category, "reference": pref,
            "currency": "USD", "gross_minor": amount, "fee_minor": 0, "net_minor": amount, "payout_id": payout,
            "payout_date": DAY if payout else None, "business_date": DAY, "file_sha256": "p" * 64,
            "source_position": line_id, "file_order": "p"}


def _bank(ref: str, amount: int, text: str) -> dict:
    return {"account_id": "acct1", "currency": "USD", "booking_date": DAY, "value_date": DAY,
            "amount_minor": amount, "acct_svcr_ref": ref, "remittance_info": text, "booked": True,
            "classification": "other", "business_date": DAY, "file_sha256": "b" * 64, "source_position": ref,
            "file_order": "b"}


def _run(internal: list[dict], processor: list[dict], bank: list[dict]) -> dict[tuple[str, str], dict]:
    inputs = ReconInputs(internal=_rows("internal", internal), processor=_rows("processor", processor),
                         bank=_rows("bank", bank), prev_breaks=PREV_BREAKS_SCHEMA.empty_table())
    states = reconcile(inputs, DAY, ReconConfig()).item_status.to_pylist()
    keys = [(s["source"], s["source_ref"]) for s in states]
    assert len(keys) == len(set(keys)), "every item in exactly one state"
    lines = [p for p in processor if p["category"] != "payout"]   # a payout row is the payout's, no item itself
    expected = len(internal) + len(lines) + len(bank) + len({p["payout_id"] for p in processor if p["payout_id"]})
    assert len(states) == expected
    assert all(s["status"] in ("matched", "explained", "pending", "suggested", "break") for s in states)
    return {k: s for k, s in zip(keys, states, strict=True)}


def test_a_bank_credit_without_reference_matches_its_only_candidate_payout():
    states = _run([], [_line("ch1", "pi_1", 10000, "po_1")], [_bank("B1", 10000, "STRIPE TRANSFER ACH 0912")])
    payout, bank = states[("payout", "stripe:po_1")], states[("bank", "acct1:B1")]
    assert payout["status"] == bank["status"] == "matched"
    assert payout["rule"] == bank["rule"] == "counterparty_amount"
    assert payout["match_group"] == bank["match_group"]
    assert json.loads(bank["details"]) == {"rule": "counterparty_amount", "score": 1.0}


def test_the_fallback_needs_the_processor_pattern_and_the_exact_amount():
    states = _run([], [_line("ch1", "pi_1", 10000, "po_1")],
                  [_bank("B1", 10000, "ADYEN BV"), _bank("B2", 9999, "STRIPE TRANSFER")])
    assert states[("bank", "acct1:B1")]["status"] != "matched"
    # One unit short is not the counterparty rule's (exact amounts): the tolerance rule's, with its difference.
    payout, short = states[("payout", "stripe:po_1")], states[("bank", "acct1:B2")]
    assert payout["rule"] == short["rule"] == "payout_bank_fee"
    assert json.loads(short["details"])["difference"] == -1


def test_two_payouts_of_the_same_amount_are_suggested_with_their_candidates_never_guessed():
    states = _run([], [_line("ch1", "pi_1", 10000, "po_1"), _line("ch2", "pi_2", 10000, "po_2")],
                  [_bank("B1", 10000, "STRIPE TRANSFER")])
    bank = states[("bank", "acct1:B1")]
    assert bank["status"] == "suggested" and bank["break_type"] == "bank_unmatched" and bank["break_id"]
    assert json.loads(bank["details"])["candidates"] == [
        {"source": "payout", "source_ref": "stripe:po_1"}, {"source": "payout", "source_ref": "stripe:po_2"}]
    for ref in ("stripe:po_1", "stripe:po_2"):
        payout = states[("payout", ref)]
        assert payout["status"] == "suggested" and payout["rule"] == "counterparty_amount"
        assert json.loads(payout["details"])["candidates"] == [{"source": "bank", "source_ref": "acct1:B1"}]
    assert json.loads(bank["details"])["score"] == 0.5   # one of two candidates


def test_a_charge_recorded_twice_internally_is_a_duplicate_and_the_first_record_matches():
    states = _run([_int("tx1", "pi_1", 5000), _int("tx2", "pi_1", 5000)], [_line("ch1", "pi_1", 5000)], [])
    assert states[("internal", "tx1")]["status"] == "matched"
    assert states[("processor", "stripe:ch1")]["status"] == "matched"
    dup = states[("internal", "tx2")]
    assert (dup["status"], dup["break_type"]) == ("break", "duplicate")
    assert json.loads(dup["details"]) == {"duplicate_of": "tx1", "records": ["tx1", "tx2"]}


def test_a_processor_line_delivered_twice_is_a_duplicate_and_the_payout_counts_it_once():
    lines = [_line("ch1", "pi_1", 5000, "po_1"), _line("ch1b", "pi_1", 5000, "po_1"),
             _line("po_1", None, -5000, "po_1", category="payout")]
    states = _run([_int("tx1", "pi_1", 5000)], lines, [_bank("B1", 5000, "STRIPE po_1")])
    assert states[("internal", "tx1")]["status"] == "matched"
    assert states[("processor", "stripe:ch1")]["status"] == "matched"
    dup = states[("processor", "stripe:ch1b")]
    assert (dup["status"], dup["break_type"]) == ("break", "duplicate")
    assert json.loads(dup["details"])["records"] == ["stripe:ch1", "stripe:ch1b"]
    assert states[("payout", "stripe:po_1")]["status"] == "matched"


def test_two_real_charges_of_the_same_amount_are_no_duplicates():
    states = _run([_int("tx1", "pi_1", 5000), _int("tx2", "pi_1", 5000)],
                  [_line("ch1", "pi_1", 5000), _line("ch2", "pi_1", 5000)], [])
    assert {s["status"] for s in states.values()} == {"matched"}
