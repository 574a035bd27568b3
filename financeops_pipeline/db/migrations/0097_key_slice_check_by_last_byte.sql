-- The key registry's slice CHECK computed from the key's last byte (issue #13, posting stage). 0060's
-- CHECK (key_slice = ascii(right(idempotency_key, 1)) % 4) walks the key's characters twice per row (right() counts
-- them, then finds the last), in every key COPY: 0.14 us of a key's ~0.4 us load (4M keys like a day's, backend
-- CPU over a bare scan). In UTF-8 the last character's code point mod 4 is its last byte's mod 4: a one-byte
-- character is its code point, and a longer one ends with a continuation byte 10xxxxxx holding the code point's low
-- six bits. So the same slice is get_byte(convert_to(key, 'UTF8'), octet_length(key) - 1) % 4, which reads no
-- character (convert_to of a UTF8 database's text to UTF8 checks the bytes, a word at a time, and returns them):
-- 0.07 us. Only in a UTF8 database (a key of another encoding keeps 0060's CHECK). Every key already stored meets
-- the new CHECK (ADD CONSTRAINT validates them); an empty key, which no writer makes, is now refused.

DO $$
DECLARE
    v_con  record;
    v_leaf regclass;
BEGIN
    IF current_setting('server_encoding') <> 'UTF8' THEN
        RAISE NOTICE 'database encoding %: the key slice CHECK stays ascii(right(key, 1)) %% 4',
            current_setting('server_encoding');
        RETURN;
    END IF;
    FOR v_con IN SELECT conname FROM pg_constraint
                 WHERE conrelid = 'ledger.entry_keys'::regclass AND contype = 'c'
                   AND pg_get_constraintdef(oid) LIKE '%ascii(%right%(idempotency_key, 1))%' LOOP
        EXECUTE format('ALTER TABLE ledger.entry_keys DROP CONSTRAINT %I', v_con.conname);
        -- a partition that was a fresh table has its own copy too (LIKE ... INCLUDING CONSTRAINTS, kept local)
        FOR v_leaf IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'ledger.entry_keys'::regclass LOOP
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', v_leaf, v_con.conname);
        END LOOP;
    END LOOP;
    ALTER TABLE ledger.entry_keys ADD CONSTRAINT entry_keys_key_slice
        CHECK (key_slice = get_byte(convert_to(idempotency_key, 'UTF8'), octet_length(idempotency_key) - 1) % 4);
END $$;
