-- The breaks workbench: people, their roles per tenant, proposals and their four-eyes decisions, the audit log of
-- every human action, and the day sign-off that locks a tenant-day.
--
-- Everything a person does is a new row: proposals, decisions, events and sign-offs are append-only (UPDATE,
-- DELETE and TRUNCATE refused by triggers, whoever asks), and tenant-isolated by row-level security like every
-- tenant table. The state of a break (assignee, acceptance, pending approvals) is read from these rows.
CREATE SCHEMA IF NOT EXISTS workbench;
GRANT USAGE ON SCHEMA workbench TO financeops_tenant;

-- People are global (one login, roles in several tenants); tenant roles never read this table: password hashes
-- stay with the sign-in path (the role below), and a tenant sees its own members through tenant_members.
CREATE TABLE workbench.users (
    user_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    display_name  text NOT NULL,
    password_hash text,                 -- argon2id (argon2-cffi); NULL for a user who signs in through OIDC only
    oidc_issuer   text,
    oidc_subject  text,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    disabled_at   timestamptz,
    UNIQUE (oidc_issuer, oidc_subject)
);

CREATE TABLE workbench.memberships (
    user_id    bigint NOT NULL REFERENCES workbench.users (user_id),
    tenant     text NOT NULL REFERENCES ops.tenants (tenant),
    role       text NOT NULL CHECK (role IN ('viewer', 'preparer', 'approver', 'admin')),
    granted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, tenant)
);

-- Server-side sessions: the cookie carries a random token, the table its SHA-256, so a leaked table is no login;
-- logging out or disabling a user ends the session at once.
CREATE TABLE workbench.sessions (
    token_sha256 text PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES workbench.users (user_id),
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);

-- The sign-in path (password check, sessions) runs as this role; it owns nothing.
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'financeops_workbench_auth') THEN
        CREATE ROLE financeops_workbench_auth NOLOGIN;
    END IF;
END $$;
GRANT financeops_workbench_auth TO current_user;
GRANT USAGE ON SCHEMA workbench, ops TO financeops_workbench_auth;
GRANT SELECT ON workbench.users, workbench.memberships, ops.tenants TO financeops_workbench_auth;
GRANT SELECT, INSERT, UPDATE ON workbench.sessions TO financeops_workbench_auth;

-- A tenant's members (no secrets), for "assign to" lists and names in the history. A plain view runs with its
-- owner's rights on the tables, and current_user inside it is still the caller, so the filter is the isolation.
CREATE VIEW workbench.tenant_members AS
SELECT u.user_id, u.username, u.display_name, m.tenant, m.role, u.disabled_at IS NULL AS active
FROM workbench.users u JOIN workbench.memberships m USING (user_id)
WHERE m.tenant = (SELECT ops.current_tenant());
GRANT SELECT ON workbench.tenant_members TO financeops_tenant;

-- A proposal: one action on a break (or on items) with everything needed to apply it (payload), the amount it
-- closes or posts, and whether it needs a second person. It takes effect with its decision.
CREATE TABLE workbench.proposals (
    proposal_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant         text NOT NULL REFERENCES ops.tenants (tenant),
    business_date  date NOT NULL,       -- the tenant-day it was made on
    break_id       text,                -- the break it acts on (NULL for a match of items picked by hand)
    action         text NOT NULL CHECK (action IN ('match', 'unmatch', 'accept', 'adjust', 'confirm_suggestion',
                                                   'reject_suggestion')),
    payload        jsonb NOT NULL,
    currency       char(3) NOT NULL,
    amount_minor   bigint NOT NULL CHECK (amount_minor >= 0),   -- what it closes or posts (absolute)
    posts_entry    boolean NOT NULL,
    needs_approval boolean NOT NULL,
    proposed_by    bigint NOT NULL,
    proposed_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    note           text
);
CREATE INDEX ON workbench.proposals (tenant, break_id);

