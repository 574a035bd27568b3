-- name: internal
-- The lookback window of each source, read as the tenant's role. Parameters: $1 tenant, $2 first day, $3 day.
-- file_order (a hash prefix) only orders a record's deliveries; a quarter of the 64-character hash is plenty
-- for that and keeps a quarter of the bytes (they were ~40% of the internal and processor inputs).
SELECT transaction_id, processor, processor_reference, type, currency::text AS currency, amount_minor,
       business_date, left(file_sha256, 16) AS file_order, source_position
FROM imports.internal_transactions WHERE tenant = $1 AND business_date BETWEEN $2::date AND $3::date;
-- name: processor
SELECT processor, line_id, category, reference, merchant_reference, currency::text AS currency, gross_minor,
       net_minor, payout_id, payout_date, business_date, left(file_sha256, 16) AS file_order, source_position
FROM imports.processor_lines WHERE tenant = $1 AND business_date BETWEEN $2::date AND $3::date;
-- name: bank
-- Booked lines, and the lines not booked yet (camt.052 intraday, camt.054 notifications, pending entries) until
-- the booked statement supersedes them: a booked line of the same account and currency with the same
-- acct_svcr_ref or end_to_end_id, or a booked statement of that account and currency closing on or after the
-- line's booking date, loaded in the window up to the day. So a camt.054 credit can match its payout the day
-- it is notified, and is never a second bank item beside the statement line that books it (booked, report_kind
-- say which one an item is).
WITH provisional AS (
    SELECT file_sha256, source_position, account_id, currency, acct_svcr_ref, end_to_end_id, booking_date
    FROM imports.bank_lines
    WHERE tenant = $1 AND business_date BETWEEN $2::date AND $3::date AND NOT booked
), superseded AS (
    SELECT p.file_sha256, p.source_position FROM provisional p
    JOIN imports.bank_lines s ON s.tenant = $1 AND s.business_date BETWEEN $2::date AND $3::date AND s.booked
     AND s.account_id = p.account_id AND s.currency = p.currency AND s.acct_svcr_ref = p.acct_svcr_ref
    UNION
    SELECT p.file_sha256, p.source_position FROM provisional p
    JOIN imports.bank_lines s ON s.tenant = $1 AND s.business_date BETWEEN $2::date AND $3::date AND s.booked
     AND s.account_id = p.account_id AND s.currency = p.currency AND s.end_to_end_id = p.end_to_end_id
    UNION
    SELECT p.file_sha256, p.source_position FROM provisional p
    JOIN imports.bank_statements t ON t.tenant = $1 AND t.business_date BETWEEN $2::date AND $3::date AND t.booked
     AND t.account_id = p.account_id AND t.currency = p.currency AND t.closing_date >= p.booking_date
)
SELECT b.account_id, b.acct_svcr_ref, b.end_to_end_id, b.instr_id, b.remittance_info, b.counterparty_name,
       b.currency::text AS currency, b.amount_minor, b.booking_date, b.business_date, b.classification, b.processor,
       b.file_sha256, b.source_position, b.booked, b.report_kind
FROM imports.bank_lines b
WHERE b.tenant = $1 AND b.business_date BETWEEN $2::date AND $3::date
  AND (b.booked OR NOT EXISTS (SELECT 1 FROM superseded x
                               WHERE x.file_sha256 = b.file_sha256 AND x.source_position = b.source_position));
-- name: prev_breaks
-- Open breaks of the day before ($3 - 1); $2 is unused but keeps one parameter list for all queries.
SELECT break_id, break_type, source, source_ref, currency::text AS currency, amount_minor, first_seen,
       details::text AS details
FROM recon.breaks
WHERE tenant = $1 AND business_date = $3::date - 1 AND lifecycle <> 'resolved' AND $2::date IS NOT NULL;
