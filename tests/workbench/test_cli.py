"""The workbench from the command line: users add, the same actions as the pages, and `financeops trace BREAK_ID`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from financeops_pipeline.cli import main
from tests.workbench.conftest import PASSWORD

DAY = "2026-11-04"


@pytest.fixture
def cli(bench, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", bench.url)
    monkeypatch.setenv("FINANCEOPS_HOME", str(bench.archive.parent))   # its archive/ is the copy's
    runner = CliRunner()

    def invoke(*args: str, user: str | None = None, password: str = PASSWORD, ok: bool = True):
        env = {"FINANCEOPS_PASSWORD": password} if user else {}
        result = runner.invoke(main, [*args, *(["--user", user] if user else [])], env=env, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    return invoke


def test_users_add_takes_the_password_from_the_environment_or_a_prompt_never_a_default(cli, bench):
    runner = CliRunner()
    refused = runner.invoke(main, ["users", "add", "newbie", "--tenant", "acme", "--role", "preparer"], input="\n\n")
    assert refused.exit_code != 0   # no password typed: nothing created
    short = runner.invoke(main, ["users", "add", "newbie", "--tenant", "acme", "--role", "preparer"],
                          env={"FINANCEOPS_USER_PASSWORD": "short"})
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    made = runner.invoke(main, ["users", "add", "newbie", "--tenant", "acme", "--role", "preparer"],
                         input=f"{PASSWORD}\n{PASSWORD}\n")
    assert made.exit_code == 0 and "user newbie: acme preparer" in made.output
    more = runner.invoke(main, ["users", "add", "newbie", "--tenant", "globex", "--role", "viewer"])
    assert "acme preparer, globex viewer" in more.output   # an existing user keeps their password
    assert "total 3 break(s) 217.00 USD" in cli("breaks", "work", "--date", DAY, "--tenant", "acme", user="newbie")


def test_the_cli_acts_through_the_same_domain_and_trace_shows_the_whole_history(cli):
    listed = cli("breaks", "--date", DAY, "--tenant", "acme")
    assert "amount_mismatch" in listed and listed.startswith("break_id,")
    work = cli("breaks", "work", "--date", DAY, "--tenant", "acme", user="acme_prep")
    brk = next(line.split()[0] for line in work.splitlines() if "amount_mismatch" in line)
    cli("breaks", "assign", brk, "--to", "acme_prep", "--date", DAY, "--tenant", "acme", user="acme_prep")
    cli("breaks", "comment", brk, "Stripe rounded up", "--date", DAY, "--tenant", "acme", user="acme_prep")
    proposed = cli("breaks", "adjust", brk, "--account", "write_offs", "--note", "0.01 over", "--date", DAY,
                   "--tenant", "acme", user="acme_prep")
    proposal = proposed.split()[1]
    assert "awaits an approver" in proposed
    assert "approver role" in cli("breaks", "approve", proposal, "--tenant", "acme", user="acme_prep", ok=False)
    assert "wrong password" in cli("breaks", "approve", proposal, "--tenant", "acme", user="acme_appr",
                                   password="not the password", ok=False)
    assert proposal in cli("breaks", "waiting", "--tenant", "acme", user="acme_appr")
    approved = cli("breaks", "approve", proposal, "--tenant", "acme", user="acme_appr")
    assert f"proposal {proposal} approved, entry workbench:proposal:{proposal} booked on {DAY}" in approved
    traced = cli("trace", brk, "--tenant", "acme")
    for text in (f"break {brk}", "2026-11-04 2 item(s): explained (written_off)",
                 f"proposal {proposal} adjust on 2026-11-04: approved",
                 "acme_prep      assigned", "acme_prep      commented", "acme_prep      proposed",
                 "acme_appr      approved", "recon_adjustment", "Dr processor_receivable:stripe", "Cr write_offs"):
        assert text in traced, text
    assert "nothing posted for 'no-such-ref'" in cli("trace", "no-such-ref", "--tenant", "acme", ok=False)
