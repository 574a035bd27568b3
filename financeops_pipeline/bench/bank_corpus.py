"""Run a folder of public bank-statement fixtures through the parsers and say how many load, are refused, and why.

    python -m financeops_pipeline.bench.bank_corpus [FOLDER]     (default: $FINANCEOPS_BANK_CORPUS)

FOLDER holds one sub-folder per kind: ``camt/``, ``bai2/``, ``mt940/`` (valid files: each should load),
``bank-broken/`` (deliberately broken in their source project: each should be refused, or load with the broken
record quarantined when only a record is broken) and ``bank-fragments/`` (unit-test fragments of single tags,
no statement at all: refused, reported apart). Each file goes through content detection and its parser exactly
as an import does (``detect.parse_file``), never through the database. A parser failing with anything but
``FileRejected``, or through its last-resort net ("unexpected parser failure"), is a crash.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from financeops_pipeline.errors import UNEXPECTED_FAILURE, FileRejected
from financeops_pipeline.imports import detect

VALID = ("camt", "bai2", "mt940")
BROKEN = "bank-broken"
FRAGMENTS = "bank-fragments"


@dataclass
class Outcome:
    path: Path
    kind: str                 # loaded | partial | refused | crashed
    format: str = ""
    detail: str = ""          # the refusal or the first quarantined record


@dataclass
class CorpusReport:
    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)

    def of(self, folder: str) -> list[Outcome]:
        return self.outcomes.get(folder, [])

    @property
    def valid(self) -> list[Outcome]:
        return [o for folder in VALID for o in self.of(folder)]

    @property
    def crashes(self) -> list[Outcome]:
        return [o for outcomes in self.outcomes.values() for o in outcomes if o.kind == "crashed"]

    def load_rate(self) -> float:
        valid = self.valid
        return sum(o.kind in ("loaded", "partial") for o in valid) / len(valid) if valid else 1.0


def run_file(path: Path) -> Outcome:
    data = path.read_bytes()
    try:
        parsed = detect.parse_file(data, path.name)
    except FileRejected as exc:
        kind = "crashed" if UNEXPECTED_FAILURE in exc.error.message else "refused"
        return Outcome(path, kind, detail=str(exc.error))
    except Exception as exc:  # noqa: BLE001 - what this script is there to find
        return Outcome(path, "crashed", detail=f"{type(exc).__name__}: {exc}")
    if parsed.errors:
        return Outcome(path, "partial", parsed.format, f"{len(parsed.errors)} quarantined, first: {parsed.errors[0]}")
    return Outcome(path, "loaded", parsed.format, f"{len(parsed.records())} lines, {len(parsed.statements)} statements")


def run_corpus(root: Path) -> CorpusReport:
    report = CorpusReport()
    for folder in (*VALID, BROKEN, FRAGMENTS):
        files = sorted(p for p in (root / folder).glob("*") if p.is_file()) if (root / folder).is_dir() else []
        report.outcomes[folder] = [run_file(p) for p in files]
    return report


def print_report(report: CorpusReport, out=sys.stdout) -> None:
    for folder, outcomes in report.outcomes.items():
        counts = Counter(o.kind for o in outcomes)
        print(f"{folder}: {len(outcomes)} files: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())), file=out)
        for o in outcomes:
            if o.kind != "loaded" or folder in (BROKEN, FRAGMENTS):
                print(f"  {o.kind:8} {o.path.name}: {o.detail[:220]}", file=out)
    valid = report.valid
    print(f"valid files: {len(valid)}, loaded {sum(o.kind in ('loaded', 'partial') for o in valid)} "
          f"({report.load_rate():.1%}); broken refused {sum(o.kind == 'refused' for o in report.of(BROKEN))}"
          f"/{len(report.of(BROKEN))}; crashes {len(report.crashes)}", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=os.environ.get("FINANCEOPS_BANK_CORPUS"))
    args = parser.parse_args(argv)
    if not args.folder or not Path(args.folder).is_dir():
        parser.error("give the corpus folder (or set FINANCEOPS_BANK_CORPUS)")
    report = run_corpus(Path(args.folder))
    print_report(report)
    return 1 if report.crashes else 0


if __name__ == "__main__":
    raise SystemExit(main())