-- At most one decision per proposal (the primary key): approved or rejected by a second person, or applied at
-- once when no approval is needed. Four eyes is a constraint, not only a check in code.
CREATE TABLE workbench.decisions (
    proposal_id bigint PRIMARY KEY REFERENCES workbench.proposals (proposal_id),
    tenant      text NOT NULL REFERENCES ops.tenants (tenant),
    decision    text NOT NULL CHECK (decision IN ('approved', 'rejected', 'applied', 'withdrawn')),
    decided_by  bigint NOT NULL,
    decided_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    note        text,
    booked_on   date,                   -- the business day an adjusting entry was booked on
    entry_key   text,                   -- its idempotency key in the ledger
    CHECK (decision <> 'rejected' OR length(btrim(coalesce(note, ''))) > 0)
);

CREATE FUNCTION workbench.check_decision() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_proposal workbench.proposals;
BEGIN
    SELECT * INTO v_proposal FROM workbench.proposals WHERE proposal_id = NEW.proposal_id;
    IF v_proposal.tenant IS DISTINCT FROM NEW.tenant THEN
        RAISE EXCEPTION 'decision of proposal % names another tenant', NEW.proposal_id USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.decision IN ('approved', 'rejected') AND NEW.decided_by = v_proposal.proposed_by THEN
        RAISE EXCEPTION 'proposal % was made by user %: nobody approves or rejects their own proposal',
            NEW.proposal_id, NEW.decided_by USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.decision = 'applied' AND (v_proposal.needs_approval OR NEW.decided_by <> v_proposal.proposed_by) THEN
        RAISE EXCEPTION 'proposal % needs a second person''s approval', NEW.proposal_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.decision = 'withdrawn' AND NEW.decided_by <> v_proposal.proposed_by THEN
        RAISE EXCEPTION 'only the proposer withdraws proposal %', NEW.proposal_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER decisions_four_eyes BEFORE INSERT ON workbench.decisions
    FOR EACH ROW EXECUTE FUNCTION workbench.check_decision();

-- The audit log: every proposal, decision, assignment, comment, reference and sign-off, with who, when, what,
-- and the state before and after.
CREATE TABLE workbench.events (
    event_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant        text NOT NULL REFERENCES ops.tenants (tenant),
    business_date date NOT NULL,
    break_id      text,
    proposal_id   bigint REFERENCES workbench.proposals (proposal_id),
    kind          text NOT NULL CHECK (kind IN ('proposed', 'approved', 'rejected', 'applied', 'withdrawn',
                                                'assigned', 'commented', 'referenced', 'signed_off')),
    actor         bigint NOT NULL,
    actor_name    text NOT NULL,        -- the username at the time (kept: a log must not need a join to read)
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    before        jsonb,
    after         jsonb,
    note          text
);
CREATE INDEX ON workbench.events (tenant, break_id, event_id);

-- A signed-off tenant-day is locked: its reconciliation results and reports are kept as they are, and the ledger
-- refuses postings dated on it. One sign-off per day.
CREATE TABLE workbench.day_signoffs (
    tenant        text NOT NULL REFERENCES ops.tenants (tenant),
    business_date date NOT NULL,
    signed_by     bigint NOT NULL,
    signed_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    note          text,
    summary       jsonb NOT NULL,       -- the open breaks and explanations at sign-off
    PRIMARY KEY (tenant, business_date)
);

SELECT ops.isolate_tenant_table(t::regclass) FROM unnest(ARRAY[
    'workbench.proposals', 'workbench.decisions', 'workbench.events', 'workbench.day_signoffs'
]) AS t;
ALTER TABLE workbench.memberships ENABLE ROW LEVEL SECURITY;
CREATE POLICY sign_in ON workbench.memberships TO financeops_workbench_auth USING (true);

DO $$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['workbench.proposals', 'workbench.decisions', 'workbench.events',
                                   'workbench.day_signoffs'] LOOP
        EXECUTE format('CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON %s '
                       'FOR EACH ROW EXECUTE FUNCTION ops.refuse_change()', v_table);
        EXECUTE format('CREATE TRIGGER no_truncate BEFORE TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_change()', v_table);
    END LOOP;
