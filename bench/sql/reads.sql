-- name: recent --
-- (d1): the 20 newest messages of a conversation.
SELECT * FROM dom360.recent_messages(%s, 20)

-- name: tenant_recent --
-- (d2): the tenant's 10 newest messages. EXPLAIN of the call gives the server time (its statements planned and
-- run), auto_explain of its nested statements the partitions they executed.
SELECT * FROM dom360.tenant_recent_messages(10)

-- name: tenant_recent_direct --
-- (d2') the same read written as one direct query on dom360.messages, for comparison (what the function avoids:
-- with the default partition among the candidates, the planner must merge every month up to now).
SELECT * FROM dom360.messages WHERE created_at <= now() ORDER BY created_at DESC LIMIT 10

-- name: read_targets --
-- The loaded conversations, with their tenant.
SELECT tenant_id, conversation_id FROM {twin}.read_targets ORDER BY n

-- name: tenants --
-- The bench's tenants.
SELECT tenant_id FROM {twin}.tenants ORDER BY n

-- name: explain_json --
-- EXPLAIN (ANALYZE, TIMING OFF, BUFFERS, FORMAT JSON) of query.
EXPLAIN (ANALYZE, TIMING OFF, BUFFERS, FORMAT JSON) {query}

-- name: explain_text --
-- EXPLAIN (ANALYZE, BUFFERS) of query, as text.
EXPLAIN (ANALYZE, BUFFERS) {query}

-- name: explain_once --
-- EXPLAIN (ANALYZE, FORMAT JSON) of one execution of query, with or without timing (timing: ON or OFF).
EXPLAIN (ANALYZE, TIMING {timing}, FORMAT JSON) {query}
