"""The three-way diff in plain, vectorized pandas, only to give the benchmark a ratio against DuckDB.

Same inputs (the Arrow tables `reconciliation.engine.load_inputs` brings from Postgres) and the same core
steps as `reconciliation/sql/match.sql`: duplicates, internal <-> processor by processor reference with
gross amount and currency compared, payout proof (lines' net against the payout row) and payouts found in
the bank by reference. Windows, carry-forward and the fallback rule are left out, so the pandas figure
flatters pandas. Never used by the pipeline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from financeops_pipeline.reconciliation.engine import ReconInputs

_KIND = {"payment": "charge", "refund": "refund", "chargeback": "dispute"}


def reconcile_pandas(inputs: ReconInputs) -> dict[str, int]:
    """Counts of matched pairs, mismatches, one-sided items, payout proofs failed and payouts not in the bank."""
    internal = inputs.internal.to_pandas()
    processor = inputs.processor.to_pandas()
    bank = inputs.bank.to_pandas()
    order = ["business_date", "file_order", "source_position"]

    internal = internal.sort_values(order)
    internal["dup"] = internal.duplicated("transaction_id")
    internal["kind"] = internal["type"].map(_KIND)
    processor = processor.sort_values(order)
    processor["dup"] = processor.duplicated(["processor", "line_id"])
    items = processor[processor["category"].isin(["charge", "refund", "dispute"]) & ~processor["dup"]].copy()
    items["amount_minor"] = items["gross_minor"].abs()

    keys = ["processor", "pref", "kind"]
    left = (internal[~internal["dup"]].rename(columns={"processor_reference": "pref"})
            .groupby(keys, dropna=False).agg(i_amt=("amount_minor", "sum"), i_cur=("currency", "first"))
            .reset_index())
    right = (items.rename(columns={"reference": "pref", "category": "kind"})
             .groupby(keys, dropna=False).agg(p_amt=("amount_minor", "sum"), p_cur=("currency", "first"))
             .reset_index())
    pairs = left.merge(right, on=keys, how="outer", indicator=True)
    both = pairs["_merge"] == "both"
    outcome = np.select(
        [both & (pairs["i_cur"] != pairs["p_cur"]), both & (pairs["i_amt"] != pairs["p_amt"]), both,
         pairs["_merge"] == "left_only"],
        ["currency_mismatch", "amount_mismatch", "matched", "missing_in_processor"], "missing_in_internal")

    with_payout = processor[processor["payout_id"].notna() & ~processor["dup"]]
    is_payout = with_payout["category"] == "payout"
    lines = with_payout[~is_payout].groupby(["processor", "payout_id", "currency"])["net_minor"].sum()
    reported = -with_payout[is_payout].groupby(["processor", "payout_id", "currency"])["net_minor"].sum()
    payouts = pd.concat([lines.rename("lines_net"), reported.rename("reported")], axis=1).reset_index()
    proof_failed = payouts["reported"].notna() & (payouts["reported"] != payouts["lines_net"])

    # A payout is in the bank when any reference field of a credit carries its id, with the same amount.
    refs = pd.concat([bank[["amount_minor", "currency", c]].rename(columns={c: "ref"})
                      for c in ("end_to_end_id", "acct_svcr_ref", "instr_id")])
    words = bank[["amount_minor", "currency", "remittance_info"]].assign(
        ref=bank["remittance_info"].fillna("").str.split()).explode("ref").drop(columns="remittance_info")
    refs = pd.concat([refs, words]).dropna(subset=["ref"]).drop_duplicates()
    payouts["amount_minor"] = payouts["reported"].fillna(payouts["lines_net"])
    found = payouts.merge(refs, left_on=["payout_id", "currency", "amount_minor"],
                          right_on=["ref", "currency", "amount_minor"], how="left", indicator=True)
    not_in_bank = found.drop_duplicates(["processor", "payout_id", "currency"])["_merge"] == "left_only"

    counts = pd.Series(outcome).value_counts().to_dict()
    counts.update(duplicate=int(internal["dup"].sum() + processor["dup"].sum()),
                  payout_sum_mismatch=int(proof_failed.sum()), payout_not_in_bank=int(not_in_bank.sum()))
    return {k: int(v) for k, v in counts.items()}
