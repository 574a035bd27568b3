"""Synthetic landing folders in the real formats, with injected breaks and their ground truth.

`generate(out_dir, start_date, days, transactions, tenants, seed, break_rate)` writes

    <out>/<tenant>/<YYYY-MM-DD>/internal/transactions.csv
    <out>/<tenant>/<YYYY-MM-DD>/processor/stripe_balance_<day>.csv, adyen_settlement_<day>.csv
    <out>/<tenant>/<YYYY-MM-DD>/bank/camt053_<day>.xml or bai2_<day>.bai2   (alternating per tenant-day)
    <out>/ground_truth.csv

following the conventions of data_samples/README.md: Stripe fees 2.9 % + 0.30 (refund 0, dispute 15.00),
Adyen card fees 0.10 + 0.05 + 1 %, iDEAL 0.25, refund 0.20, chargeback 0; net = gross - fee on every line;
one payout per processor per tenant-day with its payout row; every payout credited at the bank on T+1 with
its reference in the text; opening balance = previous closing and opening + entries = closing; BAI2 control
totals and record counts. Money is int64 minor units throughout and is formatted as decimal text with
integer arithmetic only.

`transactions` is the number of transactions per tenant-day (payments, refunds and chargebacks, split
between Stripe and Adyen). They are generated and written in chunks of `CHUNK` rows as Arrow columns
(numpy for the numbers, pyarrow.compute for the text), so 10 million per tenant-day stream to disk without
holding the day in memory. Bank files stay small: payouts aggregate.

Breaks are injected at `break_rate` (per transaction, per payout and per bank statement day) and, whenever
the days are there to show them, once of every type per tenant on a fixed schedule (`_FORCED_*`), together
with cases that must match: late bank credits inside the window, one bank credit for two payouts, split
refunds, refunds and chargebacks, bank fees and interest. `ground_truth.csv` lists one row per break the
data implies, as the reconciliation reports it (break_type, source, source_ref) with the day it was
injected and the first business day on which it is a break under the default windows (an item is pending
while its age <= its window). Knock-on effects are listed too: a line delivered twice makes its payout a
`payout_sum_mismatch` (the payout row reports the true total), a bank credit arriving after the bank
window leaves its payout `payout_not_in_bank` and is itself `bank_unmatched`.

How a duplicate arrives, consistent with the parsers:
* Adyen: the same line twice in one settlement file (the parser keeps both with the same line_id);
* Stripe: the same balance transaction re-delivered in the next day's report (a repeat inside one Stripe
  file would be a record error, not a duplicate); it still names the previous day's payout;
* internal: the same transaction re-exported in the next day's file (a repeat inside one file is a record
  error).

Deterministic: the same arguments give the same bytes (random streams are keyed by seed, tenant, day and
chunk; nothing depends on the clock or the number of cores).
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from financeops_pipeline.landing import validate_tenant
from financeops_pipeline.money import CURRENCY_EXPONENTS
from financeops_pipeline.reconciliation.config import DEFAULT_WINDOWS, ReconConfig
from financeops_pipeline.reconciliation.rules import load_rules

CHUNK = 1_000_000          # rows generated and written at a time (fixed: determinism must not depend on it)
PROGRESS_MIN_ROWS = 200_000

BREAK_TYPES = (
    "missing_in_processor", "missing_in_internal", "amount_mismatch", "currency_mismatch", "duplicate",
    "payout_sum_mismatch", "payout_not_in_bank", "bank_unmatched",
)
GROUND_TRUTH_COLUMNS = ("tenant", "break_type", "source", "source_ref", "day_injected", "expected_first_seen")
# Items of the issue-15 cases that must end in a given state and rule (expected_outcomes.csv): matched by the
# fallback, tolerance and FX rules, or suggested (never a break, never a guess).
OUTCOME_COLUMNS = ("tenant", "source", "source_ref", "status", "rule", "day")

DEFAULT_TENANTS = ("acme", "globex", "initech", "umbrella", "hooli", "wonka", "tyrell", "stark", "wayne")
CURRENCIES = ("USD", "EUR", "JPY")
_ALT_CURRENCY = {"USD": "EUR", "EUR": "USD", "GBP": "EUR", "JPY": "KRW"}   # same exponent: amount text stays valid

STRIPE, ADYEN = 0, 1
PROCESSORS = ("stripe", "adyen")
PAYMENT, REFUND, CHARGEBACK = 0, 1, 2
INTERNAL_TYPES = ("payment", "refund", "chargeback")
STRIPE_CATEGORIES = ("charge", "refund", "dispute")
ADYEN_TYPES = ("Settled", "Refunded", "Chargeback")
VISA, MC, IDEAL = 0, 1, 2
METHODS = ("visa", "mc", "ideal")
METHOD_VARIANTS = ("visastandardcredit", "mcstandardcredit", "idealing")

# Transaction-level mutations.
M_NONE, M_MISSING_PROC, M_MISSING_INT, M_AMOUNT, M_CURRENCY, M_DUP = range(6)
DUP_PROCESSOR, DUP_INTERNAL = 0, 1

INTERNAL_COLUMNS = ("transaction_id", "created_at", "type", "amount", "currency", "processor",
                    "processor_reference", "customer_id", "description")
STRIPE_COLUMNS = ("balance_transaction_id", "created_utc", "available_on_utc", "currency", "gross", "fee", "net",
                  "reporting_category", "source_id", "automatic_payout_id", "automatic_payout_effective_at",
                  "description", "exchange_rate", "customer_facing_amount", "customer_facing_currency")
ADYEN_COLUMNS = ("Company Account", "Merchant Account", "Psp Reference", "Merchant Reference", "Payment Method",
                 "Creation Date", "TimeZone", "Type", "Modification Reference", "Gross Currency",
                 "Gross Debit (GC)", "Gross Credit (GC)", "Exchange Rate", "Net Currency", "Net Debit (NC)",
                 "Net Credit (NC)", "Commission (NC)", "Markup (NC)", "Scheme Fees (NC)", "Interchange (NC)",
                 "Payment Method Variant", "Batch Number")
_WRITE = pacsv.WriteOptions(include_header=True, quoting_style="none", quoting_header="none", batch_size=65536)

# ------------------------------------------------------------------------------------------------------
# The fixed schedule: one of every break type per tenant, plus the tricky cases that must match.
# Day index -> forced transactions (processor, kind, mutation, option) at positions 0.. of the day.
_FORCED_ROWS: dict[int, list[tuple[int, int, int, object]]] = {
    0: [(STRIPE, PAYMENT, M_MISSING_PROC, None),
        (ADYEN, PAYMENT, M_MISSING_INT, None),
        (STRIPE, PAYMENT, M_AMOUNT, 1),                 # one minor unit more at the processor
        (ADYEN, PAYMENT, M_NONE, "split_a"),            # refunded in two parts on day 2
        (STRIPE, REFUND, M_MISSING_INT, None)],
    1: [(STRIPE, PAYMENT, M_CURRENCY, None),
        (ADYEN, PAYMENT, M_AMOUNT, -1),                 # one minor unit less at the processor
        (ADYEN, PAYMENT, M_DUP, DUP_PROCESSOR),         # twice in the settlement file
        (STRIPE, PAYMENT, M_DUP, DUP_INTERNAL),         # re-exported in the next day's internal file
        (STRIPE, PAYMENT, M_AMOUNT, 2500),
        (STRIPE, REFUND, M_NONE, None),
        (STRIPE, CHARGEBACK, M_NONE, None),
        (ADYEN, REFUND, M_NONE, None),
        (ADYEN, CHARGEBACK, M_NONE, None),
        (ADYEN, PAYMENT, M_NONE, "split_b")],           # one refund record, two Adyen lines on day 3
    2: [(ADYEN, REFUND, M_MISSING_PROC, None),
        (ADYEN, PAYMENT, M_CURRENCY, None)],
    3: [(STRIPE, PAYMENT, M_DUP, DUP_PROCESSOR)],       # re-delivered in the next day's Stripe report
}
# (day index, processor) -> payout plan.
_FORCED_PAYOUTS = {
    (0, ADYEN): "missing",          # never credited: payout_not_in_bank
    (0, STRIPE): "late_beyond",     # credited after the bank window: payout_not_in_bank + bank_unmatched
    (1, STRIPE): "many_first",      # credited together with the next Stripe payout (many-to-one)
    (2, STRIPE): "many_second",
    (2, ADYEN): "late_inside",      # credited on D+2, inside the window: matches
    (3, ADYEN): "sum_mismatch",     # payout row differs from its lines: payout_sum_mismatch
    # Issue 15: credits that do not carry the payout's reference, and credits short by the bank's fee.
    # (on days whose payouts no duplicate line touches)
    (4, STRIPE): "noref",           # one credit of its amount without reference: matched by counterparty_amount
    (4, ADYEN): "fee_outside",      # credited less a fee beyond it: amount_mismatch on the bank credit
    (5, STRIPE): "fee_inside",      # credited less a fee within the tolerance rule: matched, fee to bank fees
    (5, ADYEN): "noref_twice",      # two credits of its amount without reference: all three suggested
}
_CREDIT_CASES = ("noref", "noref_twice", "fee_inside", "fee_outside")
# Issue 15: day index -> extra Stripe cases (rows after the day's transactions): an FX payment (the customer paid
# in another currency, with Stripe's exchange_rate), a charge recorded twice internally under two transaction
# ids, a balance line delivered twice under two ids.
_FORCED_EXTRA = {1: ("fx",), 2: ("dup_internal_ids", "dup_processor_ids")}
FX_RATE = ("1.0847", 10847, 10000)   # as written, numerator, denominator: settlement = charge * rate
_FORCED_UNKNOWN_CREDIT_DAYS = {1}
_SPLITS = {2: "split_a", 3: "split_b"}   # day index of the refund -> payment tag


# ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TenantSpec:
    name: str
    index: int
    currency: str
    account_id: str
    merchant_account: str
    batch_base: int
    opening_minor: int

    @property
    def exponent(self) -> int:
        return CURRENCY_EXPONENTS[self.currency]

    @property
    def code(self) -> str:
        return self.name.upper()[:8]

    @property
    def title(self) -> str:
        return self.name.replace("_", " ").title().replace(" ", "")

    @property
    def psp_digit(self) -> int:
        return self.index % 9 + 1

    @property
    def alt_currency(self) -> str:
        return _ALT_CURRENCY.get(self.currency, "EUR" if self.exponent == 2 else "USD")

    def bank_format(self, day_index: int) -> str:
        return "camt053" if (self.index + day_index) % 2 == 0 else "bai2"


def tenant_specs(tenants: int | str | Sequence[str]) -> list[TenantSpec]:
    """Tenants from a count (acme USD, globex EUR, initech JPY, ...) or names (a list or a comma string)."""
    if isinstance(tenants, str):
        tenants = int(tenants) if tenants.strip().isdigit() else [t.strip() for t in tenants.split(",") if t.strip()]
    if isinstance(tenants, int):
        if tenants < 1:
            raise ValueError("at least one tenant")
        names = [DEFAULT_TENANTS[i] if i < len(DEFAULT_TENANTS) else f"tenant{i + 1}" for i in range(tenants)]
    else:
        names = list(tenants)
    if not names or len(set(names)) != len(names):
        raise ValueError(f"tenant names must be non-empty and distinct: {names!r}")
    specs = []
    for i, name in enumerate(names):
        validate_tenant(name)
        currency = CURRENCIES[i % len(CURRENCIES)]
        exp = CURRENCY_EXPONENTS[currency]
        specs.append(TenantSpec(
            name=name, index=i, currency=currency,
            account_id=str(100_000_000 + (123_456_789 * (i + 1)) % 900_000_000),
            merchant_account=f"{name.replace('_', ' ').title().replace(' ', '')}{currency}",
            batch_base=100 * (i + 1),
            opening_minor=1_000_000 * 10**exp if exp else 100_000_000,
        ))
    return specs


@dataclass
class GroundTruth:
    """The breaks the generated data implies; `expected()` are those a run of every day must report."""

    path: Path
    table: pa.Table
    first_day: dt.date
    last_day: dt.date
    files: list[Path] = field(default_factory=list)
    outcomes: list[dict[str, str]] = field(default_factory=list)   # OUTCOME_COLUMNS

    def expected_outcomes(self) -> list[dict[str, str]]:
        """The outcomes a run of every day must show on its last day (their items all arrived by then)."""
        last = self.last_day.isoformat()
        return [o for o in self.outcomes if o["day"] <= last]

    def rows(self) -> list[dict[str, str]]:
        return self.table.to_pylist()

    def expected(self) -> list[dict[str, str]]:
        last = self.last_day.isoformat()
        return [r for r in self.rows() if r["expected_first_seen"] <= last]

    def counts(self, expected_only: bool = True) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in (self.expected() if expected_only else self.rows()):
            out[r["break_type"]] = out.get(r["break_type"], 0) + 1
        return dict(sorted(out.items()))


# ------------------------------------------------------------------------------------------------ text
_P10 = [10**i for i in range(19)]


def _s(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def _pad(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(_s(values), width=width, padding="0")


def _join(*parts: object, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def _pick(codes: np.ndarray, choices: Sequence[str | None]) -> pa.Array:
    """Text of small integer codes (dictionary decode: no Python loop)."""
    indices = pa.array(np.asarray(codes, dtype=np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(choices), pa.string())).dictionary_decode()


def _const(value: str | None, n: int) -> pa.Array:
    if value is None:
        return pa.nulls(n, pa.string())
    return _pick(np.zeros(n, dtype=np.int8), [value])


def money_text(minor: np.ndarray | Iterable[int], exponent: int) -> pa.Array:
    """Decimal text of int64 minor units ('-12.05', '0.07', '1234' for JPY), integer arithmetic only."""
    minor = np.asarray(minor, dtype=np.int64)
    if exponent == 0:
        return _s(minor)
    mag = np.abs(minor)
    text = _join(_s(mag // _P10[exponent]), _pad(mag % _P10[exponent], exponent), sep=".")
    neg = minor < 0
    if neg.any():
        text = pc.if_else(pa.array(neg), _join("-", text), text)
    return text


def format_minor(minor: int, exponent: int) -> str:
    """One amount as decimal text (no sign handling beyond '-'), integer arithmetic only."""
    sign = "-" if minor < 0 else ""
    mag = abs(int(minor))
    if exponent == 0:
        return f"{sign}{mag}"
    return f"{sign}{mag // _P10[exponent]}.{mag % _P10[exponent]:0{exponent}d}"


def _hms(secs: np.ndarray) -> pa.Array:
    secs = np.asarray(secs, dtype=np.int64)
    return _join(_pad(secs // 3600, 2), _pad(secs // 60 % 60, 2), _pad(secs % 60, 2), sep=":")


def _nullable(mask: np.ndarray, text: pa.Array) -> pa.Array:
    """`text` where mask, empty cell elsewhere."""
    return pc.if_else(pa.array(mask), text, pa.scalar(None, pa.string()))


# --------------------------------------------------------------------------------------------- ids
class _Ids:
    """Identifiers of one tenant-day, as functions of the global row number (unique across days)."""

    def __init__(self, t: TenantSpec, day: dt.date) -> None:
        self.t = t
        self.ymd = day.strftime("%Y%m%d")
        daynum = (day - dt.date(2000, 1, 1)).days
        self.psp_prefix = f"{t.psp_digit}{daynum:05d}"
        self.mod_prefix = f"{(t.psp_digit + 4) % 9 + 1}{daynum:05d}"

    def tid(self, rows: np.ndarray) -> pa.Array:
        return _join(f"{self.t.name}-{self.ymd}-", _pad(rows, 8))

    def stripe_source(self, rows: np.ndarray, kind: np.ndarray) -> pa.Array:
        return _join(_pick(kind, ("ch_3Q", "re_3Q", "dp_1Q")), _const(f"{self.t.title}{self.ymd}", len(rows)),
                     _pad(rows, 8))

    def stripe_txn(self, rows: np.ndarray) -> pa.Array:
        return _join(f"txn_3Q{self.t.title}{self.ymd}", _pad(rows, 8))

    def psp(self, rows: np.ndarray) -> pa.Array:
        return _join(self.psp_prefix, _pad(rows, 10))

    def mod(self, rows: np.ndarray) -> pa.Array:
        return _join(self.mod_prefix, _pad(rows, 10))


# ------------------------------------------------------------------------------------------- fees
def stripe_fee(kind: np.ndarray, gross_abs: np.ndarray, exponent: int) -> np.ndarray:
    """2.9 % + 0.30 on a charge (JPY: 3.6 %), half-up to the minor unit; refund 0; dispute 15.00 (JPY 2000)."""
    if exponent == 0:
        charge = (gross_abs * 36 + 500) // 1000
        dispute = 2000
    else:
        charge = (gross_abs * 29 + 500) // 1000 + 30 * _P10[exponent - 2]
        dispute = 15 * _P10[exponent]
    return np.where(kind == PAYMENT, charge, np.where(kind == REFUND, 0, dispute)).astype(np.int64)


def adyen_fees(kind: np.ndarray, method: np.ndarray, gross_abs: np.ndarray, exponent: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(commission, markup, scheme fees, interchange): cards 0.10 + 0.05 + 1 %; iDEAL 0.25; refund 0.20."""
    unit = _P10[exponent - 2] if exponent >= 2 else 1
    settled = kind == PAYMENT
    card = settled & (method != IDEAL)
    commission = np.where(settled & (method == IDEAL), 25 * unit, np.where(kind == REFUND, 20 * unit, 0))
    markup = np.where(card, 10 * unit, 0)
    scheme = np.where(card, 5 * unit, 0)
    interchange = np.where(card, (gross_abs + 50) // 100, 0)
    return (commission.astype(np.int64), markup.astype(np.int64), scheme.astype(np.int64),
            interchange.astype(np.int64))


def adyen_net(kind: np.ndarray, gross_abs: np.ndarray, fee: np.ndarray) -> np.ndarray:
    """Signed net from the merchant's side: Settled gross - fee, Refunded -(gross + fee), Chargeback -gross."""
    return np.where(kind == PAYMENT, gross_abs - fee, -(gross_abs + fee)).astype(np.int64)


# ------------------------------------------------------------------------------------------- tables
def internal_table(ids: _Ids, day: dt.date, rows: np.ndarray, secs: np.ndarray, kind: np.ndarray,
                   amount: np.ndarray, currency: pa.Array, proc: np.ndarray, pref: pa.Array,
                   customer: np.ndarray, exponent: int) -> pa.Table:
    tid = ids.tid(rows)
    return pa.table({
        "transaction_id": tid,
        "created_at": _join(f"{day.isoformat()}T", _hms(secs), "+00:00"),
        "type": _pick(kind, INTERNAL_TYPES),
        "amount": money_text(amount, exponent),
        "currency": currency,
        "processor": _pick(proc, PROCESSORS),
        "processor_reference": pref,
        "customer_id": _join("cus_", _pad(customer, 6)),
        "description": _join(_pick(kind, ("Order", "Refund for order", "Dispute on order")), tid, sep=" "),
    })


def stripe_table(ids: _Ids, t: TenantSpec, day: dt.date, rows: np.ndarray, secs: np.ndarray,
                 kind: np.ndarray, gross: np.ndarray, fee: np.ndarray) -> pa.Table:
    """Balance lines of `day`; all belong to that day's payout po_<tenant>_<YYYYMMDD>."""
    n = len(rows)
    day_text = day.isoformat()
    payout = f"po_{t.name}_{ids.ymd}"
    return pa.table({
        "balance_transaction_id": ids.stripe_txn(rows),
        "created_utc": _join(day_text + " ", _hms(secs)),
        "available_on_utc": _const(day_text + " 00:00:00", n),
        "currency": _const(t.currency.lower(), n),
        "gross": money_text(gross, t.exponent),
        "fee": money_text(fee, t.exponent),
        "net": money_text(gross - fee, t.exponent),
        "reporting_category": _pick(kind, STRIPE_CATEGORIES),
        "source_id": ids.stripe_source(rows, kind),
        "automatic_payout_id": _const(payout, n),
        "automatic_payout_effective_at": _const(day_text + " 00:00:00", n),
        "description": _join(_pick(kind, ("Order", "Refund for order", "Chargeback withdrawal for order")),
                             ids.tid(rows), sep=" "),
        "exchange_rate": _const(None, n), "customer_facing_amount": _const(None, n),
        "customer_facing_currency": _const(None, n),
    })


def adyen_table(t: TenantSpec, day: dt.date, batch: int, psp: pa.Array, mref: pa.Array, mod: pa.Array,
                secs: np.ndarray, kind: np.ndarray, method: np.ndarray, gross_abs: np.ndarray,
                fees: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> pa.Table:
    n = len(secs)
    exp = t.exponent
    commission, markup, scheme, interchange = fees
    fee = commission + markup + scheme + interchange
    net = adyen_net(kind, gross_abs, fee)
    settled = kind == PAYMENT
    gross_text = money_text(gross_abs, exp)
    net_text = money_text(np.abs(net), exp)
    return pa.table({
        "Company Account": _const(f"{t.title}Corp", n),
        "Merchant Account": _const(t.merchant_account, n),
        "Psp Reference": psp,
        "Merchant Reference": mref,
        "Payment Method": _pick(method, METHODS),
        "Creation Date": _join(day.isoformat() + " ", _hms(secs)),
        "TimeZone": _const("UTC", n),
        "Type": _pick(kind, ADYEN_TYPES),
        "Modification Reference": mod,
        "Gross Currency": _const(t.currency, n),
        "Gross Debit (GC)": _nullable(~settled, gross_text),
        "Gross Credit (GC)": _nullable(settled, gross_text),
        "Exchange Rate": _const("1", n),
        "Net Currency": _const(t.currency, n),
        "Net Debit (NC)": _nullable(net < 0, net_text),
        "Net Credit (NC)": _nullable(net >= 0, net_text),
        "Commission (NC)": _nullable(commission != 0, money_text(commission, exp)),
        "Markup (NC)": _nullable(markup != 0, money_text(markup, exp)),
        "Scheme Fees (NC)": _nullable(scheme != 0, money_text(scheme, exp)),
        "Interchange (NC)": _nullable(interchange != 0, money_text(interchange, exp)),
        "Payment Method Variant": _pick(method, METHOD_VARIANTS),
        "Batch Number": _const(str(batch), n),
    })


def _stripe_payout_row(t: TenantSpec, day: dt.date, amount: int) -> pa.Table:
    ymd = day.strftime("%Y%m%d")
    payout = f"po_{t.name}_{ymd}"
    text = format_minor(-amount, t.exponent)
    values = {
        "balance_transaction_id": f"txn_{payout}", "created_utc": f"{day.isoformat()} 23:00:00",
        "available_on_utc": f"{day.isoformat()} 00:00:00", "currency": t.currency.lower(), "gross": text,
        "fee": format_minor(0, t.exponent), "net": text, "reporting_category": "payout", "source_id": payout,
        "automatic_payout_id": payout, "automatic_payout_effective_at": f"{day.isoformat()} 00:00:00",
        "description": "STRIPE PAYOUT", "exchange_rate": None, "customer_facing_amount": None,
        "customer_facing_currency": None,
    }
    return pa.table({c: pa.array([values[c]], pa.string()) for c in STRIPE_COLUMNS})


def _adyen_payout_row(t: TenantSpec, day: dt.date, batch: int, amount: int) -> pa.Table:
    values: dict[str, str | None] = {c: None for c in ADYEN_COLUMNS}
    values.update({
        "Company Account": f"{t.title}Corp", "Merchant Account": t.merchant_account,
        "Creation Date": f"{day.isoformat()} 23:50:00", "TimeZone": "UTC", "Type": "MerchantPayout",
        "Modification Reference": f"payout-{batch}", "Net Currency": t.currency, "Batch Number": str(batch),
    })
    values["Net Debit (NC)" if amount >= 0 else "Net Credit (NC)"] = format_minor(abs(amount), t.exponent)
    return pa.table({c: pa.array([values[c]], pa.string()) for c in ADYEN_COLUMNS})


# ------------------------------------------------------------------------------------------- bank
@dataclass
class BankLine:
    kind: str                    # fee | interest | payout | unknown_credit | unknown_debit
    amount: int                  # signed minor units
    text: str
    counterparty: str | None = None
    e2e: str | None = None
    cust_ref: str | None = None
    payouts: list[_Payout] = field(default_factory=list)
    continuation: str | None = None
    ref: str = ""                # acct_svcr_ref, set when the statement is written
    fee: int = 0                 # what the bank kept of the payouts (the credit is their sum less this)
    reference: bool = True       # carries the payout's reference (else only the processor's name)


@dataclass
class _Payout:
    processor: int
    day_index: int
    payout_id: str               # as the pipeline names it: po_<tenant>_<ymd> or <merchant account>:<batch>
    reported: int                # what the payout row says (and what the bank credits)
    lines_net: dict[int, int]    # day index -> net of its lines that arrived that day (duplicates included)
    plan: str = "normal"
    batch: int = 0

    @property
    def ref(self) -> str:
        return f"{PROCESSORS[self.processor]}:{self.payout_id}"


_CAMT_CODES = {
    "fee": ("ACMT", "MDOP", "CHRG"), "interest": ("ACMT", "MDOP", "INTR"), "payout": ("PMNT", "RCDT", "ACDT"),
    "unknown_credit": ("PMNT", "RCDT", "DMCT"), "unknown_debit": ("PMNT", "ICDT", "DMCT"),
}
_BAI2_CODES = {"fee": "698", "interest": "354", "payout": "165", "unknown_credit": "195", "unknown_debit": "495"}
_BANK_BIC = {"USD": "EXBKUS33", "EUR": "EXBKDEFF", "JPY": "EXBKJPJT"}


def camt_statement(t: TenantSpec, day: dt.date, opening: int, lines: list[BankLine]) -> str:
    exp, ccy = t.exponent, t.currency
    closing = opening + sum(b.amount for b in lines)
    created = f"{(day + dt.timedelta(days=1)).isoformat()}T06:00:00+00:00"
    ymd = day.strftime("%Y%m%d")

    def bal(code: str, amount: int) -> str:
        return (f"      <Bal>\n        <Tp>\n          <CdOrPrtry>\n            <Cd>{code}</Cd>\n"
                f"          </CdOrPrtry>\n        </Tp>\n"
                f"        <Amt Ccy=\"{ccy}\">{format_minor(abs(amount), exp)}</Amt>\n"
                f"        <CdtDbtInd>{'CRDT' if amount >= 0 else 'DBIT'}</CdtDbtInd>\n"
                f"        <Dt>\n          <Dt>{day.isoformat()}</Dt>\n        </Dt>\n      </Bal>\n")

    credits = [b.amount for b in lines if b.amount > 0]
    debits = [-b.amount for b in lines if b.amount < 0]
    net = sum(credits) - sum(debits)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n  <BkToCstmrStmt>\n    <GrpHdr>\n'
        f"      <MsgId>{t.code}BANK-MSG-{ymd}</MsgId>\n      <CreDtTm>{created}</CreDtTm>\n"
        "      <MsgPgntn>\n        <PgNb>1</PgNb>\n        <LastPgInd>true</LastPgInd>\n      </MsgPgntn>\n"
        "    </GrpHdr>\n    <Stmt>\n"
        f"      <Id>{t.code}-STMT-{ymd}</Id>\n      <ElctrncSeqNb>{(day - dt.date(2000, 1, 1)).days}</ElctrncSeqNb>\n"
        f"      <CreDtTm>{created}</CreDtTm>\n"
        f"      <FrToDt>\n        <FrDtTm>{day.isoformat()}T00:00:00+00:00</FrDtTm>\n"
        f"        <ToDtTm>{day.isoformat()}T23:59:59+00:00</ToDtTm>\n      </FrToDt>\n"
        f"      <Acct>\n        <Id>\n          <Othr>\n            <Id>{t.account_id}</Id>\n          </Othr>\n"
        f"        </Id>\n        <Ccy>{ccy}</Ccy>\n        <Ownr>\n          <Nm>{t.code} INC</Nm>\n        </Ownr>\n"
        f"        <Svcr>\n          <FinInstnId>\n            <BICFI>{_BANK_BIC.get(ccy, 'EXBKGB2L')}XXX</BICFI>\n"
        "            <Nm>EXAMPLE BANK</Nm>\n          </FinInstnId>\n        </Svcr>\n      </Acct>\n",
        bal("OPBD", opening), bal("CLBD", closing),
        "      <TxsSummry>\n        <TtlNtries>\n"
        f"          <NbOfNtries>{len(lines)}</NbOfNtries>\n"
        f"          <Sum>{format_minor(sum(credits) + sum(debits), exp)}</Sum>\n"
        f"          <TtlNetNtry>\n            <Amt>{format_minor(abs(net), exp)}</Amt>\n"
        f"            <CdtDbtInd>{'CRDT' if net >= 0 else 'DBIT'}</CdtDbtInd>\n          </TtlNetNtry>\n"
        "        </TtlNtries>\n"
        f"        <TtlCdtNtries>\n          <NbOfNtries>{len(credits)}</NbOfNtries>\n"
        f"          <Sum>{format_minor(sum(credits), exp)}</Sum>\n        </TtlCdtNtries>\n"
        f"        <TtlDbtNtries>\n          <NbOfNtries>{len(debits)}</NbOfNtries>\n"
        f"          <Sum>{format_minor(sum(debits), exp)}</Sum>\n        </TtlDbtNtries>\n      </TxsSummry>\n",
    ]
    for n, b in enumerate(lines, 1):
        domain, family, sub = _CAMT_CODES[b.kind]
        ind = "CRDT" if b.amount > 0 else "DBIT"
        amt = format_minor(abs(b.amount), exp)
        party = ""
        if b.counterparty:
            role = "Dbtr" if b.amount > 0 else "Cdtr"
            party = (f"            <RltdPties>\n              <{role}>\n                <Pty>\n"
                     f"                  <Nm>{b.counterparty}</Nm>\n                </Pty>\n"
                     f"              </{role}>\n            </RltdPties>\n")
        out.append(
            f"      <Ntry>\n        <NtryRef>{n}</NtryRef>\n        <Amt Ccy=\"{ccy}\">{amt}</Amt>\n"
            f"        <CdtDbtInd>{ind}</CdtDbtInd>\n        <RvslInd>false</RvslInd>\n"
            "        <Sts>\n          <Cd>BOOK</Cd>\n        </Sts>\n"
            f"        <BookgDt>\n          <Dt>{day.isoformat()}</Dt>\n        </BookgDt>\n"
            f"        <ValDt>\n          <Dt>{day.isoformat()}</Dt>\n        </ValDt>\n"
            f"        <AcctSvcrRef>{b.ref}</AcctSvcrRef>\n"
            f"        <BkTxCd>\n          <Domn>\n            <Cd>{domain}</Cd>\n            <Fmly>\n"
            f"              <Cd>{family}</Cd>\n              <SubFmlyCd>{sub}</SubFmlyCd>\n            </Fmly>\n"
            "          </Domn>\n        </BkTxCd>\n"
            "        <NtryDtls>\n          <TxDtls>\n            <Refs>\n"
            f"              <AcctSvcrRef>{b.ref}</AcctSvcrRef>\n"
            f"              <EndToEndId>{b.e2e or 'NOTPROVIDED'}</EndToEndId>\n            </Refs>\n"
            f"            <Amt Ccy=\"{ccy}\">{amt}</Amt>\n            <CdtDbtInd>{ind}</CdtDbtInd>\n"
            f"{party}"
            f"            <RmtInf>\n              <Ustrd>{b.text}</Ustrd>\n            </RmtInf>\n"
            "          </TxDtls>\n        </NtryDtls>\n      </Ntry>\n")
    out.append("    </Stmt>\n  </BkToCstmrStmt>\n</Document>\n")
    return "".join(out)


def bai2_file(t: TenantSpec, day: dt.date, opening: int, lines: list[BankLine]) -> str:
    closing = opening + sum(b.amount for b in lines)
    bic = _BANK_BIC.get(t.currency, "EXBKGB2L")
    yymmdd = day.strftime("%y%m%d")
    records = [f"03,{t.account_id},{t.currency},010,{opening},,,015,{closing},,/"]
    control = opening + closing
    for b in lines:
        records.append(f"16,{_BAI2_CODES[b.kind]},{abs(b.amount)},Z,{b.ref},{b.cust_ref or ''},{b.text}/")
        control += abs(b.amount)
        if b.continuation:
            records.append(f"88,{b.continuation}/")
    account_records = len(records) + 1
    return "\n".join([
        f"01,{bic},{t.code},{(day + dt.timedelta(days=1)).strftime('%y%m%d')},0600,{day.strftime('%Y%m%d')},,,2/",
        f"02,{t.code},{bic},1,{yymmdd},,{t.currency},2/",
        *records,
        f"49,{control},{account_records}/",
        f"98,{control},1,{account_records + 2}/",
        f"99,{control},1,{account_records + 4}/",
    ]) + "\n"


# ------------------------------------------------------------------------------------------- generation
@dataclass
class _TruthParts:
    """Ground-truth rows accumulated as Arrow columns (transaction-level breaks can be many)."""

    chunks: list[pa.Table] = field(default_factory=list)

    def add(self, tenant: str, break_type: str, source: str, refs: pa.Array | list[str],
            day_injected: np.ndarray | dt.date, first_seen: np.ndarray | dt.date) -> None:
        refs = refs if isinstance(refs, pa.Array) else pa.array(refs, pa.string())
        n = len(refs)
        if n == 0:
            return

        def days(v: np.ndarray | dt.date) -> pa.Array:
            if isinstance(v, dt.date):
                return _const(v.isoformat(), n)
            return pc.cast(pa.array(np.broadcast_to(np.asarray(v, dtype="datetime64[D]"), (n,))), pa.string())

        self.chunks.append(pa.table({
            "tenant": _const(tenant, n), "break_type": _const(break_type, n), "source": _const(source, n),
            "source_ref": refs, "day_injected": days(day_injected), "expected_first_seen": days(first_seen),
        }))

    def table(self) -> pa.Table:
        schema = pa.schema([(c, pa.string()) for c in GROUND_TRUTH_COLUMNS])
        if not self.chunks:
            return schema.empty_table()
        table = pa.concat_tables([c.cast(schema) for c in self.chunks])
        order = pc.sort_indices(table, sort_keys=[("tenant", "ascending"), ("day_injected", "ascending"),
                                                  ("break_type", "ascending"), ("source", "ascending"),
                                                  ("source_ref", "ascending")])
        return table.take(order)


class _Writer:
    """A CSV file written in Arrow batches (header once, LF, no quoting: no generated value needs it)."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = pa.schema([(c, pa.string()) for c in columns])
        self.writer = pacsv.CSVWriter(str(path), self.schema, write_options=_WRITE)
        self.path = path

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.writer.write_table(table.select(self.schema.names).cast(self.schema))

    def close(self) -> None:
        self.writer.close()


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, *keys])


@dataclass
class _Carry:
    """What a day leaves for the next: re-exported internal rows, re-delivered Stripe lines."""

    internal: list[pa.Table] = field(default_factory=list)
    stripe: list[pa.Table] = field(default_factory=list)
    stripe_net: int = 0                     # net of the re-delivered Stripe lines (previous day's payout)


class _TenantRun:
    """Generation state of one tenant across its days."""

    def __init__(self, t: TenantSpec, out: Path, start: dt.date, days: int, n: int, seed: int, rate: float,
                 truth: _TruthParts, tick: Callable[[int], None]) -> None:
        self.t, self.out, self.start, self.days, self.n, self.seed = t, out, start, days, n, seed
        self.rate = rate
        self.threshold = int(round(min(max(rate, 0.0), 1.0) * 1_000_000_000))
        self.truth = truth
        self.tick = tick
        self.windows = {p: dict(DEFAULT_WINDOWS[p]) for p in PROCESSORS}
        self.bank_unmatched_days = ReconConfig().bank_unmatched_days
        # the default rules' bank-fee tolerance in this currency (payout_bank_fee): the fee cases sit either side
        self.bank_fee_tolerance = next(
            (r["abs_minor"] for r in load_rules().tables()["tolerance_rules"].to_pylist()
             if r["rule_id"] == "payout_bank_fee" and r["currency"] == t.currency), 25 * _P10[t.exponent])
        self.outcomes: list[dict[str, str]] = []
        self.payouts: list[_Payout] = []
        self.credits: dict[int, list[BankLine]] = {}
        self.bank_lines: dict[int, list[BankLine]] = {}
        self.carry = _Carry()
        self.held_many: dict[int, _Payout] = {}
        self.split_targets: dict[str, tuple[str, int, int]] = {}   # tag -> (psp, amount, method)
        self.files: list[Path] = []

    # ------------------------------------------------------------------ one day
    def day(self, d: int) -> None:
        t = self.t
        day = self.start + dt.timedelta(days=d)
        ids = _Ids(t, day)
        folder = self.out / t.name / day.isoformat()
        has_next = d + 1 < self.days
        internal_w = _Writer(folder / "internal" / "transactions.csv", INTERNAL_COLUMNS)
        stripe_w = _Writer(folder / "processor" / f"stripe_balance_{day.isoformat()}.csv", STRIPE_COLUMNS)
        adyen_w = _Writer(folder / "processor" / f"adyen_settlement_{day.isoformat()}.csv", ADYEN_COLUMNS)
        batch = t.batch_base + d
        sums = {"stripe": 0, "adyen": 0, "adyen_dup": 0}
        carry = _Carry()
        forced = _FORCED_ROWS.get(d, [])

        for c, start in enumerate(range(0, self.n, CHUNK)):
            size = min(CHUNK, self.n - start)
            self._chunk(d, day, ids, c, start, size, forced if c == 0 else [], has_next, batch,
                        internal_w, stripe_w, adyen_w, sums, carry)
            self.tick(size)

        # Split refunds of an earlier payment (Adyen: refunds carry the payment's Psp Reference).
        tag = _SPLITS.get(d)
        if tag and tag in self.split_targets:
            self._split_refunds(d, day, ids, tag, batch, internal_w, adyen_w, sums)
        for k, case in enumerate(_FORCED_EXTRA.get(d, ())):
            self._extra_case(case, day, ids, self.n + 100 + 10 * k, internal_w, stripe_w, sums)

        # Yesterday's re-exported internal rows and re-delivered Stripe lines arrive today.
        for table in self.carry.internal:
            internal_w.write(table)
        for table in self.carry.stripe:
            stripe_w.write(table)
        if self.carry.stripe_net and self.payouts:
            prev = next(p for p in reversed(self.payouts) if p.processor == STRIPE and p.day_index == d - 1)
            prev.lines_net[d] = prev.lines_net.get(d, 0) + self.carry.stripe_net
        self.carry = carry

        # Payout rows and their plans.
        prng = _rng(self.seed, t.index, d, 0, 1)
        for proc in (STRIPE, ADYEN):
            true_net = sums["stripe"] if proc == STRIPE else sums["adyen"]
            plan = _FORCED_PAYOUTS.get((d, proc))
            if plan is None:
                plan = "normal"
                if self.held_many.get(proc) is None and prng.integers(0, 1_000_000_000) < self.threshold:
                    plan = ("sum_mismatch", "missing", "late_beyond")[int(prng.integers(0, 3))]
            reported = true_net
            if plan == "sum_mismatch":
                delta = int(prng.integers(1, 5000)) * (1 if prng.integers(0, 2) else -1)
                reported += delta if prng.integers(0, 3) else (1 if delta > 0 else -1)
            if proc == STRIPE:
                payout = _Payout(STRIPE, d, f"po_{t.name}_{ids.ymd}", reported, {d: true_net}, plan)
                stripe_w.write(_stripe_payout_row(t, day, reported))
            else:
                payout = _Payout(ADYEN, d, f"{t.merchant_account}:{batch}", reported,
                                 {d: true_net + sums["adyen_dup"]}, plan, batch)
                adyen_w.write(_adyen_payout_row(t, day, batch, reported))
            self.payouts.append(payout)
            self._schedule_credit(payout)
        for w in (internal_w, stripe_w, adyen_w):
            w.close()
            self.files.append(w.path)

    def _schedule_credit(self, p: _Payout) -> None:
        d = p.day_index
        if p.plan == "many_first":
            self.held_many[p.processor] = p
            return
        group = [p]
        held = self.held_many.pop(p.processor, None)
        if held is not None:
            group.insert(0, held)
        if p.plan == "missing":
            group = group[:-1]
        if not group:
            return
        when = {"late_inside": d + 2, "late_beyond": d + self.windows[PROCESSORS[p.processor]]["bank_days"] + 2
                }.get(p.plan, d + 1)
        amount = sum(x.reported for x in group)
        if amount <= 0:          # nothing to transfer: the processor keeps the negative balance
            return
        fee = {"fee_inside": self.bank_fee_tolerance * 3 // 5,
               "fee_outside": self.bank_fee_tolerance + _P10[self.t.exponent]}.get(p.plan, 0)
        if fee >= amount:
            fee = 0
        credit = self._payout_credit(group, amount - fee, reference=not p.plan.startswith("noref"))
        credit.fee = fee
        self.credits.setdefault(when, []).append(credit)
        if p.plan == "noref_twice":
            self.credits[when].append(self._payout_credit(group, amount, reference=False))

    def _payout_credit(self, group: list[_Payout], amount: int, reference: bool = True) -> BankLine:
        t = self.t
        first = group[0]
        if not reference:   # only the processor's name and the bank's own trace number
            trace = f"{zlib.crc32(f'{first.payout_id}:{amount}:{len(self.credits)}'.encode()) % 10**8:08d}"
            if first.processor == STRIPE:
                return BankLine("payout", amount, f"STRIPE TRANSFER ACH {trace}", "STRIPE", cust_ref=f"ACH{trace}",
                                payouts=group, reference=False)
            return BankLine("payout", amount, f"ADYEN N.V. SETTLEMENT {trace}", "ADYEN N.V.", cust_ref=f"T{trace}",
                            payouts=group, reference=False)
        if first.processor == STRIPE:
            ids = " ".join(x.payout_id for x in group)
            return BankLine("payout", amount, f"STRIPE PAYOUT {ids}", "STRIPE", e2e=first.payout_id,
                             cust_ref=first.payout_id, payouts=group, continuation="ORIGINATOR STRIPE PAYMENTS")
        batches = " ".join(f"BATCH {x.batch}" for x in group)
        return BankLine("payout", amount, f"ADYEN BV {batches} {t.merchant_account}", "ADYEN N.V.",
                         cust_ref=f"payout-{first.batch}", payouts=group,
                         continuation="ORIGINATOR ADYEN N.V. SETTLEMENT PAYOUT")

    # ------------------------------------------------------------------ one chunk of transactions
    def _chunk(self, d: int, day: dt.date, ids: _Ids, c: int, start: int, n: int,
               forced: list[tuple[int, int, int, object]], has_next: bool, batch: int,
               internal_w: _Writer, stripe_w: _Writer, adyen_w: _Writer, sums: dict[str, int],
               carry: _Carry) -> None:
        t = self.t
        exp = t.exponent
        rng = _rng(self.seed, t.index, d, c + 1, 0)
        rows = np.arange(start, start + n, dtype=np.int64)
        proc = (rng.integers(0, 100, n) >= 60).astype(np.int8)
        k = rng.integers(0, 1000, n)
        kind = np.where(k < 930, PAYMENT, np.where(k < 980, REFUND, CHARGEBACK)).astype(np.int8)
        amount = rng.integers(100, 50_000, n).astype(np.int64) * np.where(rng.integers(0, 20, n) == 0, 10, 1)
        secs = np.sort(rng.integers(0, 82_800, n))
        if t.currency == "EUR":
            m = rng.integers(0, 100, n)
            method = np.where(m < 45, VISA, np.where(m < 80, MC, IDEAL)).astype(np.int8)
        else:
            method = np.where(rng.integers(0, 100, n) < 55, VISA, MC).astype(np.int8)
        customer = rng.integers(0, 1_000_000, n)
        u = rng.integers(0, 1_000_000_000, n)
        mut = np.where(u < self.threshold, 1 + u % 5, M_NONE).astype(np.int8)
        dupvar = ((u // 5) % 2).astype(np.int8)
        sel = (u // 10) % 3
        delta = np.where(sel == 0, 1, np.where(sel == 1, -1, 1 + (u // 30) % 997)).astype(np.int64)

        is_forced = np.zeros(n, dtype=bool)
        tags: dict[str, int] = {}
        for pos, (f_proc, f_kind, f_mut, option) in enumerate(forced[:n]):
            is_forced[pos] = True
            proc[pos], kind[pos], mut[pos] = f_proc, f_kind, f_mut
            if f_mut == M_AMOUNT:
                delta[pos] = int(option)  # type: ignore[arg-type]
            elif f_mut == M_DUP:
                dupvar[pos] = int(option)  # type: ignore[arg-type]
            elif isinstance(option, str):
                tags[option] = pos
                if t.currency == "EUR":
                    method[pos] = VISA

        # Adyen refunds and chargebacks carry the Psp Reference of a payment of the day (each payment at most
        # once, never a forced one: those are split-refund targets); surplus ones become payments.
        adyen = proc == ADYEN
        pays = np.flatnonzero(adyen & (kind == PAYMENT) & ~is_forced)
        refs_rows = np.flatnonzero(adyen & (kind != PAYMENT))
        refs_rows = np.concatenate([refs_rows[is_forced[refs_rows]], refs_rows[~is_forced[refs_rows]]])
        linked = np.full(n, -1, dtype=np.int64)
        m = min(len(pays), len(refs_rows))
        linked[refs_rows[:m]] = pays[:m]
        orphan = refs_rows[m:]
        kind[orphan] = PAYMENT
        if m:
            amount[refs_rows[:m]] = np.minimum(amount[refs_rows[:m]], amount[pays[:m]])
        if len(orphan):
            pays = np.concatenate([pays, orphan])

        # A processor amount one unit (or more) off; never down to zero.
        delta = np.where(mut == M_AMOUNT, np.where(delta < 0, -np.minimum(-delta, amount - 1), delta), 0)

        # Resolve duplicates into how they can arrive; anything that cannot arrive is no break.
        dup = mut == M_DUP
        dup_internal = dup & (dupvar == DUP_INTERNAL) & has_next
        dup_adyen = dup & adyen & ~dup_internal
        dup_stripe = dup & ~adyen & (dupvar == DUP_PROCESSOR) & has_next
        # A payout of an issue-15 credit case keeps its lines as reported (a duplicate would make it a
        # payout_sum_mismatch, and the credit's case would not show).
        if _FORCED_PAYOUTS.get((d, ADYEN)) in _CREDIT_CASES:
            dup_adyen &= False
        if _FORCED_PAYOUTS.get((d, STRIPE)) in _CREDIT_CASES:
            dup_stripe &= False
        mut = np.where(dup & ~(dup_internal | dup_adyen | dup_stripe), M_NONE, mut).astype(np.int8)

        in_internal = mut != M_MISSING_INT
        in_processor = mut != M_MISSING_PROC
        gross_abs = amount + delta

        # -------- internal export
        psp_all = ids.psp(rows)
        pref_stripe = ids.stripe_source(rows, kind)
        psp_of_link = pc.take(psp_all, pa.array(np.where(linked >= 0, linked, np.arange(n))))
        pref = pc.if_else(pa.array(adyen), pc.if_else(pa.array(linked >= 0), psp_of_link, psp_all), pref_stripe)
        currency = pc.if_else(pa.array(mut == M_CURRENCY), t.alt_currency, t.currency)
        ii = np.flatnonzero(in_internal)
        internal = internal_table(ids, day, rows[ii], secs[ii], kind[ii], amount[ii], pc.take(currency, ii),
                                  proc[ii], pc.take(pref, ii), customer[ii], exp)
        internal_w.write(internal)
        di = np.flatnonzero(dup_internal[ii])
        if len(di):
            carry.internal.append(internal.take(di))

        # -------- Stripe balance lines
        si = np.flatnonzero(~adyen & in_processor)
        s_kind = kind[si]
        s_gross = np.where(s_kind == PAYMENT, gross_abs[si], -gross_abs[si])
        s_fee = stripe_fee(s_kind, gross_abs[si], exp)
        stripe = stripe_table(ids, t, day, rows[si], secs[si], s_kind, s_gross, s_fee)
        stripe_w.write(stripe)
        sums["stripe"] += int((s_gross - s_fee).sum())
        ds = np.flatnonzero(dup_stripe[si])
        if len(ds):
            carry.stripe.append(stripe.take(ds))
            carry.stripe_net += int((s_gross - s_fee)[ds].sum())

        # -------- Adyen settlement lines (a duplicated line appears twice, adjacent)
        ai = np.flatnonzero(adyen & in_processor)
        a_kind, a_method, a_gross = kind[ai], method[ai], gross_abs[ai]
        fees = adyen_fees(a_kind, a_method, a_gross, exp)
        a_net = adyen_net(a_kind, a_gross, sum(fees))
        sums["adyen"] += int(a_net.sum())
        reps = np.where(dup_adyen[ai], 2, 1)
        sums["adyen_dup"] += int((a_net * (reps - 1)).sum())
        take = np.repeat(np.arange(len(ai)), reps)
        at = ai[take]
        adyen_w.write(adyen_table(
            t, day, batch, pc.take(pref, at), ids.tid(rows[at]), ids.mod(rows[at]), secs[at], kind[at],
            method[at], gross_abs[at], tuple(f[take] for f in fees)))

        for tag, pos in tags.items():
            self.split_targets[tag] = (psp_all[pos].as_py(), int(amount[pos]), int(method[pos]))

        # -------- ground truth of the transaction-level breaks (refs built for the selected rows only)
        tn = t.name
        settle = np.where(proc == STRIPE, self.windows["stripe"]["settle_days"],
                          self.windows["adyen"]["settle_days"])
        grace = np.where(proc == STRIPE, self.windows["stripe"]["internal_days"],
                         self.windows["adyen"]["internal_days"])
        base = np.datetime64(day, "D")

        def tid_of(idx: np.ndarray) -> pa.Array:
            return ids.tid(rows[idx])

        def proc_ref_of(idx: np.ndarray) -> pa.Array:
            adyen_ref = _join(f"adyen:{t.merchant_account}:{batch}:", pc.take(pref, idx), ":",
                              _pick(kind[idx], ADYEN_TYPES), ":", ids.mod(rows[idx]))
            return pc.if_else(pa.array(adyen[idx]), adyen_ref, _join("stripe:", ids.stripe_txn(rows[idx])))

        def add(break_type: str, source: str, mask: np.ndarray, refs: Callable[[np.ndarray], pa.Array],
                injected_offset: int, first_offset: np.ndarray | int) -> None:
            idx = np.flatnonzero(mask)
            if len(idx):
                offsets = np.broadcast_to(np.asarray(first_offset), (n,))[idx]
                self.truth.add(tn, break_type, source, refs(idx), np.full(len(idx), base + injected_offset),
                               base + offsets)

        add("missing_in_processor", "internal", mut == M_MISSING_PROC, tid_of, 0, settle + 1)
        add("amount_mismatch", "internal", mut == M_AMOUNT, tid_of, 0, 0)
        add("currency_mismatch", "internal", mut == M_CURRENCY, tid_of, 0, 0)
        add("duplicate", "internal", dup_internal, tid_of, 1, 1)
        add("missing_in_internal", "processor", mut == M_MISSING_INT, proc_ref_of, 0, grace + 1)
        add("duplicate", "processor", dup_adyen, proc_ref_of, 0, 0)
        add("duplicate", "processor", dup_stripe, proc_ref_of, 1, 1)

    def _split_refunds(self, d: int, day: dt.date, ids: _Ids, tag: str, batch: int, internal_w: _Writer,
                       adyen_w: _Writer, sums: dict[str, int]) -> None:
        """Two partial refunds recorded twice each (split_a), or one refund the processor pays in two (split_b)."""
        psp, amount, method = self.split_targets[tag]
        first = amount // 3 or 1
        second = max(amount - first - (amount // 5), 1)
        parts = [first, second]
        internal_parts = parts if tag == "split_a" else [first + second]
        base = self.n + 10 * (1 + list(_SPLITS.values()).index(tag))
        i_rows = np.arange(base, base + len(internal_parts), dtype=np.int64)
        a_rows = np.arange(base, base + len(parts), dtype=np.int64)
        i_kind = np.full(len(i_rows), REFUND, dtype=np.int8)
        internal_w.write(internal_table(
            ids, day, i_rows, np.full(len(i_rows), 82_000), i_kind, np.array(internal_parts, np.int64),
            pa.array([self.t.currency] * len(i_rows)), np.full(len(i_rows), ADYEN, np.int8),
            pa.array([psp] * len(i_rows)), np.zeros(len(i_rows), np.int64), self.t.exponent))
        a_kind = np.full(len(a_rows), REFUND, dtype=np.int8)
        a_method = np.full(len(a_rows), method, dtype=np.int8)
        a_gross = np.array(parts, np.int64)
        fees = adyen_fees(a_kind, a_method, a_gross, self.t.exponent)
        mref = ids.tid(np.full(len(a_rows), i_rows[0])) if tag == "split_b" else ids.tid(a_rows)
        adyen_w.write(adyen_table(self.t, day, batch, pa.array([psp] * len(a_rows)), mref, ids.mod(a_rows),
                                  np.full(len(a_rows), 82_000), a_kind, a_method, a_gross, fees))
        sums["adyen"] += int(adyen_net(a_kind, a_gross, sum(fees)).sum())

    def _extra_case(self, case: str, day: dt.date, ids: _Ids, base: int, internal_w: _Writer, stripe_w: _Writer,
                    sums: dict[str, int]) -> None:
        """One of the issue-15 Stripe cases (_FORCED_EXTRA), as rows after the day's transactions."""
        t, exp = self.t, self.t.exponent
        unit = max(_P10[exp] // 100, 1)
        amount = (4321 + 1000 * (base % 7)) * unit
        r = np.arange(base, base + 2, dtype=np.int64)
        kind = np.full(2, PAYMENT, np.int8)
        pref = ids.stripe_source(r[:1], kind[:1])
        currency = t.alt_currency if case == "fx" else t.currency
        internal_rows = r if case == "dup_internal_ids" else r[:1]
        k = len(internal_rows)
        internal_w.write(internal_table(ids, day, internal_rows, np.full(k, 81_000), kind[:k],
                                        np.full(k, amount, np.int64), pa.array([currency] * k),
                                        np.full(k, STRIPE, np.int8), pa.array([pref[0].as_py()] * k),
                                        np.zeros(k, np.int64), exp))
        gross = (amount * FX_RATE[1] + FX_RATE[2] // 2) // FX_RATE[2] if case == "fx" else amount
        line_rows = r if case == "dup_processor_ids" else r[:1]
        n = len(line_rows)
        g = np.full(n, gross, np.int64)
        fee = stripe_fee(kind[:n], g, exp)
        lines = stripe_table(ids, t, day, line_rows, np.full(n, 81_000), kind[:n], g, fee)
        lines = lines.set_column(lines.schema.get_field_index("source_id"), "source_id",
                                 pa.array([pref[0].as_py()] * n))
        if case == "fx":
            for name, value in (("exchange_rate", FX_RATE[0]), ("customer_facing_amount", format_minor(amount, exp)),
                                ("customer_facing_currency", currency.lower())):
                lines = lines.set_column(lines.schema.get_field_index(name), name, pa.array([value]))
        stripe_w.write(lines)
        sums["stripe"] += int(gross - fee[0])   # a line delivered twice counts once in the payout
        tid = ids.tid(r).to_pylist()
        txn = ids.stripe_txn(r).to_pylist()
        if case == "dup_internal_ids":
            self.truth.add(t.name, "duplicate", "internal", [tid[1]], day, day)
        elif case == "dup_processor_ids":
            self.truth.add(t.name, "duplicate", "processor", [f"stripe:{txn[1]}"], day, day)
        else:
            for source, ref in (("internal", tid[0]), ("processor", f"stripe:{txn[0]}")):
                self.outcomes.append({"tenant": t.name, "source": source, "source_ref": ref, "status": "matched",
                                      "rule": "fx_rate", "day": day.isoformat()})

    # ------------------------------------------------------------------ bank statements
    def bank(self) -> None:
        t = self.t
        balance = t.opening_minor
        unit = _P10[t.exponent]
        for d in range(self.days):
            day = self.start + dt.timedelta(days=d)
            rng = _rng(self.seed, t.index, d, 0, 2)
            lines: list[BankLine] = []
            if d == 0 or rng.integers(0, 10) < 3:
                lines.append(BankLine("fee", -int(rng.integers(5, 50)) * unit, "ACCOUNT MAINTENANCE FEE"))
            if d == 0 or rng.integers(0, 10) < 3:
                month = (day.replace(day=1) - dt.timedelta(days=1)).strftime("%b %Y").upper()
                lines.append(BankLine("interest", int(rng.integers(1, 300)) * max(unit // 100, 1),
                                       f"INTEREST CREDIT {month}"))
            lines += self.credits.get(d, [])
            if d in _FORCED_UNKNOWN_CREDIT_DAYS or rng.integers(0, 1_000_000_000) < self.threshold:
                ref = int(rng.integers(10_000, 100_000))
                amount = int(rng.integers(1_000, 100_000)) * max(unit // 100, 1)
                if d in _FORCED_UNKNOWN_CREDIT_DAYS or rng.integers(0, 3):
                    lines.append(BankLine("unknown_credit", amount, f"INCOMING TRANSFER REF X{ref}", "JOHN SMITH",
                                           cust_ref=f"X{ref}"))
                else:
                    lines.append(BankLine("unknown_debit", -amount, f"OUTGOING TRANSFER REF Y{ref}",
                                           "NORTHWIND SUPPLIES LTD", cust_ref=f"Y{ref}"))
            for n, b in enumerate(lines, 1):
                b.ref = f"{t.code}-BANK-{day.strftime('%Y%m%d')}-{n:03d}"
            folder = self.out / t.name / day.isoformat() / "bank"
            folder.mkdir(parents=True, exist_ok=True)
            if t.bank_format(d) == "camt053":
                path = folder / f"camt053_{day.isoformat()}.xml"
                path.write_text(camt_statement(t, day, balance, lines), encoding="utf-8", newline="\n")
            else:
                path = folder / f"bai2_{day.isoformat()}.bai2"
                path.write_text(bai2_file(t, day, balance, lines), encoding="utf-8", newline="\n")
            self.files.append(path)
            balance += sum(b.amount for b in lines)
            self.bank_lines[d] = lines

    # ------------------------------------------------------------------ payout and bank ground truth
    def _credit_outcome(self, b: BankLine, payouts: list[_Payout], day: dt.date) -> None:
        """What the issue-15 credits must end as: a fee beyond the tolerance is the bank credit's amount_mismatch;
        within it, a match by payout_bank_fee; without reference, counterparty_amount (or suggested, when two
        credits fit one payout)."""
        t = self.t
        bank_ref = f"{t.account_id}:{b.ref}"
        if b.fee > self.bank_fee_tolerance:
            self.truth.add(t.name, "amount_mismatch", "bank", [bank_ref], day, day)
            return
        plan = payouts[0].plan
        if b.fee:
            status, rule = "matched", "payout_bank_fee"
        elif not b.reference:
            status, rule = ("suggested", "counterparty_amount") if plan == "noref_twice" \
                else ("matched", "counterparty_amount")
        else:
            return
        self.outcomes.append({"tenant": t.name, "source": "bank", "source_ref": bank_ref, "status": status,
                              "rule": rule, "day": day.isoformat()})
        for p in payouts:
            if not any(o["source_ref"] == p.ref for o in self.outcomes):
                self.outcomes.append({"tenant": t.name, "source": "payout", "source_ref": p.ref, "status": status,
                                      "rule": rule, "day": day.isoformat()})

    def payout_truth(self) -> None:
        t = self.t
        credited: set[int] = set()
        for d, lines in self.bank_lines.items():
            day = self.start + dt.timedelta(days=d)
            for b in lines:
                if b.kind in ("fee", "interest"):
                    continue
                in_window = [p for p in b.payouts if 0 <= d - p.day_index
                             <= self.windows[PROCESSORS[p.processor]]["bank_days"]] if b.amount > 0 else []
                if in_window and sum(p.reported for p in in_window) == b.amount + b.fee:
                    credited.update(id(p) for p in in_window)
                    self._credit_outcome(b, in_window, day)
                    continue
                # No payout in its window (or amounts that do not add up): an unexplained bank line.
                self.truth.add(t.name, "bank_unmatched", "bank", [f"{t.account_id}:{b.ref}"], day,
                               day + dt.timedelta(days=self.bank_unmatched_days + 1))
        for p in self.payouts:
            day = self.start + dt.timedelta(days=p.day_index)
            running, mismatch_day = 0, None
            for d in sorted(p.lines_net):
                running += p.lines_net[d]
                if running != p.reported:
                    mismatch_day = d
                    break
            if mismatch_day is not None:
                self.truth.add(t.name, "payout_sum_mismatch", "payout", [p.ref],
                               self.start + dt.timedelta(days=mismatch_day),
                               self.start + dt.timedelta(days=mismatch_day))
            elif id(p) not in credited:
                window = self.windows[PROCESSORS[p.processor]]["bank_days"]
                self.truth.add(t.name, "payout_not_in_bank", "payout", [p.ref], day,
                               day + dt.timedelta(days=window + 1))


def generate(out_dir: str | Path, start_date: dt.date | str, days: int, transactions: int,
             tenants: int | str | Sequence[str] = 2, seed: int = 0, break_rate: float = 0.01,
             progress: bool | None = None) -> GroundTruth:
    """Write a landing folder of `days` days from `start_date` for `tenants` and return its ground truth."""
    if isinstance(start_date, str):
        start_date = dt.date.fromisoformat(start_date)
    if days < 1 or transactions < 0:
        raise ValueError("days must be >= 1 and transactions >= 0")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    specs = tenant_specs(tenants)
    truth = _TruthParts()
    total = len(specs) * days * transactions
    show = progress if progress is not None else transactions >= PROGRESS_MIN_ROWS
    bar = None
    if show:
        from tqdm import tqdm
        bar = tqdm(total=total, unit="tx", unit_scale=True, desc="generate", dynamic_ncols=True)
    files: list[Path] = []
    outcomes: list[dict[str, str]] = []
    try:
        for t in specs:
            run = _TenantRun(t, out, start_date, days, transactions, seed, break_rate, truth,
                             bar.update if bar is not None else (lambda _n: None))
            for d in range(days):
                run.day(d)
            run.bank()
            run.payout_truth()
            files += run.files
            outcomes += run.outcomes
    finally:
        if bar is not None:
            bar.close()
    table = truth.table()
    path = out / "ground_truth.csv"
    pacsv.write_csv(table, str(path), write_options=_WRITE)
    outcome_table = pa.Table.from_pylist(outcomes, schema=pa.schema([(c, pa.string()) for c in OUTCOME_COLUMNS]))
    pacsv.write_csv(outcome_table, str(out / "expected_outcomes.csv"), write_options=_WRITE)
    return GroundTruth(path=path, table=table, first_day=start_date,
                       last_day=start_date + dt.timedelta(days=days - 1), files=files, outcomes=outcomes)
