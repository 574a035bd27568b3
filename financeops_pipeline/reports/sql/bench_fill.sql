-- Synthetic ledger and reconciliation rows for the report-query benchmark (financeops_pipeline/bench/reports.py).
-- Run as the database owner in an empty, migrated database. Entries and postings go into the entries + postings
-- tables of before migration 0060 (*_legacy, read through the ledger views; their balance trigger checks every
-- entry and maintains ledger.daily_balances); one chunk = a range of days of one tenant, in date order, entries and postings in one transaction (the trigger requires it).
-- Parameters: %(tenant)s, or %(tenants)s for entries and postings (every tenant in the same statement: the
-- trigger's fixed cost per statement is paid once), %(start)s (first day of the chunk), %(per_day)s (entries
-- per tenant-day), %(n)s (entries per tenant in the chunk), %(first_id)s (entry_id of the chunk's first entry).
--
-- Entry g of the chunk: day = start + g / per_day; kind by g % 10 (6 payments, 1 refund, 1 processor fee,
-- 1 payout to cash in transit, 1 payout credited at the bank), rarer kinds by g % 100 (bank fee, interest,
-- chargeback, unidentified bank credit); processor stripe/adyen and currency USD/EUR/GBP vary with g.

-- name: accounts
INSERT INTO ledger.accounts (tenant, account_code, name, account_type, normal_balance)
SELECT %(tenant)s, code, code, type, CASE WHEN type IN ('asset', 'expense') THEN 'debit' ELSE 'credit' END
FROM (VALUES ('cash:bank_usd', 'asset'), ('cash:bank_eur', 'asset'), ('cash:bank_gbp', 'asset'),
             ('processor_receivable:stripe', 'asset'), ('processor_receivable:adyen', 'asset'),
             ('cash_in_transit:stripe', 'asset'), ('cash_in_transit:adyen', 'asset'),
             ('suspense', 'liability'), ('revenue', 'revenue'), ('interest_income', 'revenue'),
             ('refunds', 'expense'), ('chargebacks', 'expense'), ('processor_fees:stripe', 'expense'),
             ('processor_fees:adyen', 'expense'), ('bank_fees', 'expense'), ('opening_equity', 'equity')
     ) AS a (code, type)
ON CONFLICT DO NOTHING;

-- name: entries
INSERT INTO ledger.journal_entries_legacy (entry_id, tenant, idempotency_key, business_date, rule_id, rule_version,
                                    source_kind, source_ref, run_id, code_version)
SELECT %(first_id)s::bigint + (t.i - 1) * %(n)s::bigint + g, t.tenant,
       'bench:' || (%(first_id)s::bigint + (t.i - 1) * %(n)s::bigint + g),
       %(start)s::date + (g / %(per_day)s)::int,
       'bench_' || (g %% 10), 'bench', CASE WHEN g %% 10 >= 9 THEN 'bank' ELSE 'internal' END, 'ref' || g,
       'bench', 'bench'
FROM unnest(%(tenants)s::text[]) WITH ORDINALITY AS t (tenant, i)
CROSS JOIN generate_series(0::bigint, %(n)s::bigint - 1) AS g;

-- name: postings
INSERT INTO ledger.postings_legacy (entry_id, line_no, tenant, business_date, account_code, currency, amount_minor)
SELECT %(first_id)s::bigint + (t.i - 1) * %(n)s::bigint + x.g, l.line_no, t.tenant,
       %(start)s::date + (x.g / %(per_day)s)::int,
       CASE l.line_no WHEN 1 THEN x.debit ELSE x.credit END, x.currency,
       CASE l.line_no WHEN 1 THEN x.amount ELSE -x.amount END
FROM unnest(%(tenants)s::text[]) WITH ORDINALITY AS t (tenant, i)
CROSS JOIN (
    SELECT g, c.currency,
           CASE WHEN g %% 100 = 99 THEN 'bank_fees' WHEN g %% 100 IN (98, 96) THEN c.cash
                WHEN g %% 100 = 97 THEN 'chargebacks'
                ELSE (ARRAY['processor_receivable:', 'processor_receivable:', 'processor_receivable:',
                            'processor_receivable:', 'processor_receivable:', 'processor_receivable:',
                            'refunds', 'processor_fees:', 'cash_in_transit:', 'cash:'])[1 + g %% 10]
                     || CASE g %% 10 WHEN 6 THEN '' WHEN 9 THEN 'bank_' || lower(c.currency) ELSE c.proc END
           END AS debit,
           CASE WHEN g %% 100 = 99 THEN c.cash WHEN g %% 100 = 98 THEN 'interest_income'
                WHEN g %% 100 = 97 THEN 'processor_receivable:' || c.proc WHEN g %% 100 = 96 THEN 'suspense'
                WHEN g %% 10 < 6 THEN 'revenue'
                WHEN g %% 10 = 9 THEN 'cash_in_transit:' || c.proc
                ELSE 'processor_receivable:' || c.proc
           END AS credit,
           (100 + (g * 7919) %% 50000) * CASE g %% 10 WHEN 8 THEN 3 WHEN 9 THEN 3 ELSE 1 END
               / CASE g %% 10 WHEN 7 THEN 40 WHEN 6 THEN 4 ELSE 1 END AS amount
    FROM generate_series(0::bigint, %(n)s::bigint - 1) AS g
    CROSS JOIN LATERAL (
        SELECT (ARRAY['USD', 'EUR', 'GBP'])[1 + (g / 20) %% 3] AS currency,
               CASE (g / 10) %% 2 WHEN 0 THEN 'stripe' ELSE 'adyen' END AS proc,
               'cash:bank_' || lower((ARRAY['USD', 'EUR', 'GBP'])[1 + (g / 20) %% 3]) AS cash
    ) c
) x
CROSS JOIN (VALUES (1::smallint), (2::smallint)) AS l (line_no);

-- name: bank_statements
-- One statement per bank account and day, each continuing the previous one.
INSERT INTO imports.bank_statements (tenant, business_date, file_sha256, source_position, statement_id, account_id,
                                     currency, opening_date, opening_balance_minor, closing_date,
                                     closing_balance_minor, entry_count, entries_total_minor)
SELECT %(tenant)s, d::date, md5(%(tenant)s || d::text) || md5(d::text || %(tenant)s), 'Stmt[' || c.n || ']',
       'S' || c.n || to_char(d, 'YYYYMMDD'), 'bank_' || lower(c.currency), c.currency,
       d::date, 100000000 + 1000 * (d::date - %(start)s::date), d::date,
       100000000 + 1000 * (d::date - %(start)s::date + 1), 40, 1000
FROM generate_series(%(start)s::date, %(end)s::date, interval '1 day') AS d
CROSS JOIN (VALUES (1, 'USD'), (2, 'EUR'), (3, 'GBP')) AS c (n, currency);

-- name: breaks
-- %(per_day)s open breaks a day aged 0..89 days (every bucket), and a few resolved ones.
INSERT INTO recon.breaks (tenant, business_date, break_id, break_type, source, source_ref, currency, amount_minor,
                          first_seen, age_days, lifecycle)
SELECT %(tenant)s, d::date, md5(d::text || i), (ARRAY['missing_in_processor', 'missing_in_internal',
       'amount_mismatch', 'duplicate', 'payout_sum_mismatch', 'bank_unmatched'])[1 + i %% 6],
       (ARRAY['internal', 'processor', 'internal', 'processor', 'payout', 'bank'])[1 + i %% 6], 'ref' || i,
       (ARRAY['USD', 'EUR', 'GBP'])[1 + i %% 3], 100 + i * 37, d::date - i %% 90, i %% 90,
       CASE WHEN i %% 50 = 49 THEN 'resolved' WHEN i %% 90 = 0 THEN 'new' ELSE 'persisting' END
FROM generate_series(%(start)s::date, %(end)s::date, interval '1 day') AS d
CROSS JOIN generate_series(0, %(per_day)s - 1) AS i;

-- name: item_status
-- The reconciliation's state of %(per_day)s items of one day: mostly matched, some pending, breaks, explained.
INSERT INTO recon.item_status (tenant, business_date, source, source_ref, currency, amount_minor, item_date,
                               status, break_type, rule, match_group, matched_on)
SELECT %(tenant)s, %(start)s::date,
       (ARRAY['internal', 'processor', 'internal', 'processor', 'payout', 'bank'])[1 + i %% 6], 'ref' || i,
       (ARRAY['USD', 'EUR', 'GBP'])[1 + (i / 6) %% 3], 100 + (i * 7919) %% 50000, %(start)s::date - i %% 3,
       CASE WHEN i %% 100 < 90 THEN 'matched' WHEN i %% 100 < 95 THEN 'pending' WHEN i %% 100 < 98 THEN 'break'
            ELSE 'explained' END,
       CASE WHEN i %% 100 BETWEEN 95 AND 97 THEN 'amount_mismatch' END, 'bench',
       CASE WHEN i %% 100 < 90 THEN 'bench:' || i / 2 END, CASE WHEN i %% 100 < 90 THEN %(start)s::date END
FROM generate_series(0, %(per_day)s - 1) AS i;

-- name: processor_lines
-- %(per_day)s settlement lines of one day (charges, refunds, disputes, standalone fees), gross - fee = net.
-- The lines name their file by file_id (migration 0026), so the day's settlement file is registered first; with
-- no file partition attached they land in the table's default partition.
WITH settlement_file AS (
    INSERT INTO imports.files (tenant, sha256, business_date, source, format, original_name, archive_path,
                               size_bytes, status, records_loaded, records_quarantined, run_id, code_version)
    VALUES (%(tenant)s, md5(%(tenant)s || %(start)s::text) || md5(%(start)s::text), %(start)s::date, 'processor',
            'stripe', 'bench_settlement.csv', 'bench', 0, 'loaded', %(per_day)s, 0, 'bench', 'bench')
    RETURNING file_id
)
INSERT INTO imports.processor_lines (tenant, business_date, file_id, record_no, source_position, processor, line_id,
                                     category, created_at, currency, gross_minor, fee_minor, net_minor)
SELECT %(tenant)s, %(start)s::date, f.file_id, i + 1, 'line ' || i,
       CASE (i / 10) %% 2 WHEN 0 THEN 'stripe' ELSE 'adyen' END, 'txn_' || i, k.category,
       %(start)s::date + time '12:00', (ARRAY['USD', 'EUR', 'GBP'])[1 + (i / 20) %% 3],
       k.gross, k.fee, k.gross - k.fee
FROM settlement_file f CROSS JOIN generate_series(0, %(per_day)s - 1) AS i
CROSS JOIN LATERAL (
    SELECT CASE WHEN i %% 10 < 8 THEN 'charge' WHEN i %% 10 = 8 THEN 'refund'
                WHEN i %% 100 = 99 THEN 'dispute' ELSE 'fee' END AS category,
           CASE WHEN i %% 10 < 8 THEN 100 + (i * 7919) %% 50000 WHEN i %% 10 = 8 THEN -(100 + i %% 5000)
                WHEN i %% 100 = 99 THEN -(100 + i %% 5000) ELSE 0 END AS gross,
           CASE WHEN i %% 10 < 8 THEN 30 + (i * 7919) %% 50000 / 40 WHEN i %% 10 = 9 THEN 1500 ELSE 0 END AS fee
) k;

-- name: file_totals
-- The settlement file's totals, as an import takes them from the rows it loads (migration 0025): the
-- processor_fees report reads them.
INSERT INTO imports.file_totals (tenant, business_date, file_sha256, source, processor, kind, currency, records,
                                 amount_minor, abs_amount_minor, fee_minor, net_minor)
SELECT p.tenant, p.business_date, f.sha256, 'processor', p.processor, p.category, p.currency, count(*),
       sum(p.gross_minor), sum(abs(p.gross_minor)),
       sum(CASE WHEN p.category = 'fee' THEN -p.net_minor ELSE p.fee_minor END), sum(p.net_minor)
FROM imports.processor_lines p JOIN imports.files f ON f.tenant = p.tenant AND f.file_id = p.file_id
WHERE p.tenant = %(tenant)s AND p.business_date = %(start)s::date
GROUP BY p.tenant, p.business_date, f.sha256, p.processor, p.category, p.currency;

-- name: day_totals
-- The day's totals by source, currency and state, as the reconciliation writes them beside the states
-- (migration 0024): the reconciliation reports read them.
INSERT INTO recon.day_totals (tenant, business_date, source, currency, status, scope, items, amount_minor,
                              abs_amount_minor)
SELECT tenant, business_date, source, currency, status,
       CASE WHEN item_date >= business_date THEN 'day' WHEN status = 'matched' THEN 'carried_matched'
            ELSE 'carried_open' END,
       count(*), sum(amount_minor), sum(abs(amount_minor))
FROM recon.item_status
WHERE tenant = %(tenant)s AND business_date = %(start)s::date
GROUP BY 1, 2, 3, 4, 5, 6;
