-- name: conversations --
-- Conversations, and those whose counters or first/last timestamps differ from their messages (or whose indexes
-- are not 1..n gapless).
WITH m AS (
    SELECT tenant_id, conversation_id, count(*) AS n, max(message_index) AS top,
           count(DISTINCT message_index) AS distinct_indexes, min(created_at) AS first_at, max(created_at) AS last_at
      FROM dom360.messages GROUP BY 1, 2)
SELECT count(*)::bigint,
       count(*) FILTER (WHERE c.message_count <> coalesce(m.n, 0)
                           OR m.top <> m.n OR m.distinct_indexes <> m.n
                           OR c.first_message_at IS DISTINCT FROM m.first_at
                           OR c.last_message_at IS DISTINCT FROM m.last_at)::bigint
  FROM dom360.conversations AS c
  LEFT JOIN m ON m.tenant_id = c.tenant_id AND m.conversation_id = c.id

-- name: consumption --
-- (tenant, inbox, UTC day) groups, and those whose stripes summed differ from the counts and sums over messages.
WITH s AS (
    SELECT tenant_id, inbox_id, day, sum(messages_count) AS n, sum(input_tokens) AS i, sum(output_tokens) AS o,
           sum(total_tokens) AS t
      FROM dom360.consumption_inbox_daily_stripes GROUP BY 1, 2, 3),
m AS (
    SELECT tenant_id, inbox_id, (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n, sum(input_tokens) AS i,
           sum(output_tokens) AS o, sum(total_tokens) AS t
      FROM dom360.messages GROUP BY 1, 2, 3)
SELECT count(*)::bigint,
       count(*) FILTER (WHERE s.n IS DISTINCT FROM m.n OR s.i IS DISTINCT FROM m.i OR s.o IS DISTINCT FROM m.o
                           OR s.t IS DISTINCT FROM m.t)::bigint
  FROM s FULL JOIN m USING (tenant_id, inbox_id, day)

-- name: requests --
-- Request claims, user messages stored with a request id, and claims pointing at no message.
SELECT (SELECT count(*) FROM dom360.message_requests)::bigint,
       (SELECT count(*) FROM dom360.messages WHERE request_id IS NOT NULL AND role = 'user')::bigint,
       (SELECT count(*) FROM dom360.message_requests AS r
         WHERE NOT EXISTS (SELECT FROM dom360.messages AS m
                            WHERE m.tenant_id = r.tenant_id AND m.conversation_id = r.conversation_id
                              AND m.created_at = r.created_at AND m.request_id = r.request_id))::bigint

-- name: seed --
-- The seed design's schema: conversations whose count or indexes differ from their messages, counter rows that
-- differ from the sums over its messages, its messages, its counter rows.
WITH m AS (SELECT conversation_id, count(*) AS n, max(message_index) AS top, count(DISTINCT message_index) AS d
             FROM {seed}.messages GROUP BY 1),
s AS (SELECT tenant_id, inbox_id, day, messages_count AS n, input_tokens AS i, output_tokens AS o, total_tokens AS t
        FROM {seed}.consumption_inbox_daily),
mm AS (SELECT tenant_id, inbox_id, (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n, sum(input_tokens) AS i,
              sum(output_tokens) AS o, sum(total_tokens) AS t FROM {seed}.messages GROUP BY 1, 2, 3)
SELECT (SELECT count(*) FROM {seed}.conversations AS c LEFT JOIN m ON m.conversation_id = c.id
         WHERE c.message_count <> coalesce(m.n, 0) OR m.top <> m.n OR m.d <> m.n)::bigint,
       (SELECT count(*) FROM s FULL JOIN mm USING (tenant_id, inbox_id, day)
         WHERE s.n IS DISTINCT FROM mm.n OR s.i IS DISTINCT FROM mm.i OR s.o IS DISTINCT FROM mm.o
            OR s.t IS DISTINCT FROM mm.t)::bigint,
       (SELECT count(*) FROM {seed}.messages)::bigint,
       (SELECT count(*) FROM {seed}.consumption_inbox_daily)::bigint

-- name: tagged_rows --
-- Messages a scenario stored: their request id starts with its tag prefix.
SELECT count(*) FROM dom360.messages WHERE left(request_id, length(%(p)s)) = %(p)s

-- name: twin_tagged_rows --
-- Rows (a) stored in the twin: their request id starts with its tag prefix.
SELECT count(*) FROM {twin}.messages WHERE left(request_id, length(%(p)s)) = %(p)s

-- name: hot_stripes --
-- The consumption counter rows today of the hot inbox (the inbox of the target numbered by the parameter).
SELECT count(*) FROM dom360.consumption_inbox_daily_stripes AS s
 WHERE s.inbox_id = (SELECT t.inbox_id FROM {twin}.targets AS t WHERE t.n = %s)
   AND s.day = (now() AT TIME ZONE 'UTC')::date
