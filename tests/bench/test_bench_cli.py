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

    # the day: two postings per entry (every rule has two legs)
    day_table = out[out.index("One day of 2,000 internal transactions"):].split("\n\n")[0].splitlines()[2:]
    posting = _row("\n".join(day_table), "  posting")
    entries = _int(re.search(r"([\d,]+) entries", " ".join(posting)).group(1))
    assert _int(posting[3]) == 2 * entries and entries > 2000   # internal entries plus processor fees
    # The stages of the day (generation excluded) add up to the whole day, to the printed rounding. Indented lines
    # overlap in time and are inside the line below them: the per-file imports in the import, posting and the
    # reconciliation in "at once". After the day, the reconciliation runs once more on its own.
    whole_at = day_table.index(next(r for r in day_table if r.startswith("whole day end to end")))
    day_stages = [r for r in day_table[1:whole_at] if not r.startswith(" ")]
    assert [re.split(r"\s{2,}", r)[0] for r in day_stages] == [
        "import (every file, 2 sources at a time)", "posting and reconciliation at once", "reports (all 7, published)"]
    per_file = [r for r in day_table if r.startswith("  import ")]
    imported = _int(_row(out, "import (every file, 2 sources at a time)")[3])   # wall s, peak, MB, rows
    assert len(per_file) == 4 and imported == sum(_int(r.split()[5]) for r in per_file)   # import, format, wall...
    whole = float(_row(out, "whole day end to end")[0])
    total = sum(float(re.split(r"\s{2,}", r.strip())[1]) for r in day_stages)
    assert abs(whole - total) <= 0.01 * len(day_stages)
    alone = day_table[whole_at + 1:]
    assert [re.split(r"\s{2,}", r)[0] for r in alone][:4] == [
        "recon: Postgres -> Arrow (ADBC)", "recon: three-way match (DuckDB)", "recon: results -> Postgres (COPY)",
        "reconciliation stage (load+match+write)"]
    parts = sum(float(re.split(r"\s{2,}", r)[1]) for r in alone[:3])
    assert abs(float(re.split(r"\s{2,}", alone[3])[1]) - parts) <= 0.03
    assert "x the DuckDB match" in out

    # posting alone: its own table, for 1,000 transactions
    assert "Import + posting of one day of 1,000 internal transactions" in out
