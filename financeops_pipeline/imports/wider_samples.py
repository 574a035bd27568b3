"""Run every file of a folder of public fixtures through detection and parsing, and say how many load, how many
are refused and why; none may crash. `python -m financeops_pipeline.imports.wider_samples DIR`.

DIR holds one folder per format (ofx/, adyen/, stripe/, paypal/, bankcsv/, ...) of valid real files and a
`broken/` folder of deliberately invalid ones: a valid file counts as loaded when it parses with at least one
record or statement (records it could not read are quarantined and counted), a broken one must be refused
(FileRejected) or have its bad records named. Bank CSVs are read with the shipped mappings and any
`DIR/bankcsv/*.yaml`. Exit status 1 when a file crashed the parser or a broken one loaded silently.
"""

from __future__ import annotations

import sys
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from financeops_pipeline.errors import FileRejected
from financeops_pipeline.imports import bankcsv, detect


@dataclass
class Outcome:
    path: Path
    broken: bool
    status: str          # loaded | partial | refused | crashed | empty
    detail: str


def run(folder: Path) -> list[Outcome]:
    mappings = bankcsv.mappings_in(folder / "bankcsv") + bankcsv.shipped_mappings()
    outcomes = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix not in (".md", ".yaml", ".yml")):
        broken = path.parent.name == "broken"
        try:
            parsed = detect.parse_file(path.read_bytes(), path.name, mappings)
        except FileRejected as exc:
            outcomes.append(Outcome(path, broken, "refused", str(exc.error)))
            continue
        except Exception:  # noqa: BLE001 - exactly what this script is here to find
            outcomes.append(Outcome(path, broken, "crashed", traceback.format_exc(limit=3)))
            continue
        count = len(parsed.records())
        if parsed.errors:
            status, detail = "partial", f"{parsed.format}: {count} records, {len(parsed.errors)} quarantined; " \
                                        f"first: {parsed.errors[0]}"
        elif count or parsed.statements:
            status, detail = "loaded", f"{parsed.format}: {count} records, {len(parsed.statements)} statements"
        else:
            status, detail = "empty", f"{parsed.format}: header only, nothing to load"
        outcomes.append(Outcome(path, broken, status, detail))
    return outcomes


def report(outcomes: list[Outcome]) -> tuple[list[str], bool]:
    lines = [f"{o.status:8} {'broken ' if o.broken else ''}{o.path.parent.name}/{o.path.name}: {o.detail}"
             for o in outcomes]
    valid = [o for o in outcomes if not o.broken]
    broken = [o for o in outcomes if o.broken]
    loaded = sum(o.status in ("loaded", "partial", "empty") for o in valid)
    caught = sum(o.status in ("refused", "partial") for o in broken)
    crashed = sum(o.status == "crashed" for o in outcomes)
    by_format = Counter(o.path.parent.name for o in valid)
    formats = ", ".join(f"{k} {v}" for k, v in sorted(by_format.items()))
    lines.append(f"valid files: {loaded} of {len(valid)} load ({formats}); refused: "
                 f"{sum(o.status == 'refused' for o in valid)}")
    lines.append(f"broken files: {caught} of {len(broken)} refused or their bad records named; crashes: {crashed}")
    return lines, crashed == 0 and caught == len(broken)


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "/work/coord/wider-samples")
    lines, ok = report(run(folder))
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
