"""The whole-column fast paths give exactly the records of the row-by-row paths, and step aside otherwise."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from financeops_pipeline.errors import FileRejected
from financeops_pipeline.imports import adyen, internal, stripe
from financeops_pipeline.imports.records import PROCESSOR_LINE_SCHEMA
from financeops_pipeline.synthetic.generate import generate
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


def test_a_bad_line_goes_down_the_row_path_alone_which_names_it():
    data = (SAMPLES / "acme" / "2026-11-02" / "internal" / "transactions.csv").read_bytes()
    bad = data.replace(b"40.00", b"40.001", 1)
    parsed, rows = internal.parse(bad, "t.csv"), internal.parse_csv_rows(bad, "t.csv")
    assert parsed.table is not None   # the other lines stayed whole columns
    assert [(e.position, e.field) for e in parsed.errors] == [("line 2", "amount")]
    assert parsed.errors == rows.errors and parsed.records() == rows.records()
    assert parsed.records()[0]["source_position"] == "line 3"


def _lines_with_faults(text: bytes, faults: list[tuple[int, bytes, bytes]]) -> bytes:
    lines = text.split(b"\n")
    for index, old, new in faults:
        i = 1 + index % (len(lines) - 2)
        lines[i] = lines[i].replace(old, new, 1)
    return b"\n".join(lines)


INTERNAL_FAULTS = [(b"payment", b"pay"), (b".", b"x"), (b"USD", b"USX"), (b"stripe", b"strip"),
                   (b"+00:00", b""), (b"acme-T", b" "), (b"ch_", b""), (b"2026-11-02T", b"2026-11-02x")]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.sampled_from(INTERNAL_FAULTS)), max_size=6),
       st.lists(st.integers(0, 50), max_size=3))
def test_mixed_internal_files_give_the_row_paths_records_and_errors(faults, repeated):
    data = (SAMPLES / "acme" / "2026-11-02" / "internal" / "transactions.csv").read_bytes()
    lines = data.rstrip(b"\n").split(b"\n")
    lines += [lines[1 + i % (len(lines) - 1)] for i in repeated]   # duplicate ids, some of them bad too
    bad = _lines_with_faults(b"\n".join(lines) + b"\n", [(i, *f) for i, f in faults])
    parsed, rows = internal.parse(bad, "t.csv"), internal.parse_csv_rows(bad, "t.csv")
    assert parsed.errors == rows.errors
    assert parsed.records() == rows.records()
    assert parsed.to_arrow().equals(rows.to_arrow())


STRIPE_FAULTS = [(b"charge", b""), (b".", b"x"), (b"usd", b"usx"), (b"2026-11-02 ", b"2026-11-02x"),
                 (b"txn_", b" ")]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.sampled_from(STRIPE_FAULTS)), min_size=1, max_size=5))
def test_mixed_stripe_files_give_the_row_paths_records_and_errors(faults):
    path = sorted(SAMPLES.glob("*/*/processor/stripe_*.csv"))[0]
    bad = _lines_with_faults(path.read_bytes(), [(i, *f) for i, f in faults])
    parsed, rows = stripe.parse(bad, "s.csv"), stripe.parse_rows(bad, "s.csv")
    assert parsed.errors == rows.errors
    assert _normalized(parsed.records()) == _normalized(rows.records())


# ------------------------------------------------------------------------------------------------- Adyen
ADYEN_HEADER = (
    "Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,Creation Date,"
    "TimeZone,Type,Modification Reference,Gross Currency,Gross Debit (GC),Gross Credit (GC),Exchange Rate,"
    "Net Currency,Net Debit (NC),Net Credit (NC),Commission (NC),Markup (NC),Scheme Fees (NC),"
    "Interchange (NC),Payment Method Variant,Batch Number"
)
ADYEN_SETTLED = "Co,ACC,111,M1,visa,2026-11-02 10:00:00,CET,Settled,m1,EUR,,100.00,1,EUR,,97.00,,1.00,0.50,1.50,vc,7"
PUBLIC_ADYEN = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples" / "adyen"


def _adyen_csv(*lines: str, header: str = ADYEN_HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def _assert_adyen_paths_agree(data: bytes, name: str, fast_expected: bool = True) -> None:
    """parse() and parse_rows() give the same Arrow table (schema, types, values, extra text) and errors."""
    both = adyen.parse(data, name)
    rows = adyen.parse_rows(data, name)
    assert (both.table is not None) == fast_expected, name
    assert both.errors == rows.errors
    fast, slow = both.to_arrow(), rows.to_arrow()
    assert fast.schema == slow.schema == PROCESSOR_LINE_SCHEMA
    assert fast.num_rows == slow.num_rows > 0
    # equals() compares every column's values and types; the records give a readable diff when not
    assert fast.to_pylist() == slow.to_pylist(), name
    assert fast.equals(slow), name


def test_adyen_sample_files_take_the_fast_path_with_identical_tables():
    files = sorted(SAMPLES.glob("*/*/processor/adyen_*.csv")) + sorted(PUBLIC_ADYEN.glob("*.csv"))
    assert len(files) >= 6
    for path in files:
        _assert_adyen_paths_agree(path.read_bytes(), path.name)


def test_adyen_generated_files_take_the_fast_path_with_identical_tables(tmp_path):
    # The generator plants duplicates (same Psp line twice), payout lines, refunds and chargebacks.
    generate(tmp_path, "2026-11-02", days=3, transactions=3000, tenants=2, seed=3, break_rate=0.05)
    files = sorted(tmp_path.glob("*/*/processor/adyen_*.csv"))
    assert len(files) == 6
    for path in files:
        _assert_adyen_paths_agree(path.read_bytes(), path.name)


def test_adyen_fast_path_covers_fx_zones_repeated_fee_lines_and_odd_extras():
    header = ADYEN_HEADER + ",Booking Date,Note"
    lines = [
        ADYEN_SETTLED + ",2026-11-03,plain",
        # CEST fixed +02:00, IANA zones both sides of a DST change, explicit rate 1.00 in another spelling
        "Co,ACC,222,M2,visa,2026-07-02 10:00:00,CEST,Refunded,m2,EUR,10.00,,1.00,EUR,10.20,,0.20,,,,vc,7,,",
        "Co,ACC,333,M3,visa,2026-07-02 10:00:00,Europe/Amsterdam,Chargeback,m3,EUR,5.00,,,EUR,5.00,,,,,,vc,7,,",
        "Co,ACC,334,M3,visa,2026-01-02 10:00:00.25,America/New_York,Settled,,EUR,,5.00,,EUR,,5.00,,,,,vc,7,,",
        # FX: another gross currency, and the same currency at a rate that is not 1
        "Co,ACC,444,M4,visa,2026-07-02 10:00:00,UTC,Settled,m4,USD,,110.00,0.9,EUR,,98.00,1.00,,,,vc,7,,",
        "Co,ACC,445,M5,visa,2026-07-02 10:00,utc,Settled,m5,eur,,110.00,0.5,EUR,,98.00,1.00,,,,vc,7,,",
        "Co,ACC,446,M6,visa,2026-07-02T10:00:00,GMT,Settled,m6,JPY,,1100,0.0061,EUR,,6.00,,,,,vc,7,,",
        # lines without a Psp Reference: a repeated key gets #2, #3 in file order
        "Co,ACC,,,,2026-11-02 10:00:00,CET,Fee,Fees,,,,,EUR,1.00,,,,,,,7,,",
        "Co,ACC,,,,2026-11-02 11:00:00,CET,Fee,Fees,,,,,EUR,2.00,,,,,,,7,,",
        "Co,ACC,,,,2026-11-02 12:00:00,CET,Fee,Fees,,,,,EUR,3.00,,,,,,,7,,\"say \"\"hi\"\", c:\\\\x\"",
        "Co,ACC,,,,2026-07-02 10:00:00,CET,DepositCorrection,,,,,,EUR,,3.00,,,,,,7,,ünïcode",
        # a Psp line reported twice keeps its key (a duplicate for reconciliation)
        "Co,ACC,555,M7,visa,2026-11-02 10:00:00,CET,Settled,m7,EUR,,10.00,,EUR,,10.00,,,,,vc,8,,",
        "Co,ACC,555,M7,visa,2026-11-02 10:00:00,CET,Settled,m7,EUR,,10.00,,EUR,,10.00,,,,,vc,8,,",
        # payout lines: the first per batch gives the batch's payout_date (local date: 00:30 CET is the 3rd)
        "Co,ACC,,,,2026-11-03 00:30:00,CET,MerchantPayout,payout-7,,,,,EUR,500.00,,,,,,,7,,",
        "Co,ACC,,,,2026-11-05 00:30:00,CET,MerchantPayout,payout-7,,,,,EUR,1.00,,,,,,,7,,",
        "Co,OTHER,,,,2026-11-04 23:30:00,Europe/Amsterdam,MerchantPayout,,,,,,EUR,,2.00,,,,,,8,,",
        "Co,ACC,666,M8,visa,2026-11-02 10:00:00,CET,SomethingNew,,KWD,,1.250,,KWD,,1.250,,,,,vc,9,,",
    ]
    data = _adyen_csv(*lines, header=header)
    _assert_adyen_paths_agree(data, "mix.csv")
    rows = adyen.parse(data, "mix.csv").records()
    # spot checks written out by hand, so the agreement above is not two copies of one mistake
    assert [r["line_id"] for r in rows[7:10]] == ["ACC:7:-:Fee:Fees", "ACC:7:-:Fee:Fees#2", "ACC:7:-:Fee:Fees#3"]
    assert rows[11]["line_id"] == rows[12]["line_id"] == "ACC:8:555:Settled:m7"
    assert {r["payout_id"]: r["payout_date"] for r in rows} == {
        "ACC:7": date(2026, 11, 3), "ACC:8": None, "OTHER:8": date(2026, 11, 4), "ACC:9": None}
    assert rows[3]["created_at"] == datetime(2026, 1, 2, 15, 0, 0, 250000, tzinfo=UTC)  # EST = -05:00
    assert (rows[4]["gross_currency"], rows[4]["gross_gc_minor"]) == ("USD", 11000)
    assert (rows[5]["gross_currency"], rows[5]["exchange_rate"]) == ("EUR", Decimal("0.5"))  # same currency, rate 0.5
    assert rows[6]["exchange_rate"] == Decimal("0.0061") and rows[1]["exchange_rate"] == 1
    assert (rows[5]["gross_minor"], rows[1]["gross_minor"]) == (9900, -1000)
    assert json.loads(rows[9]["extra"])["Note"] == 'say "hi", c:\\\\x'
    assert rows[16]["currency"] == "KWD" and rows[16]["net_minor"] == 1250


def test_adyen_ambiguous_local_time_is_left_to_the_row_path():
    # 02:30 on the night clocks go back happens twice in Amsterdam; Python takes the first (fold=0).
    line = ADYEN_SETTLED.replace("2026-11-02 10:00:00,CET", "2026-10-25 02:30:00,Europe/Amsterdam")
    _assert_adyen_paths_agree(_adyen_csv(ADYEN_SETTLED, line), "dst.csv", fast_expected=False)
    assert adyen.parse(_adyen_csv(line), "dst.csv").records()[0]["created_at"] == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        (ADYEN_SETTLED.replace(",100.00,", ",1OO.00,"), "Gross Credit (GC)", "unparseable amount"),
        (ADYEN_SETTLED.replace(",97.00,", ",97.001,"), "Net Credit (NC)", "more decimals"),
        (ADYEN_SETTLED.replace("EUR,,97", "EUX,,97"), "Net Currency", "unknown currency 'EUX'"),
        (ADYEN_SETTLED.replace(",EUR,,100", ",XXY,,100"), "Gross Currency", "unknown currency 'XXY'"),
        (ADYEN_SETTLED.replace("2026-11-02 10:00:00", "2026-11-31 10:00:00"), "Creation Date", "unparseable"),
        (ADYEN_SETTLED.replace("2026-11-02 10:00:00", "2026-11-02"), None, None),  # midnight: valid, row path
        (ADYEN_SETTLED.replace(",CET,", ",Mars/Olympus,"), "TimeZone", "unknown time zone"),
        (ADYEN_SETTLED.replace(",97.00,", ",96.00,"), "Net Credit (NC)", "!= net"),
        (ADYEN_SETTLED.replace(",,100.00,", ",100.00,,").replace(",,97.00,", ",97.00,,"), "Gross Debit (GC)",
         "wrong sign"),
        (ADYEN_SETTLED.replace(",1,EUR,", ",1e0x,EUR,"), "Exchange Rate", "unparseable exchange rate"),
        (ADYEN_SETTLED.replace(",Settled,", ",,"), "Type", "empty Type"),
    ],
)
def test_adyen_bad_line_gets_the_row_paths_exact_error(line, field, words):
    data = _adyen_csv(ADYEN_SETTLED.replace("111", "110"), line, ADYEN_SETTLED.replace("111", "112"))
    parsed = adyen.parse(data, "bad.csv")
    rows = adyen.parse_rows(data, "bad.csv")
    assert parsed.errors == rows.errors and parsed.records() == rows.records()
    assert parsed.to_arrow().equals(rows.to_arrow())
    if field is None:
        assert parsed.errors == [] and len(parsed.records()) == 3
        return
    (err,) = parsed.errors
    assert (err.file, err.position, err.field, err.raw) == ("bad.csv", "line 3", field, line)
    assert words in err.message
    assert [r["source_position"] for r in parsed.records()] == ["line 2", "line 4"]


def test_adyen_bad_lines_keep_the_fast_path_for_the_others():
    lines = [ADYEN_SETTLED.replace("111", f"1{i:02d}") for i in range(20)]
    lines[3] = lines[3].replace(",97.00,", ",97.001,")
    lines[7] = lines[7].replace("EUR,,97", "EUX,,97")
    lines[9] = lines[9].replace(",Settled,", ",,")
    lines.append("Co,ACC,,,,2026-11-03 00:30:00,CET,MerchantPayout,payout-7,,,,,EUR,500.00,,,,,,,7")
    lines.append("Co,ACC,,,,2026-11-03 00:30:00,CET,MerchantPayout,payout-7,,,,,EUR,5.0x,,,,,,,7")
    data = _adyen_csv(*lines)
    parsed, rows = adyen.parse(data, "m.csv"), adyen.parse_rows(data, "m.csv")
    assert parsed.table is not None
    assert [e.position for e in parsed.errors] == ["line 5", "line 9", "line 11", "line 23"]
    assert parsed.errors == rows.errors
    assert parsed.to_arrow().equals(rows.to_arrow())


def test_adyen_missing_required_column_is_the_same_rejection():
    data = _adyen_csv(ADYEN_SETTLED.replace(",7", ""), header=ADYEN_HEADER.replace(",Batch Number", ""))
    with pytest.raises(FileRejected) as fast:
        adyen.parse(data, "nobatch.csv")
    with pytest.raises(FileRejected) as rows:
        adyen.parse_rows(data, "nobatch.csv")
    assert fast.value.error == rows.value.error
    assert (fast.value.error.field, fast.value.error.position) == ("Batch Number", "line 1")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(amounts, amounts, st.sampled_from(["Settled", "Refunded", "Fee", "MerchantPayout", "X"]),
                          st.sampled_from(["EUR", "usd", "JPY", "BHD"]), st.sampled_from(["", "EUR", "USD"]),
                          st.sampled_from(["UTC", "CET", "CEST", "Europe/Berlin", "Asia/Tokyo"]),
                          st.sampled_from(["", "p1", "p2"]), st.text(max_size=6)),
                min_size=1, max_size=15))
def test_fast_and_row_paths_agree_on_generated_adyen_files(lines):
    text = [ADYEN_HEADER + ",Note"]
    for i, (gross, fee, typ, net_cur, gross_cur, zone, psp, note) in enumerate(lines):
        exponent = {"JPY": 0, "BHD": 3}.get(net_cur, 2)
        gross, fee = gross.quantize(1) if exponent == 0 else gross, fee.quantize(1) if exponent == 0 else fee
        sign = -1 if typ == "Refunded" else 1
        net = sign * gross - fee
        debit, credit = (f"{-net}", "") if net < 0 else ("", f"{net}")
        gross_cells = ("", "") if not gross_cur else ((f"{gross}", "") if sign < 0 else ("", f"{gross}"))
        note = note.replace(",", " ").replace('"', "'").replace("\n", " ").replace("\r", " ")
        text.append(f"Co,ACC,{psp},M{i},visa,2026-03-{29 + i % 2} 0{i % 10}:15:00,{zone},{typ},mod,{gross_cur},"
                    f"{gross_cells[0]},{gross_cells[1]},,{net_cur},{debit},{credit},{fee},,,,vc,{i % 3},{note}")
    data = ("\n".join(text) + "\n").encode()
    fast, rows = adyen.parse(data, "a.csv"), adyen.parse_rows(data, "a.csv")
    assert fast.errors == rows.errors
    assert fast.to_arrow().equals(rows.to_arrow())


@given(st.lists(st.tuples(st.sampled_from(["", "AcmeCorp", 'say "hi"', "c:\\x", "\x01tab\t", "é ü", " padded "]),
                          st.sampled_from(["", "mc", "visa", "ideal"])), min_size=1, max_size=40))
@settings(max_examples=60, deadline=None)
def test_json_of_few_combinations_is_the_row_writers_text(rows):
    """The per-combination JSON of low-cardinality extras is byte for byte the row path's writer's text."""
    import pyarrow as pa

    from financeops_pipeline.imports import columnar, csvutil

    table = pa.table({"A": [a for a, _ in rows], "B": [b for _, b in rows]})
    write = csvutil.json_extra_writer(["A", "B"], [0, 1])
    assert columnar.json_objects(table, ["A", "B"]).to_pylist() == [write(list(r)) for r in rows]
    write_b = csvutil.json_extra_writer(["B"], [0])
    assert columnar.json_objects(table, ["B"]).to_pylist() == [write_b([b]) for _, b in rows]


@given(st.lists(st.tuples(st.sampled_from(["", "0", "12.5", "-3.10", "+7", "1.234", "abc", " 4.00 ", "9" * 16, "1e3",
                                           "0.000", "5.", ".5"]),
                          st.sampled_from([0, 2, 3])), min_size=1, max_size=60))
@settings(max_examples=80, deadline=None)
def test_once_per_distinct_gives_the_whole_column_results(rows):
    """The checks computed once per distinct value give exactly what they give computed on every row."""
    import pyarrow as pa

    from financeops_pipeline.imports import columnar

    texts = pa.chunked_array([[t for t, _ in rows]])
    exponents = pa.chunked_array([pa.array([e for _, e in rows], pa.int64())])

    def same(a, b):
        if a is None or b is None:
            return a is b
        return all(x.to_pylist() == y.to_pylist() for x, y in zip(a, b, strict=True))

    for empty_is_zero in (False, True):
        assert same(columnar.to_minor_mask(texts, exponents, empty_is_zero),
                    columnar._to_minor_mask(texts, exponents, empty_is_zero))
    assert same(columnar.currency_mask(texts), columnar._currency_mask(texts))
    stamps = pa.chunked_array([[("2026-11-02 10:00:0" + t[-1:]) if t else "" for t, _ in rows]])
    assert same(columnar.timestamp_mask(stamps, True), columnar._timestamp_mask(stamps, True))


@given(st.lists(st.text(alphabet=st.sampled_from(["a", "1", " ", "\t", "\x1f", "\xa0", "\u2003", "é", "\n"]),
                        max_size=6), min_size=0, max_size=30))
@settings(max_examples=150, deadline=None)
def test_trimmed_strips_as_str_strip(values):
    """trimmed() (with its shortcut when no value can need stripping) gives str.strip() of every value."""
    import pyarrow as pa

    from financeops_pipeline.imports import columnar

    column = pa.chunked_array([values[:5], values[5:]], pa.string())
    assert columnar.trimmed(column).to_pylist() == [v.strip() for v in values]
    assert columnar.trimmed(column.slice(1)).to_pylist() == [v.strip() for v in values[1:]]
