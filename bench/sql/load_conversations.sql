-- name: drop --
-- The read targets of an earlier run.
DROP TABLE IF EXISTS {twin}.read_targets

-- name: create --
-- The loaded conversations: tenant, inbox, first message, gap between messages, number of messages.
CREATE TABLE {twin}.read_targets (
    n integer PRIMARY KEY, tenant_id uuid NOT NULL, inbox_id uuid NOT NULL, conversation_id uuid NOT NULL,
    first_at timestamptz NOT NULL, gap interval NOT NULL, messages integer NOT NULL)

-- name: fill --
-- Conversation n belongs to tenant (n - 1) mod tenants + 1; its messages are `gap` apart (30 s to 30 min), the whole
-- conversation between the start of the month 11 months ago and now.
INSERT INTO {twin}.read_targets (n, tenant_id, inbox_id, conversation_id, first_at, gap, messages)
WITH g AS MATERIALIZED (
    SELECT g.n, make_interval(secs => 30 + random() * 1770) AS gap
      FROM generate_series(1, %(conversations)s) AS g(n)),
w AS (SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '11 months') AT TIME ZONE 'UTC' AS lo)
SELECT g.n, t.tenant_id, t.inbox_id, gen_random_uuid(),
       w.lo + random() * ((now() - w.lo) - (%(per_conversation)s - 1) * g.gap), g.gap, %(per_conversation)s
  FROM g CROSS JOIN w JOIN {twin}.tenants AS t ON t.n = (g.n - 1) %% %(tenants)s + 1

-- name: conversations --
-- The conversations with the counters and timestamps their messages will give them (closed after a week idle).
INSERT INTO dom360.conversations (tenant_id, id, inbox_id, external_id, status, agent_type, message_count,
                                  created_at, updated_at, first_message_at, last_message_at, closed_at)
SELECT r.tenant_id, r.conversation_id, r.inbox_id, 'load-customer-' || r.n,
       CASE WHEN l.last_at < now() - interval '7 days' THEN 'closed' ELSE 'open' END, 'SDR', r.messages,
       r.first_at, l.last_at, r.first_at, l.last_at,
       CASE WHEN l.last_at < now() - interval '7 days' THEN l.last_at + interval '1 hour' END
  FROM {twin}.read_targets AS r
  CROSS JOIN LATERAL (SELECT r.first_at + (r.messages - 1) * r.gap AS last_at) AS l
