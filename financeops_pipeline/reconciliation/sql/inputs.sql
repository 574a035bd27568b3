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
SELECT account_id, acct_svcr_ref, end_to_end_id, instr_id, remittance_info, counterparty_name,
       currency::text AS currency, amount_minor, booking_date, business_date, classification, processor,
       file_sha256, source_position
FROM imports.bank_lines WHERE tenant = $1 AND business_date BETWEEN $2::date AND $3::date;
-- name: prev_breaks
-- Open breaks of the day before ($3 - 1); $2 is unused but keeps one parameter list for all queries.
SELECT break_id, break_type, source, source_ref, currency::text AS currency, amount_minor, first_seen,
       details::text AS details
FROM recon.breaks
WHERE tenant = $1 AND business_date = $3::date - 1 AND lifecycle <> 'resolved' AND $2::date IS NOT NULL;
