-- Canonical imported records, one table per source, partitioned by business date (the landing day).
CREATE TABLE imports.files (
    tenant              text NOT NULL REFERENCES ops.tenants (tenant),
    sha256              text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    business_date       date NOT NULL,
    source              text NOT NULL CHECK (source IN ('bank', 'processor', 'internal', 'unknown')),
    format              text NOT NULL,
    original_name       text NOT NULL,
    archive_path        text NOT NULL,
    size_bytes          bigint NOT NULL,
    status              text NOT NULL CHECK (status IN ('loaded', 'partial', 'rejected')),
    records_loaded      bigint NOT NULL,
    records_quarantined bigint NOT NULL,
    first_error         text,
    run_id              text NOT NULL,
    code_version        text NOT NULL,
    imported_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant, sha256)
);

CREATE TABLE imports.bank_lines (
    tenant            text NOT NULL,
    business_date     date NOT NULL,
    file_sha256       text NOT NULL,
    source_position   text NOT NULL,
    statement_id      text,
    account_id        text NOT NULL,
    currency          char(3) NOT NULL,
    booking_date      date NOT NULL,
    value_date        date,
    amount_minor      bigint NOT NULL,
    is_reversal       boolean NOT NULL DEFAULT false,
    bank_tx_code      text,
    end_to_end_id     text,
    acct_svcr_ref     text,
    instr_id          text,
    remittance_info   text,
    counterparty_name text,
    classification    text NOT NULL,   -- payout | fee | interest | other (imports/normalize.py)
    processor         text             -- the processor a payout credit comes from, when known
) PARTITION BY RANGE (business_date);

CREATE TABLE imports.bank_statements (
    tenant                text NOT NULL,
    business_date         date NOT NULL,
    file_sha256           text NOT NULL,
    source_position       text NOT NULL,
    statement_id          text,
    account_id            text NOT NULL,
    currency              char(3) NOT NULL,
    opening_date          date,
    opening_balance_minor bigint,
    closing_date          date,
    closing_balance_minor bigint,
    entry_count           bigint NOT NULL,
    entries_total_minor   bigint NOT NULL,
    PRIMARY KEY (tenant, file_sha256, source_position)
);

CREATE TABLE imports.processor_lines (
    tenant             text NOT NULL,
    business_date      date NOT NULL,
    file_sha256        text NOT NULL,
    source_position    text NOT NULL,
    processor          text NOT NULL,
    line_id            text NOT NULL,
    category           text NOT NULL,
    processor_type     text,
    reference          text,
    merchant_reference text,
    created_at         timestamptz NOT NULL,
    available_on       date,
    currency           char(3) NOT NULL,
    gross_minor        bigint NOT NULL,
    fee_minor          bigint NOT NULL,
    net_minor          bigint NOT NULL,
    payout_id          text,
    payout_date        date,
    extra              jsonb,
    CHECK (gross_minor - fee_minor = net_minor)
) PARTITION BY RANGE (business_date);

CREATE TABLE imports.internal_transactions (
    tenant              text NOT NULL,
    business_date       date NOT NULL,
    file_sha256         text NOT NULL,
    source_position     text NOT NULL,
    transaction_id      text NOT NULL,
    created_at          timestamptz NOT NULL,
    type                text NOT NULL CHECK (type IN ('payment', 'refund', 'chargeback')),
    amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
    currency            char(3) NOT NULL,
    processor           text NOT NULL,
    processor_reference text NOT NULL,
    customer_id         text,
    description         text
) PARTITION BY RANGE (business_date);

-- Records that could not be read: the error names file, position and field; the raw text is kept.
CREATE TABLE imports.quarantine (
    tenant         text NOT NULL,
    business_date  date NOT NULL,
    file_sha256    text NOT NULL,
    file_name      text NOT NULL,
    position       text NOT NULL,
    field          text NOT NULL,
    message        text NOT NULL,
    raw_text       text,
    PRIMARY KEY (tenant, file_sha256, position, field)
);

-- Trace lookups (record -> postings) go by file hash and position.
CREATE INDEX ON imports.bank_lines (tenant, file_sha256, source_position);
CREATE INDEX ON imports.processor_lines (tenant, file_sha256, source_position);
CREATE INDEX ON imports.internal_transactions (tenant, file_sha256, source_position);
