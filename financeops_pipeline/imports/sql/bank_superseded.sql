-- After a bank file is loaded: the tenant's unbooked lines within the window around its day that a booked
-- statement supersedes (migration 0031). A line is superseded by a booked line of the same account and
-- currency with the same acct_svcr_ref or end_to_end_id, or by a booked statement of that account and currency
-- closing on or after the line's booking date; from the later of the two business days on (never before the
-- line itself arrived). Parameters: %(tenant)s, %(first)s, %(last)s (the window of business dates).
WITH provisional AS (
    SELECT b.business_date, f.sha256 AS file_sha256, b.source_position, b.account_id, b.currency, b.acct_svcr_ref,
           b.end_to_end_id, b.booking_date
    FROM imports.bank_lines b JOIN imports.files f ON f.tenant = b.tenant AND f.file_id = b.file_id
    WHERE b.tenant = %(tenant)s AND b.business_date BETWEEN %(first)s AND %(last)s AND NOT b.booked
), booked AS (
    SELECT b.business_date, f.sha256 AS file_sha256, b.account_id, b.currency, b.acct_svcr_ref, b.end_to_end_id
    FROM imports.bank_lines b JOIN imports.files f ON f.tenant = b.tenant AND f.file_id = b.file_id
    WHERE b.tenant = %(tenant)s AND b.business_date BETWEEN %(first)s AND %(last)s AND b.booked
      AND (b.acct_svcr_ref IS NOT NULL OR b.end_to_end_id IS NOT NULL)
), candidates AS (
    SELECT p.business_date, p.file_sha256, p.source_position, greatest(p.business_date, b.business_date) AS on_day,
           b.file_sha256 AS by_file, 'same_reference' AS rule
    FROM provisional p JOIN booked b
      ON b.account_id = p.account_id AND b.currency = p.currency AND b.acct_svcr_ref = p.acct_svcr_ref
    UNION ALL
    SELECT p.business_date, p.file_sha256, p.source_position, greatest(p.business_date, b.business_date),
           b.file_sha256, 'same_reference'
    FROM provisional p JOIN booked b
      ON b.account_id = p.account_id AND b.currency = p.currency AND b.end_to_end_id = p.end_to_end_id
    UNION ALL
    SELECT p.business_date, p.file_sha256, p.source_position, greatest(p.business_date, s.business_date),
           s.file_sha256, 'statement_covers_day'
    FROM provisional p JOIN imports.bank_statements s
      ON s.tenant = %(tenant)s AND s.business_date BETWEEN %(first)s AND %(last)s AND s.booked
     AND s.account_id = p.account_id AND s.currency = p.currency AND s.closing_date >= p.booking_date
), first_seen AS (
    SELECT DISTINCT ON (file_sha256, source_position) business_date, file_sha256, source_position, on_day, by_file,
           rule
    FROM candidates
    ORDER BY file_sha256, source_position, on_day, rule, by_file
)
INSERT INTO imports.bank_superseded AS x (tenant, business_date, file_sha256, source_position, superseded_on,
                                          by_file_sha256, rule)
SELECT %(tenant)s, business_date, file_sha256, source_position, on_day, by_file, rule FROM first_seen
ON CONFLICT (tenant, file_sha256, source_position) DO UPDATE
    SET superseded_on = excluded.superseded_on, by_file_sha256 = excluded.by_file_sha256, rule = excluded.rule
    WHERE excluded.superseded_on < x.superseded_on
