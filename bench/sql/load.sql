-- name: messages --
-- One chunk of the history: the messages of conversations lo..hi, and their consumption counters (what the trigger,
-- switched off for the load by session_replication_role = replica, would have added).
WITH ins AS (
    INSERT INTO dom360.messages (tenant_id, conversation_id, inbox_id, message_index, role, content, input_tokens,
                                 output_tokens, tool_calls, created_at)
    SELECT r.tenant_id, r.conversation_id, r.inbox_id, j,
           CASE WHEN j %% 2 = 1 THEN 'user' ELSE 'assistant' END,
           left(%(text)s, 40 + (random() * 400)::integer),
           CASE WHEN j %% 2 = 1 THEN 20 + (random() * 380)::integer ELSE 200 + (random() * 2800)::integer END,
           CASE WHEN j %% 2 = 1 THEN 0 ELSE 20 + (random() * 580)::integer END,
           CASE WHEN j %% 2 = 0 AND random() < 0.05
                THEN jsonb_build_object('name', 'crm_lookup', 'arguments', jsonb_build_object('customer', r.n)) END,
           r.first_at + (j - 1) * r.gap
      FROM {twin}.read_targets AS r CROSS JOIN LATERAL generate_series(1, r.messages) AS j
     WHERE r.n BETWEEN %(lo)s AND %(hi)s
    RETURNING tenant_id, inbox_id, conversation_id, created_at, input_tokens, output_tokens)
INSERT INTO dom360.consumption_inbox_daily_stripes AS s
       (tenant_id, inbox_id, day, stripe, messages_count, input_tokens, output_tokens, total_tokens)
SELECT tenant_id, inbox_id, (created_at AT TIME ZONE 'UTC')::date,
       (hashtext(conversation_id::text) & 2147483647) %% %(stripes)s,
       count(*), sum(input_tokens), sum(output_tokens), sum(input_tokens::bigint + output_tokens)
  FROM ins GROUP BY 1, 2, 3, 4
ON CONFLICT (tenant_id, inbox_id, day, agent_type, stripe) DO UPDATE
   SET messages_count = s.messages_count + excluded.messages_count,
       input_tokens   = s.input_tokens + excluded.input_tokens,
       output_tokens  = s.output_tokens + excluded.output_tokens,
       total_tokens   = s.total_tokens + excluded.total_tokens

-- name: grant_read_targets --
-- The app login reads the loaded conversations (the pgbench read scripts pick them by number).
GRANT SELECT ON {twin}.read_targets TO {app}

-- name: get_state --
-- The parameters of the history loaded by an earlier run.
SELECT value FROM {twin}.state WHERE key = 'load'

-- name: put_state --
-- The parameters of the history just loaded.
INSERT INTO {twin}.state (key, value) VALUES ('load', %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value

-- name: count_read_targets --
-- Conversations of the loaded history.
SELECT count(*) FROM {twin}.read_targets

-- name: twin_copy --
-- Fair to (a) when dom360.messages already holds rows in the partitions the writes go to (--reuse): copy them.
INSERT INTO {twin}.messages ({columns})
SELECT {columns} FROM dom360.messages
 WHERE created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
