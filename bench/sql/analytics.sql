-- name: load --
-- Messages of conversations lo..hi and the counters the trigger would have written; j odd: user, even: assistant
-- answering the question just before it (turn_asked_at = that question's created_at).
WITH ins AS (
    INSERT INTO dom360.messages (tenant_id, conversation_id, inbox_id, message_index, role, content, input_tokens,
                                 output_tokens, created_at, turn_asked_at)
    SELECT r.tenant_id, r.id, r.inbox_id, j, CASE WHEN j %% 2 = 1 THEN 'user' ELSE 'assistant' END,
           left(%(text)s, 40 + (random() * 400)::integer),
           CASE WHEN j %% 2 = 1 THEN 20 + (random() * 380)::integer ELSE 200 + (random() * 2800)::integer END,
           CASE WHEN j %% 2 = 1 THEN 0 ELSE 20 + (random() * 580)::integer END,
           r.first_at + (j - 1) * r.gap + CASE WHEN j %% 2 = 0 THEN random() * interval '20 seconds' ELSE interval '0' END,
           CASE WHEN j %% 2 = 0 THEN r.first_at + (j - 2) * r.gap END
      FROM bench.conversations AS r CROSS JOIN LATERAL generate_series(1, r.messages) AS j
     WHERE r.n BETWEEN %(lo)s AND %(hi)s
    RETURNING tenant_id, inbox_id, conversation_id, created_at, input_tokens, output_tokens)
INSERT INTO dom360.consumption_inbox_daily_stripes AS s
       (tenant_id, inbox_id, day, agent_type, stripe, messages_count, input_tokens, output_tokens, total_tokens)
SELECT i.tenant_id, i.inbox_id, (i.created_at AT TIME ZONE 'UTC')::date, coalesce(c.agent_type, ''), 0,
       count(*), sum(i.input_tokens), sum(i.output_tokens), sum(i.input_tokens::bigint + i.output_tokens)
  FROM ins AS i JOIN dom360.conversations AS c ON c.tenant_id = i.tenant_id AND c.id = i.conversation_id
 GROUP BY 1, 2, 3, 4
ON CONFLICT (tenant_id, inbox_id, day, agent_type, stripe) DO UPDATE
   SET messages_count = s.messages_count + excluded.messages_count,
       input_tokens = s.input_tokens + excluded.input_tokens,
       output_tokens = s.output_tokens + excluded.output_tokens,
       total_tokens = s.total_tokens + excluded.total_tokens

-- name: database_exists --
-- Whether the database named by the parameter exists.
SELECT 1 FROM pg_database WHERE datname = %s

-- name: sizes --
-- The big tenant, the messages, the big tenant's messages, the database's size.
SELECT t.tenant_id, (SELECT count(*) FROM dom360.messages),
       (SELECT count(*) FROM dom360.messages AS m WHERE m.tenant_id = t.tenant_id),
       pg_size_pretty(pg_database_size(current_database()))
  FROM bench.tenants AS t WHERE n = 1

-- name: month_rows --
-- A tenant's messages in [from, to).
SELECT count(*) FROM dom360.messages AS m WHERE m.tenant_id = %s AND m.created_at >= %s AND m.created_at < %s

-- name: explain --
-- Execution Time of the query: EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON).
EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {query}

-- name: ranged --
-- An app analytics function of a range (from, to), as the app with the tenant set.
SELECT * FROM {function}(%s, %s)

-- name: whole --
-- An app analytics function of the whole tenant.
SELECT * FROM {function}()

-- name: usage_daily --
-- The analytics role: usage per day, month, all tenants.
SELECT * FROM dom360.analytics_usage_daily WHERE day BETWEEN %s AND %s

-- name: cost_daily --
-- The analytics role: cost per day, month, all tenants.
SELECT * FROM dom360.analytics_cost_daily WHERE day BETWEEN %s AND %s

-- name: lead_funnel --
-- The analytics role: the lead funnel of a cohort month, all tenants.
SELECT * FROM dom360.analytics_lead_funnel WHERE month = %s

-- name: response_between --
-- The analytics role: response times per tenant, day and agent type through response_turns_between(NULL, …).
SELECT tenant_id, (asked_at AT TIME ZONE 'UTC')::date, agent_type, count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY response_seconds)
  FROM dom360.response_turns_between(NULL, %s, %s) GROUP BY 1, 2, 3

-- name: response_daily --
-- The analytics role: the response view filtered on the month (a view: reads every month).
SELECT * FROM dom360.analytics_response_daily WHERE day BETWEEN %s AND %s

-- name: response_before --
-- Before schema/0100: the big tenant's month by window functions (analytics_response_turns).
SELECT agent_type, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY response_seconds)
  FROM dom360.analytics_response_turns WHERE tenant_id = %s
   AND asked_at >= %s::date::timestamp AT TIME ZONE 'UTC'
   AND asked_at < (%s::date + 1)::timestamp AT TIME ZONE 'UTC' GROUP BY 1
