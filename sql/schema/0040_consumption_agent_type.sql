SET LOCAL ROLE {{ owner_role | ident }};

-- Token usage per agent type, from the real-time counters (analytics, issue 5).
--
-- Decision: the counters gain an agent_type key column, filled by the messages trigger from the
-- conversation row it already updates (UPDATE … RETURNING c.agent_type: no extra read on the hot path).
-- It is the conversation's agent_type as stored at the time of the message; '' when the conversation
-- names none (a primary key column cannot be NULL), which readers resolve to the tenant's
-- default_agent_type when they read (dom360.analytics_usage_daily), as the backend does when it routes
-- the message. Resolving it at write time would cost every message of such a conversation one more
-- lookup of account_vars; changing a tenant's default therefore re-labels the past '' rows too (pin the
-- type with get_or_create_conversation(…, p_agent_type) when that matters).
--
-- The key grows to (tenant_id, inbox_id, day, agent_type, stripe): a busy inbox still spreads over
-- stripes, now per agent type. consumption_inbox_daily and mv_tenant_consumption_summary group by
-- (tenant, inbox, day) and (tenant, month) and need no change: they sum every agent type.
-- Rows written before this file carry '' (they predate the key).
--
-- The new key and the trigger that targets it (functions/messages_before_insert.sql, re-applied by the
-- same `migrate` run right after the versioned files) are two transactions: a message that needs a new
-- counter row in between fails (the old trigger's ON CONFLICT names the old key) and can be retried.
-- Run this migration when writes are quiet.
ALTER TABLE dom360.consumption_inbox_daily_stripes
    ADD COLUMN agent_type text NOT NULL DEFAULT ''
        CONSTRAINT consumption_inbox_daily_stripes_agent_type_check CHECK (agent_type IN ('', 'SDR', 'COPILOT'));

ALTER TABLE dom360.consumption_inbox_daily_stripes
    DROP CONSTRAINT consumption_inbox_daily_stripes_pkey,
    ADD CONSTRAINT consumption_inbox_daily_stripes_pkey PRIMARY KEY (tenant_id, inbox_id, day, agent_type, stripe);

COMMENT ON COLUMN dom360.consumption_inbox_daily_stripes.agent_type IS 'The conversation''s agent_type when the message was stored (SDR or COPILOT); '''' when the conversation named none, read as the tenant''s default_agent_type by dom360.analytics_usage_daily. Part of the key.';
COMMENT ON TABLE dom360.consumption_inbox_daily_stripes IS 'Real-time consumption counters, several rows (stripes) per inbox, UTC day and agent type so that concurrent writers of one busy inbox do not queue on one row lock. Read the sums through the views dom360.consumption_inbox_daily (per inbox and day) and dom360.analytics_usage_daily (per day, inbox and agent type). Written only by the messages trigger.';
