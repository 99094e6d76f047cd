-- Queries of `dom360db backfill …` (dom360db.backfill).

-- name: tenant_ids --
-- Every tenant id (dom360.tenant_ids(): the owner reads them under forced row-level security).
SELECT t FROM dom360.tenant_ids() AS t;

-- name: response_turns_pending --
-- How many conversations of the tenant still need their response turns filled.
-- Conversations stored before schema/0100 whose response turns are not filled yet (row-level security is
-- forced on the owner: the tenant is set first).
SELECT count(*) FROM dom360.conversations AS c
 WHERE c.tenant_id = %(tenant_id)s AND c.response_turns_ready IS NULL;

-- name: response_turns_step --
-- Fill one batch of the tenant's conversations; how many were filled.
SELECT dom360.backfill_response_turns(%(tenant_id)s, %(batch_size)s);

-- name: partitions_without_answers_index --
-- Partitions of dom360.messages not yet covered by messages_answers_idx.
-- Partitions of dom360.messages whose index is not attached to messages_answers_idx yet (schema/0102), with the
-- name their index gets and whether an index of that name exists but is invalid (an interrupted CONCURRENTLY).
SELECT n.nspname, c.relname, c.relname || '_answers_idx',
       EXISTS (SELECT FROM pg_catalog.pg_class AS ic JOIN pg_catalog.pg_index AS x ON x.indexrelid = ic.oid
                WHERE ic.relnamespace = c.relnamespace AND ic.relname = c.relname || '_answers_idx' AND NOT x.indisvalid)
  FROM pg_catalog.pg_inherits AS i
  JOIN pg_catalog.pg_class AS c ON c.oid = i.inhrelid
  JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
 WHERE i.inhparent = 'dom360.messages'::regclass
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits AS ii JOIN pg_catalog.pg_index AS x ON x.indexrelid = ii.inhrelid
                    WHERE ii.inhparent = 'dom360.messages_answers_idx'::regclass AND x.indrelid = c.oid)
 ORDER BY c.relname;

-- name: drop_invalid_index --
-- Drop an index left invalid by an interrupted CONCURRENTLY build.
DROP INDEX CONCURRENTLY IF EXISTS {index};

-- name: create_answers_index --
-- Build one partition's answers index without blocking writes.
CREATE INDEX CONCURRENTLY IF NOT EXISTS {index_name} ON {partition} (tenant_id, created_at)
    INCLUDE (turn_asked_at, conversation_id) WHERE turn_asked_at IS NOT NULL;

-- name: attach_answers_index --
-- Attach a partition's answers index to messages_answers_idx.
ALTER INDEX dom360.messages_answers_idx ATTACH PARTITION {index};
