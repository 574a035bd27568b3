-- imports.processor_lines.extra (the unmodelled columns of a processor line, a JSON object the parsers write) is
-- stored as text instead of jsonb (issue #13, imports stage). jsonb input parses every object and builds its binary
-- form on every row of the COPY: 1M processor lines of the 1M day took 2.11 s of server CPU with jsonb and 1.62 s
-- with text (-23%; json, which still validates, 1.78 s), for an Adyen line's ~100 bytes of extra. Nothing filters,
-- indexes or looks inside it in Postgres: the readers that show a record whole (ledger/sql/trace.sql,
-- workbench/sql/breaks.sql) cast it back to jsonb, so they show the same object as before; the record files keep it
-- as the same text. The rows loaded before keep their objects, as jsonb's text (a rewrite of the tables, once).
ALTER TABLE imports.processor_lines ALTER COLUMN extra TYPE text USING extra::text;