END $$;

-- The day lock. Both functions take a transaction-level advisory lock on the tenant-day: shared for a writer
-- (a posting, the reconciliation write-back, a report), exclusive for the sign-off. So a sign-off waits for the
-- writers already in flight, and a writer that starts after it sees the day locked: nothing slips in between.
CREATE FUNCTION ops.day_locked(p_tenant text, p_day date) RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtext('ops.day_lock'), hashtext(p_tenant || ':' || p_day::text));
    RETURN EXISTS (SELECT 1 FROM workbench.day_signoffs WHERE tenant = p_tenant AND business_date = p_day);
END $$;
GRANT EXECUTE ON FUNCTION ops.day_locked(text, date) TO financeops_tenant;

CREATE FUNCTION ops.assert_days_open(p_tenant text, p_days date[]) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
DECLARE
    v_day date;
BEGIN
    FOREACH v_day IN ARRAY p_days LOOP
        IF ops.day_locked(p_tenant, v_day) THEN
            RAISE EXCEPTION 'tenant % day % is signed off and locked: post the adjustment on the next open day',
                p_tenant, v_day USING ERRCODE = 'restrict_violation';
        END IF;
    END LOOP;
END $$;
GRANT EXECUTE ON FUNCTION ops.assert_days_open(text, date[]) TO financeops_tenant;

-- The ledger refuses an entry dated on a locked day, whichever path posts it: one statement-level trigger over
-- the transition table (one lookup per tenant-day of the batch, not per row).
CREATE FUNCTION ops.refuse_posting_on_locked_day() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_batch record;
BEGIN
    FOR v_batch IN SELECT tenant, array_agg(DISTINCT business_date) AS days FROM new_rows GROUP BY tenant LOOP
        PERFORM ops.assert_days_open(v_batch.tenant, v_batch.days);
    END LOOP;
    RETURN NULL;
END $$;

-- The same for a layout that posts in batches of one tenant-day (one row each, checked when the batch is written).
CREATE FUNCTION ops.refuse_batch_on_locked_day() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ops.assert_days_open(NEW.tenant, ARRAY[NEW.business_date]);
    RETURN NEW;
END $$;

-- Attached to whichever ledger layout this database has: entries as a table (0003), or posting batches (the
-- transfers layout), where journal_entries is a view.
DO $$ BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('ledger.journal_entries')) IN ('r', 'p') THEN
        CREATE TRIGGER journal_entries_day_open AFTER INSERT ON ledger.journal_entries
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_posting_on_locked_day();
    END IF;
    IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('ledger.open_batches')) IN ('r', 'p') THEN
        CREATE TRIGGER open_batches_day_open BEFORE INSERT ON ledger.open_batches
            FOR EACH ROW EXECUTE FUNCTION ops.refuse_batch_on_locked_day();
    END IF;
    IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('ledger.posting_batches')) IN ('r', 'p') THEN
        CREATE TRIGGER posting_batches_day_open BEFORE INSERT ON ledger.posting_batches
            FOR EACH ROW EXECUTE FUNCTION ops.refuse_batch_on_locked_day();
    END IF;
END $$;

-- The proposals in force: approved, or applied when they needed no approval, and not undone by an unmatch in
-- force. The reconciliation reads its resolutions from here (workbench/sql/resolutions.sql).
CREATE VIEW workbench.effective_proposals WITH (security_invoker = true) AS
SELECT p.*, d.decision, d.decided_by, d.decided_at
FROM workbench.proposals p
JOIN workbench.decisions d ON d.proposal_id = p.proposal_id AND d.decision IN ('approved', 'applied')
WHERE NOT EXISTS (
    SELECT 1 FROM workbench.proposals u
    JOIN workbench.decisions ud ON ud.proposal_id = u.proposal_id AND ud.decision IN ('approved', 'applied')
    WHERE u.tenant = p.tenant AND u.action = 'unmatch' AND (u.payload->>'match_proposal_id')::bigint = p.proposal_id
);
GRANT SELECT ON workbench.effective_proposals TO financeops_tenant;
