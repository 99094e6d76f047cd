SET LOCAL ROLE {{ owner_role | ident }};

-- Token usage trends from the real-time counters, per tenant, UTC day, inbox and agent type.
-- security_invoker: the reader's row-level security applies (the analytics role reads every tenant
-- through its analytics_read policies; anyone else, one tenant at a time).
CREATE VIEW dom360.analytics_usage_daily WITH (security_invoker = true) AS
SELECT s.tenant_id,
       s.day,
       s.inbox_id,
       COALESCE(NULLIF(s.agent_type, ''), a.default_agent_type) AS agent_type,
       sum(s.messages_count)::bigint AS messages_count,
       sum(s.input_tokens)::bigint   AS input_tokens,
       sum(s.output_tokens)::bigint  AS output_tokens,
       sum(s.total_tokens)::bigint   AS total_tokens
  FROM dom360.consumption_inbox_daily_stripes AS s
  LEFT JOIN dom360.account_vars AS a ON a.tenant_id = s.tenant_id
 GROUP BY s.tenant_id, s.day, s.inbox_id, COALESCE(NULLIF(s.agent_type, ''), a.default_agent_type);

COMMENT ON VIEW dom360.analytics_usage_daily IS 'Token usage trends: messages and tokens per tenant, UTC day, inbox and agent type, exact at every commit (sums of the real-time counters). agent_type is the conversation''s when the message was stored, else the tenant''s default_agent_type as of reading. security_invoker; for the analytics role (the app calls dom360.tenant_usage_daily()).';
