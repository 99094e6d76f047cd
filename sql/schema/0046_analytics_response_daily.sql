SET LOCAL ROLE {{ owner_role | ident }};

CREATE VIEW dom360.analytics_response_daily WITH (security_invoker = true) AS
SELECT t.tenant_id,
       (t.asked_at AT TIME ZONE 'UTC')::date                                     AS day,
       t.agent_type,
       count(*)                                                                  AS turns,
       count(t.answered_at)                                                      AS answered,
       count(*) - count(t.answered_at)                                           AS unanswered,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t.response_seconds)           AS p50_seconds,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY t.response_seconds)          AS p95_seconds
  FROM dom360.analytics_response_turns AS t
 GROUP BY t.tenant_id, (t.asked_at AT TIME ZONE 'UTC')::date, t.agent_type;

COMMENT ON VIEW dom360.analytics_response_daily IS 'Agent response time per tenant, UTC day the turn started and agent type: turns, answered and unanswered, and the 50th and 95th percentiles (continuous, interpolated) of the answered turns'' response_seconds. security_invoker; for the analytics role (the app calls dom360.tenant_response_times()).';
