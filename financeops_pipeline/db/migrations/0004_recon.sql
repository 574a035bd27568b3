-- Reconciliation results, recomputed per tenant-day (derived data: replaced whole for a day on re-run).
CREATE TABLE recon.matches (
    tenant        text NOT NULL,
    business_date date NOT NULL,     -- the day the match was made (both sides present)
    match_group   text NOT NULL,     -- one id per one-to-one / one-to-many / many-to-one match
    rule          text NOT NULL,     -- the rule that made the match
    source        text NOT NULL,     -- internal | processor | payout | bank
    source_ref    text NOT NULL,
    currency      char(3) NOT NULL,
    amount_minor  bigint NOT NULL
) PARTITION BY RANGE (business_date);

-- Every input item's state as of a day: matched, explained, pending (inside its window) or break.
CREATE TABLE recon.item_status (
    tenant        text NOT NULL,
    business_date date NOT NULL,
    source        text NOT NULL,     -- internal | processor | payout | bank
    source_ref    text NOT NULL,
    currency      char(3) NOT NULL,
    amount_minor  bigint NOT NULL,
    item_date     date NOT NULL,
    status        text NOT NULL CHECK (status IN ('matched', 'explained', 'pending', 'break')),
    break_id      text,
    break_type    text,
    rule          text,
    details       jsonb
) PARTITION BY RANGE (business_date);

-- Breaks with a lifecycle across days.
CREATE TABLE recon.breaks (
    tenant        text NOT NULL,
    business_date date NOT NULL,
    break_id      text NOT NULL,     -- stable across days: hash of type, source and reference
    break_type    text NOT NULL CHECK (break_type IN ('missing_in_processor', 'missing_in_internal',
                     'amount_mismatch', 'currency_mismatch', 'duplicate', 'payout_sum_mismatch',
                     'payout_not_in_bank', 'bank_unmatched')),
    source        text NOT NULL,
    source_ref    text NOT NULL,
    currency      char(3) NOT NULL,
    amount_minor  bigint NOT NULL,
    first_seen    date NOT NULL,
    age_days      integer NOT NULL,
    lifecycle     text NOT NULL CHECK (lifecycle IN ('new', 'persisting', 'resolved')),
    details       jsonb,
    PRIMARY KEY (tenant, business_date, break_id)
);

CREATE TABLE recon.runs (
    tenant        text NOT NULL,
    business_date date NOT NULL,
    run_id        text NOT NULL,
    code_version  text NOT NULL,
    computed_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant, business_date)
);
