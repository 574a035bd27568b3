"""Normalization shared by posting and reconciliation, done once at import so both read one answer."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

# Which processor a bank credit comes from, recognised in the bank's own text (payer name, remittance).
PROCESSOR_PATTERNS = {"stripe": r"(?i)\bstripe\b", "adyen": r"(?i)\badyen\b", "paypal": r"(?i)\bpay\s?pal\b"}
FEE_PATTERN = r"(?i)\b(fee|fees|charge|charges|commission)\b"
FEE_CODES = ["698", "699", "ACMT/MDOP/CHRG", "PMNT/MDOP/CHRG"]
INTEREST_PATTERN = r"(?i)\binterest\b"


def classify_bank_lines(table: pa.Table) -> pa.Table:
    """Add `classification` (payout | fee | interest | other) and `processor` to canonical bank lines."""
    text = pc.binary_join_element_wise(
        *(pc.fill_null(table[c], "") for c in ("remittance_info", "counterparty_name", "end_to_end_id",
                                               "instr_id")), " ",
    )
    amount = table["amount_minor"]
    processor = pa.nulls(table.num_rows, pa.string())
    for name, pattern in PROCESSOR_PATTERNS.items():
        processor = pc.if_else(pc.and_(pc.is_null(processor), pc.match_substring_regex(text, pattern)),
                               name, processor)
    is_credit = pc.greater(amount, 0)
    is_fee = pc.or_(pc.match_substring_regex(text, FEE_PATTERN),
                    pc.is_in(pc.fill_null(table["bank_tx_code"], ""), pa.array(FEE_CODES)))
    classification = pc.case_when(
        pc.make_struct(
            pc.and_(is_credit, pc.is_valid(processor)),
            pc.and_(pc.invert(is_credit), is_fee),
            pc.and_(is_credit, pc.match_substring_regex(text, INTEREST_PATTERN)),
        ),
        "payout", "fee", "interest", "other",
    )
    return table.append_column("classification", classification).append_column("processor", processor)
