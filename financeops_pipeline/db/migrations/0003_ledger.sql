-- The double-entry ledger. Invariants live here, in the database, so they hold whatever the code does:
--  * every journal entry balances to zero per currency (checked per statement over the transition table);
--  * entries and postings are append-only; corrections are reversal entries linked to the original;
--  * an idempotency key is unique per tenant, so a re-run posts nothing twice;
--  * amounts are integer minor units with an ISO 4217-shaped currency.
CREATE TABLE ledger.accounts (
    tenant         text NOT NULL REFERENCES ops.tenants (tenant),
    account_code   text NOT NULL,
    name           text NOT NULL,
    account_type   text NOT NULL CHECK (account_type IN ('asset', 'liability', 'equity', 'revenue', 'expense')),
    normal_balance text NOT NULL CHECK (normal_balance IN ('debit', 'credit')),
    PRIMARY KEY (tenant, account_code)
);

CREATE SEQUENCE ledger.entry_id_seq;

CREATE TABLE ledger.journal_entries (
    entry_id           bigint PRIMARY KEY,
    tenant             text NOT NULL REFERENCES ops.tenants (tenant),
    idempotency_key    text NOT NULL,
    business_date      date NOT NULL,
    rule_id            text NOT NULL,
    rule_version       text NOT NULL,
    description        text,
    source_kind        text NOT NULL,     -- bank | processor | internal | payout | manual
    source_file_sha256 text,              -- audit trail back to the exact record
    source_position    text,
    source_ref         text,
    reverses_entry_id  bigint REFERENCES ledger.journal_entries (entry_id),
    run_id             text NOT NULL,
    code_version       text NOT NULL,
    posted_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (tenant, idempotency_key)
);
CREATE INDEX ON ledger.journal_entries (tenant, business_date);
CREATE INDEX ON ledger.journal_entries (tenant, source_file_sha256, source_position);
CREATE UNIQUE INDEX journal_entries_one_reversal ON ledger.journal_entries (reverses_entry_id)
    WHERE reverses_entry_id IS NOT NULL;

CREATE TABLE ledger.postings (
    entry_id      bigint NOT NULL,
    line_no       smallint NOT NULL CHECK (line_no > 0),
    tenant        text NOT NULL,
    business_date date NOT NULL,
    account_code  text NOT NULL,
    currency      char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount_minor  bigint NOT NULL CHECK (amount_minor <> 0),   -- debit > 0, credit < 0
    PRIMARY KEY (entry_id, line_no)
);
CREATE INDEX ON ledger.postings (tenant, account_code, business_date);

-- Balance of any account at any date is one indexed read: the latest row at or before that date.
CREATE TABLE ledger.daily_balances (
    tenant         text NOT NULL,
    account_code   text NOT NULL,
    currency       char(3) NOT NULL,
    business_date  date NOT NULL,
    debits_minor   bigint NOT NULL DEFAULT 0,   -- movement of that day
    credits_minor  bigint NOT NULL DEFAULT 0,
    balance_minor  bigint NOT NULL,             -- closing balance (debit-positive) at the end of that day
    PRIMARY KEY (tenant, account_code, currency, business_date)
);

CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON ledger.journal_entries
    FOR EACH ROW EXECUTE FUNCTION ops.refuse_change();
CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON ledger.journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_change();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON ledger.postings
    FOR EACH ROW EXECUTE FUNCTION ops.refuse_change();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON ledger.postings
    FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_change();

-- One set-based pass per INSERT statement: balance, ownership, completeness, then the snapshots.
CREATE FUNCTION ledger.check_and_snapshot_postings() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_bad record;
    v_day date;
BEGIN
    SELECT entry_id, currency, sum(amount_minor) AS total INTO v_bad
    FROM new_postings GROUP BY entry_id, currency HAVING sum(amount_minor) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % does not balance in %: postings sum to %',
            v_bad.entry_id, v_bad.currency, v_bad.total USING ERRCODE = 'check_violation';
    END IF;

    SELECT n.entry_id INTO v_bad
    FROM (SELECT DISTINCT entry_id, tenant, business_date FROM new_postings) n
    LEFT JOIN ledger.journal_entries e
           ON e.entry_id = n.entry_id AND e.tenant = n.tenant AND e.business_date = n.business_date
    WHERE e.entry_id IS NULL LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'postings of entry % have no journal entry with the same tenant and date', v_bad.entry_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;

    -- An entry is posted whole, in the transaction that created it: adding lines later is refused.
    -- (xmin check instead of re-counting postings keeps this O(new rows) for bulk posting.)
    SELECT n.entry_id INTO v_bad
    FROM (SELECT DISTINCT entry_id FROM new_postings) n
    JOIN ledger.journal_entries e ON e.entry_id = n.entry_id
    WHERE e.xmin <> pg_current_xact_id()::xid LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'entry % was posted by an earlier transaction: entries are immutable, post a new entry',
            v_bad.entry_id USING ERRCODE = 'restrict_violation';
    END IF;

    -- Maintain daily balance snapshots, one day at a time in date order (a backfill of an earlier day
    -- carries its movement into every later snapshot).
    FOR v_day IN SELECT DISTINCT business_date FROM new_postings ORDER BY 1 LOOP
        WITH movement AS (
            SELECT tenant, account_code, currency, sum(amount_minor) AS net
            FROM new_postings WHERE business_date = v_day GROUP BY 1, 2, 3
        )
        UPDATE ledger.daily_balances b SET balance_minor = b.balance_minor + m.net
        FROM movement m
        WHERE b.tenant = m.tenant AND b.account_code = m.account_code AND b.currency = m.currency
          AND b.business_date > v_day;

        INSERT INTO ledger.daily_balances AS b
            (tenant, account_code, currency, business_date, debits_minor, credits_minor, balance_minor)
        SELECT m.tenant, m.account_code, m.currency, v_day, m.debits, m.credits,
               coalesce((SELECT p.balance_minor FROM ledger.daily_balances p
                         WHERE p.tenant = m.tenant AND p.account_code = m.account_code
                           AND p.currency = m.currency AND p.business_date < v_day
                         ORDER BY p.business_date DESC LIMIT 1), 0) + m.debits - m.credits
        FROM (SELECT tenant, account_code, currency,
                     coalesce(sum(amount_minor) FILTER (WHERE amount_minor > 0), 0) AS debits,
                     coalesce(-sum(amount_minor) FILTER (WHERE amount_minor < 0), 0) AS credits
              FROM new_postings WHERE business_date = v_day GROUP BY 1, 2, 3) m
        ON CONFLICT (tenant, account_code, currency, business_date) DO UPDATE
            SET debits_minor = b.debits_minor + excluded.debits_minor,
                credits_minor = b.credits_minor + excluded.credits_minor,
                balance_minor = b.balance_minor + (excluded.debits_minor - excluded.credits_minor);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER postings_balanced AFTER INSERT ON ledger.postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.check_and_snapshot_postings();
