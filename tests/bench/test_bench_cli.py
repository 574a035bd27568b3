"""`financeops bench` runs its parts end to end at a small size and prints consistent figures."""

from __future__ import annotations

import json
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
        "--transactions", "2000", "--posting-transactions", "1000", "--workdir", str(tmp_path),
        "--json", str(tmp_path / "day.json")])
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
    assert _int(posting[4]) == 2 * entries and entries > 2000   # internal entries plus processor fees
    # wall s, x floor, peak, MB, rows: the per-file imports overlap in time and are inside the one import line
    day_table = out[out.index("One day of 2,000 internal transactions"):].split("\n\n")[0].splitlines()[2:]
    per_file = [r for r in day_table if r.startswith("  import ")]
    assert len(per_file) == 4
    imported = _int(_row(out, "import (every file, 2 sources at a time)")[4])
    assert imported == sum(_int(r.split()[5]) for r in per_file)   # import, format, wall s, peak, MB, rows
    floor = float(_row(out, "floor: COPY the parsed records once (1 stream)")[0])
    assert floor > 0 and _int(_row(out, "floor: COPY the parsed records once (1 stream)")[3]) == imported
    stages = {name: _row(out, name) for name in ("import (every file, 2 sources at a time)", "posting",
                                                 "reconciliation (read + match + write)",
                                                 "reports (all 7, published)", "whole day end to end")}
    figures = json.loads((tmp_path / "day.json").read_text())
    for key, name in zip(("imports", "posting", "reconciliation", "reports"), stages, strict=False):
        # each stage's multiple of the floor is its own seconds over the floor's, printed and in the JSON
        figure = figures["stages"][key]
        # the JSON's seconds are rounded to 3 decimals: on a tiny day that rounding alone moves the ratio
        rounding = 0.0005 / max(figure["wall_s"], 0.0005) + 0.0005 / figures["floor_s"]
        assert abs(figure["x_floor"] - figure["wall_s"] / figures["floor_s"]) <= 0.006 + rounding * figure["x_floor"]
        assert abs(float(stages[name][1].rstrip("x")) - figure["x_floor"]) <= 0.0051
        assert abs(float(stages[name][0]) - figure["wall_s"]) <= 0.0056   # printed to 2 decimals, JSON to 3
    whole = float(stages.pop("whole day end to end")[0])
    assert abs(whole - sum(float(c[0]) for c in stages.values())) <= 0.01 * len(stages)
    recon_parts = [r for r in day_table if r.startswith("  recon: ")]
    assert abs(sum(float(re.split(r"\s{2,}", r.strip())[1]) for r in recon_parts)
               - float(stages["reconciliation (read + match + write)"][0])) <= 0.01 * len(recon_parts)
    assert "x the DuckDB match" in out
    assert figures["transactions"] == 2000 and set(figures["stages"]) == {"imports", "posting", "reconciliation",
                                                                          "reports"}
    assert abs(figures["whole_day_s"] - whole) <= 0.01 * 4 and figures["floor_s"] > 0
    assert figures["peak_rss_mb"] >= max(s["peak_rss_mb"] for s in figures["stages"].values())

    # posting alone: its own table, for 1,000 transactions
    assert "Import + posting of one day of 1,000 internal transactions" in out


def test_bench_imports_alone_prints_each_file_and_the_stage_against_its_floor(pipeline_env, tmp_path):
    result = CliRunner().invoke(main, ["bench", "--only", "imports", "--transactions", "2000",
                                       "--workdir", str(tmp_path / "not" / "made" / "yet")])   # made for it
    assert result.exit_code == 0, result.output
    out = result.output
    assert "The import stage of one day of 2,000 internal transactions" in out and "One day of" not in out
    per_file = [line for line in out.splitlines() if line.startswith("  import ")]
    assert len(per_file) == 4 and all("loaded" in line or "partial" in line for line in per_file)
    imports = _row(out, "import (every file, 2 sources at a time)")
    floor = _row(out, "floor: COPY the parsed records once (1 stream)")
    assert _int(imports[4]) == sum(_int(r.split()[5]) for r in per_file) == _int(floor[3])
    ratio = float(imports[1].rstrip("x"))   # the stage's seconds over the floor's (all printed to 2 decimals)
    assert abs(ratio * float(floor[0]) - float(imports[0])) <= 0.01 * (1 + ratio)
