"""`financeops bench` runs its parts end to end at a small size and prints consistent figures."""

from __future__ import annotations

import re

from click.testing import CliRunner

from financeops_pipeline.cli import main


def _row(output: str, stage: str) -> list[str]:
    """The columns after a stage's name in a printed bench table (wall s, peak MB, rows, rows/s, note...)."""
    line = next(line for line in output.splitlines() if line.startswith(stage))
    return line[len(stage):].split()


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def test_bench_prints_formats_day_and_posting_figures(pipeline_env, tmp_path):
    result = CliRunner().invoke(main, [
        "bench", "--only", "formats", "--only", "day", "--only", "posting", "--format-records", "300",
        "--transactions", "2000", "--posting-transactions", "1000", "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.output

    # every format is parsed and loaded, whole (the bank statements have exactly the records asked for)
    for fmt in ("camt053", "bai2", "mt940"):
        columns = _row(out, fmt)
        assert _int(columns[4]) == 300 and "loaded, 0 quarantined" in " ".join(columns)
    assert _int(_row(out, "internal_csv")[4]) > 0

    # the day: two postings per entry (every rule has two legs), and the stages add up to the whole day
    posting = _row(out, "posting")
    entries = _int(re.search(r"([\d,]+) entries", " ".join(posting)).group(1))
    assert _int(posting[3]) == 2 * entries and entries > 2000   # internal entries plus processor fees
    # the stages of the day (generation excluded) add up to the whole day, to the printed rounding; the indented
    # per-file imports overlap in time and are inside the one import line
    day_table = out[out.index("One day of 2,000 internal transactions"):].split("\n\n")[0].splitlines()[2:]
    day_stages = day_table[1:day_table.index(next(r for r in day_table if r.startswith("reconciliation stage")))]
    per_file = [r for r in day_stages if r.startswith("  import ")]
    day_stages = [r for r in day_stages if not r.startswith(" ")]
    assert len(per_file) == 4 and [r.split()[0] for r in day_stages[:2]] == ["import", "posting"]
    imported = _int(_row(out, "import (every file, 2 sources at a time)")[3])   # wall s, peak, MB, rows
    assert imported == sum(_int(r.split()[5]) for r in per_file)   # import, format, wall s, peak, MB, rows
    whole = float(_row(out, "whole day end to end")[0])
    total = sum(float(re.split(r"\s{2,}", r.strip())[1]) for r in day_stages)
    assert abs(whole - total) <= 0.01 * len(day_stages)
    assert "x the DuckDB match" in out

    # posting alone: its own table, for 1,000 transactions
    assert "Import + posting of one day of 1,000 internal transactions" in out
