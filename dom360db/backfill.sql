-- Queries of `dom360db backfill …` (dom360db.backfill). Each starts with a `-- name --` header.

-- tenant_ids --
SELECT t FROM dom360.tenant_ids() AS t;

-- set_tenant --
SELECT pg_catalog.set_config('app.tenant_id', %(tenant_id)s::text, true);

-- response_turns_pending --
-- Conversations stored before schema/0100 whose response turns are not filled yet (row-level security is
-- forced on the owner: the tenant is set first).
SELECT count(*) FROM dom360.conversations AS c
 WHERE c.tenant_id = %(tenant_id)s AND c.response_turns_ready IS NULL;

-- response_turns_step --
SELECT dom360.backfill_response_turns(%(tenant_id)s, %(batch_size)s);
