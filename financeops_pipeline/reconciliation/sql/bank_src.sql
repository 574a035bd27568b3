-- The bank items of the window (DuckDB): every bank line of the record files (bank_lines_src) except the
-- unbooked ones a booked statement has superseded up to the day (bank_superseded, from imports.bank_superseded,
-- migration 0031). So a camt.054 credit is a bank item, and can match its payout, until the statement line that
-- books it arrives; from then on that line is the item, never both. Lines are booked or not by `booked`.
CREATE OR REPLACE TEMP VIEW bank_src AS
SELECT b.* FROM bank_lines_src b
WHERE NOT EXISTS (SELECT 1 FROM bank_superseded x
                  WHERE x.file_sha256 = b.file_sha256 AND x.source_position = b.source_position);
