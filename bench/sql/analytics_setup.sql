-- name: partitions --
-- The current month's partition and the 11 before it.
SELECT dom360.create_month_partition('dom360.messages'::regclass,
                                     (date_trunc('month', now() AT TIME ZONE 'UTC') - m * interval '1 month')::date)
  FROM generate_series(0, 11) AS m

-- name: schema --
-- bench/analytics.py's own schema.
CREATE SCHEMA bench

-- name: tenants --
-- Tenant n, its inbox, how many conversations it has and the number of its first.
CREATE TABLE bench.tenants (n integer PRIMARY KEY, tenant_id uuid NOT NULL, inbox_id uuid NOT NULL,
                            conversations integer NOT NULL, first_conversation integer NOT NULL)

-- name: create_tenants --
-- The tenants through create_tenant(); tenant 1 is the big one.
INSERT INTO bench.tenants (n, tenant_id, inbox_id, conversations, first_conversation)
SELECT g.n, dom360.create_tenant(CASE g.n WHEN 1 THEN 'Bench big' ELSE 'Bench tenant ' || g.n END,
                                 CASE g.n WHEN 1 THEN 'bench-big' ELSE 'bench-' || g.n END),
       gen_random_uuid(), 0, 0
  FROM generate_series(1, %(tenants)s) AS g(n)

-- name: conversations_per_tenant --
-- The big tenant's conversations, the others' shared evenly.
UPDATE bench.tenants SET conversations = CASE n WHEN 1 THEN %(big_conversations)s
                                           ELSE %(other_conversations)s / (%(tenants)s - 1)
                                                + (n - 2 < %(other_conversations)s %% (%(tenants)s - 1))::integer END

-- name: first_conversation --
-- The number of each tenant's first conversation.
UPDATE bench.tenants AS t SET first_conversation = s.first
  FROM (SELECT n, 1 + coalesce(sum(conversations)
                                OVER (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS first
          FROM bench.tenants) AS s WHERE s.n = t.n

-- name: inboxes --
-- One inbox per tenant.
INSERT INTO dom360.inboxes (tenant_id, id, name, channel)
SELECT t.tenant_id, t.inbox_id, 'Site chat', 'web' FROM bench.tenants AS t

-- name: conversations --
-- Conversation n: tenant, start, gap, message count (51 for one in ten: its last question unanswered).
CREATE TABLE bench.conversations AS
WITH w AS (SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '11 months') AT TIME ZONE 'UTC' AS lo)
SELECT c.n, t.tenant_id, t.inbox_id, gen_random_uuid() AS id, g.gap,
       CASE WHEN c.n %% 10 = 0 THEN 51 ELSE 50 END AS messages,
       w.lo + random() * ((now() - w.lo) - 51 * g.gap) AS first_at
  FROM bench.tenants AS t
 CROSS JOIN LATERAL generate_series(t.first_conversation, t.first_conversation + t.conversations - 1) AS c(n)
 CROSS JOIN LATERAL (SELECT make_interval(secs => 30 + random() * 1770 + c.n * 0) AS gap) AS g
 CROSS JOIN w

-- name: conversations_key --
-- Chunks of the load are ranges of n.
ALTER TABLE bench.conversations ADD PRIMARY KEY (n)

-- name: product_conversations --
-- The conversations with the counters, timestamps and turn state their messages will give them.
INSERT INTO dom360.conversations (tenant_id, id, inbox_id, external_id, status, agent_type, message_count, created_at,
                                  updated_at, first_message_at, last_message_at, turn_asked_at,
                                  last_turn_asked_at, response_turns_ready)
SELECT r.tenant_id, r.id, r.inbox_id, 'load-customer-' || r.n, 'open',
       CASE WHEN r.n %% 3 = 0 THEN 'COPILOT' END, r.messages, r.first_at, l.last_at, r.first_at, l.last_at,
       CASE WHEN r.messages %% 2 = 1 THEN l.last_at END,
       r.first_at + (CASE WHEN r.messages %% 2 = 1 THEN r.messages - 3 ELSE r.messages - 2 END) * r.gap, true
  FROM bench.conversations AS r
 CROSS JOIN LATERAL (SELECT r.first_at + (r.messages - 1) * r.gap AS last_at) AS l

-- name: stages --
-- Stages on one conversation in three: qualified after 2 hours, then one in two meeting_booked, then won/lost.
INSERT INTO dom360.conversation_stages (tenant_id, conversation_id, stage, reached_at)
SELECT r.tenant_id, r.id, s.stage, r.first_at + s.after
  FROM bench.conversations AS r
 CROSS JOIN LATERAL (VALUES ('qualified', interval '2 hours', true),
                            ('meeting_booked', interval '1 day', r.n %% 2 = 0),
                            ('won', interval '3 days', r.n %% 4 = 0),
                            ('lost', interval '3 days', r.n %% 4 = 2)) AS s(stage, after, reached)
 WHERE r.n %% 3 = 1 AND s.reached
