-- Every money movement of one tenant-day as a normalized event, ready for the posting rules.
-- Columns: event_type, idempotency_key, currency, amount_minor (signed), processor, bank_account,
--          source_kind, source_file_sha256, source_position, source_ref, description.
-- Parameters: %(tenant)s, %(day)s.
WITH internal AS (
    SELECT 'internal_' || t.type AS event_type,
           'internal:' || t.transaction_id AS idempotency_key,
           t.currency, t.amount_minor, t.processor, NULL::text AS bank_account,
           'internal' AS source_kind, sf.sha256 AS file_sha256, t.source_position, t.transaction_id AS source_ref,
           t.type || ' ' || t.transaction_id AS description
    FROM imports.internal_transactions t JOIN imports.files sf ON sf.tenant = t.tenant AND sf.file_id = t.file_id
    WHERE t.tenant = %(tenant)s AND t.business_date = %(day)s
),
fees AS (
    -- Fees on charges, refunds and disputes; standalone fee lines (category 'fee') carry the fee as -net.
    SELECT 'processor_fee', 'processor_fee:' || p.processor || ':' || p.line_id,
           p.currency, CASE WHEN p.category = 'fee' THEN -p.net_minor ELSE p.fee_minor END,
           p.processor, NULL, 'processor', sf.sha256, p.source_position, p.line_id,
           'fee on ' || p.category || ' ' || coalesce(p.reference, p.line_id)
    FROM imports.processor_lines p JOIN imports.files sf ON sf.tenant = p.tenant AND sf.file_id = p.file_id
    WHERE p.tenant = %(tenant)s AND p.business_date = %(day)s AND p.category <> 'payout'
      AND (CASE WHEN p.category = 'fee' THEN -p.net_minor ELSE p.fee_minor END) <> 0
),
adjustments AS (
    -- Balance movements that are not sales (Adyen DepositCorrection, Stripe other_adjustment, PayPal currency
    -- conversions, holds, payments sent): the processor balance moves by the gross, and the fee (above) apart.
    SELECT 'processor_adjustment', 'processor_adjustment:' || p.processor || ':' || p.line_id,
           p.currency, p.gross_minor, p.processor, NULL, 'processor', sf.sha256, p.source_position, p.line_id,
           left(coalesce(p.processor_type, p.category) || ' ' || p.line_id, 200)
    FROM imports.processor_lines p JOIN imports.files sf ON sf.tenant = p.tenant AND sf.file_id = p.file_id
    WHERE p.tenant = %(tenant)s AND p.business_date = %(day)s AND p.category = 'adjustment' AND p.gross_minor <> 0
),
payouts AS (
    -- A payout row (Stripe 'payout', Adyen 'MerchantPayout') posts the transfer it reports; an itemized
    -- report without one posts the sum of its lines' net. One pass, grouped: no correlated lookups.
    SELECT 'processor_payout', 'payout:' || p.processor || ':' || p.payout_id, p.currency,
           (CASE WHEN bool_or(p.category = 'payout') THEN -sum(p.net_minor) FILTER (WHERE p.category = 'payout')
                 ELSE sum(p.net_minor) END)::bigint,   -- sum(bigint) is numeric: keep the column bigint
           p.processor, NULL, 'payout',
           coalesce(min(sf.sha256) FILTER (WHERE p.category = 'payout'), min(sf.sha256)),
           coalesce(min(p.source_position) FILTER (WHERE p.category = 'payout'), min(p.source_position)),
           p.payout_id, 'payout ' || p.payout_id
    FROM imports.processor_lines p JOIN imports.files sf ON sf.tenant = p.tenant AND sf.file_id = p.file_id
    WHERE p.tenant = %(tenant)s AND p.business_date = %(day)s AND p.payout_id IS NOT NULL
    GROUP BY p.processor, p.payout_id, p.currency
    HAVING CASE WHEN bool_or(p.category = 'payout') THEN sum(p.net_minor) FILTER (WHERE p.category = 'payout')
                ELSE sum(p.net_minor) END <> 0
),
bank AS (
    -- classification and processor were derived once at import (imports/normalize.py). Only booked lines are
    -- money that moved: camt.052 intraday and camt.054 notification lines, and entries not (yet) booked, are
    -- loaded with booked = false and posted when the statement books them (imports/camt053.py).
    SELECT CASE b.classification WHEN 'payout' THEN 'bank_payout_received' WHEN 'fee' THEN 'bank_fee'
                                 WHEN 'interest' THEN 'bank_interest' ELSE 'bank_unidentified' END,
           'bank:' || b.account_id || ':' || coalesce(b.acct_svcr_ref, sf.sha256 || ':' || b.source_position),
           b.currency, b.amount_minor, b.processor, b.account_id, 'bank', sf.sha256, b.source_position,
           coalesce(b.acct_svcr_ref, b.end_to_end_id, b.source_position),
           left(coalesce(b.remittance_info, b.counterparty_name, ''), 200)
    FROM imports.bank_lines b JOIN imports.files sf ON sf.tenant = b.tenant AND sf.file_id = b.file_id
    WHERE b.tenant = %(tenant)s AND b.business_date = %(day)s AND b.booked
)
SELECT * FROM internal
UNION ALL SELECT * FROM fees
UNION ALL SELECT * FROM adjustments
UNION ALL SELECT * FROM payouts
UNION ALL SELECT * FROM bank
