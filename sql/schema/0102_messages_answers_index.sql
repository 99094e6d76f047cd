SET LOCAL ROLE {{ owner_role | ident }};

-- The answers of a tenant in a date range, without reading the messages' rows (content makes them wide): a
-- partial covering index of the messages that answer a turn (schema/0100), for dom360.tenant_response_times()
-- and dom360.response_turns_between() (index-only scans of the range's partitions). Only assistant messages
-- that answer a turn enter it: about one message in two pays one more index insertion (docs/performance.md).
--
-- ON ONLY: the index of the partitioned table alone, created invalid and empty in an instant; no partition is
-- scanned or locked here. A partition attached from now on (dom360.create_month_partition) gets its own index
-- at ATTACH (new partitions are empty). The existing partitions are indexed CONCURRENTLY, and attached, by
-- `dom360db backfill response-times`; the parent index becomes valid when the last one is attached. Until
-- then the readers scan the partitions that lack it (same figures, slower).
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX IF NOT EXISTS messages_answers_idx ON ONLY dom360.messages (tenant_id, created_at)
    INCLUDE (turn_asked_at, conversation_id) WHERE turn_asked_at IS NOT NULL;

COMMENT ON INDEX dom360.messages_answers_idx IS 'Assistant messages that answer a turn (turn_asked_at set), by tenant and created_at, covering the turn''s start and conversation: a range''s response times by index-only scans. Partitions stored before schema 0102 are indexed by `dom360db backfill response-times`.';

-- The partitions that hold no row yet (a fresh install's, the months ahead) are indexed and attached here: on an
-- empty table (no page on disk) that takes no time.
DO $$
DECLARE
    v_part regclass;
    v_name text;
BEGIN
    FOR v_part IN SELECT i.inhrelid::regclass FROM pg_catalog.pg_inherits AS i
                   WHERE i.inhparent = 'dom360.messages'::regclass ORDER BY 1
    LOOP
        CONTINUE WHEN EXISTS (SELECT FROM pg_catalog.pg_inherits AS ii JOIN pg_catalog.pg_index AS x ON x.indexrelid = ii.inhrelid
                               WHERE ii.inhparent = 'dom360.messages_answers_idx'::regclass AND x.indrelid = v_part);
        CONTINUE WHEN pg_catalog.pg_relation_size(v_part) > 0;  -- a page: rows (not a count: RLS hides them)
        v_name := (SELECT c.relname || '_answers_idx' FROM pg_catalog.pg_class AS c WHERE c.oid = v_part);
        EXECUTE format('CREATE INDEX %I ON %s (tenant_id, created_at) INCLUDE (turn_asked_at, conversation_id) '
                       'WHERE turn_asked_at IS NOT NULL', v_name, v_part);
        EXECUTE format('ALTER INDEX dom360.messages_answers_idx ATTACH PARTITION dom360.%I', v_name);
    END LOOP;
END
$$;
