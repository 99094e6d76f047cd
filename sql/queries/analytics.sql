-- Queries of `dom360db report`: one tenant's month, read through the analytics role's views (schema
-- 0043-0047) in a read-only transaction. Each starts with a `-- name: … --` header and a one-line description (loaded by dom360db.queries).

-- name: read_only --
-- The report's transaction only reads.
SET TRANSACTION READ ONLY;

-- name: as_role --
-- Act as the analytics role for the rest of the transaction.
SELECT pg_catalog.set_config('role', %(role)s, true);  -- SET LOCAL ROLE, the role name a bound value

-- name: find_tenant --
-- The tenant a slug names: id, name, status.
SELECT id, name, status FROM dom360.tenants WHERE slug = %(slug)s;

-- name: usage_by_day --
-- Messages and tokens per day of the month.
SELECT u.day, sum(u.messages_count)::bigint, sum(u.input_tokens)::bigint, sum(u.output_tokens)::bigint,
       sum(u.total_tokens)::bigint
  FROM dom360.analytics_usage_daily AS u
 WHERE u.tenant_id = %(tenant_id)s AND u.day BETWEEN %(first_day)s AND %(last_day)s
 GROUP BY u.day
 ORDER BY u.day;

-- name: cost_by_day --
-- Cost per day and currency, and the tokens no price covers.
SELECT c.day, c.currency, sum(c.cost), sum(c.input_tokens + c.output_tokens) FILTER (WHERE c.cost IS NULL)
  FROM dom360.analytics_cost_daily AS c
 WHERE c.tenant_id = %(tenant_id)s AND c.day BETWEEN %(first_day)s AND %(last_day)s
 GROUP BY c.day, c.currency
 ORDER BY c.day, c.currency;

-- name: usage_by_inbox_agent --
-- Messages, tokens and cost per inbox and agent type over the month.
SELECT i.name, c.agent_type, sum(u.messages_count)::bigint, sum(u.total_tokens)::bigint, c.currency, sum(c.cost)
  FROM dom360.analytics_usage_daily AS u
  JOIN dom360.analytics_cost_daily AS c
    ON c.tenant_id = u.tenant_id AND c.day = u.day AND c.inbox_id = u.inbox_id AND c.agent_type = u.agent_type
  LEFT JOIN dom360.inboxes AS i ON i.tenant_id = u.tenant_id AND i.id = u.inbox_id
 WHERE u.tenant_id = %(tenant_id)s AND u.day BETWEEN %(first_day)s AND %(last_day)s
 GROUP BY i.name, u.inbox_id, c.agent_type, c.currency
 ORDER BY i.name, c.agent_type, c.currency;

-- name: response_by_day --
-- Response times per day and agent type, from the turns started in the month (dom360.response_turns_between).
SELECT (t.asked_at AT TIME ZONE 'UTC')::date, t.agent_type, count(*), count(t.answered_at),
       count(*) - count(t.answered_at),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t.response_seconds),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY t.response_seconds)
  FROM dom360.response_turns_between(%(tenant_id)s, %(first_day)s, %(last_day)s) AS t
 GROUP BY 1, 2
 ORDER BY 1, 2;

-- name: response_month --
-- Response times over the whole month per agent type.
SELECT t.agent_type, count(*), count(t.answered_at), count(*) - count(t.answered_at),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t.response_seconds),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY t.response_seconds)
  FROM dom360.response_turns_between(%(tenant_id)s, %(first_day)s, %(last_day)s) AS t
 GROUP BY t.agent_type
 ORDER BY t.agent_type;

-- name: funnel --
-- The lead funnel of the month, stage by stage.
SELECT f.stage, f.conversations, f.rate_from_previous, f.rate_from_new, f.median_hours_to_reach
  FROM dom360.analytics_lead_funnel AS f
 WHERE f.tenant_id = %(tenant_id)s AND f.month = %(first_day)s
 ORDER BY f.stage_order;
