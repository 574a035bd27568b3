"""The wider corpus of public bank fixtures (outside the repository): every valid file loads, every broken one is
refused or has its broken record quarantined, nothing crashes. Skips when the folder is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from financeops_pipeline.bench.bank_corpus import BROKEN, FRAGMENTS, print_report, run_corpus

CORPUS = Path(os.environ.get("FINANCEOPS_BANK_CORPUS", "/work/coord/wider-samples"))


@pytest.mark.slow
def test_the_wider_bank_corpus(capsys):
    if not any((CORPUS / folder).is_dir() for folder in ("camt", "bai2", "mt940")):
        pytest.skip(f"no bank corpus in {CORPUS}")
    report = run_corpus(CORPUS)
    print_report(report)
    assert report.crashes == []
    assert report.load_rate() >= 0.98, capsys.readouterr().out
    for outcome in report.of(BROKEN):
        # refused with file, record and field; or, when only a record is broken, that record quarantined
        assert outcome.kind in ("refused", "partial") and outcome.path.name in outcome.detail
    assert all(o.kind == "refused" for o in report.of(FRAGMENTS))
