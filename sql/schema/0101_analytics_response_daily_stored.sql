SET LOCAL ROLE {{ owner_role | ident }};

-- dom360.analytics_response_daily from the turns the messages trigger keeps (schema/0100) instead of window
-- functions over every message: the answers carry their turn's start, the open turns are on their
-- conversation. Same columns, same figures (tests/test_analytics.py recomputes them from the raw messages);
-- complete once `dom360db backfill response-times` has filled the conversations stored before 0100.
-- dom360.analytics_response_turns (one row per turn, with its number and question count) still derives the
-- turns from the messages themselves.
CREATE OR REPLACE VIEW dom360.analytics_response_daily WITH (security_invoker = true) AS
WITH turns AS (
    SELECT m.tenant_id, m.conversation_id, m.turn_asked_at AS asked_at, m.created_at AS answered_at
      FROM dom360.messages AS m
     WHERE m.turn_asked_at IS NOT NULL
    UNION ALL
    SELECT c.tenant_id, c.id, c.turn_asked_at, NULL::timestamptz
      FROM dom360.conversations AS c
     WHERE c.turn_asked_at IS NOT NULL
)
SELECT t.tenant_id,
       (t.asked_at AT TIME ZONE 'UTC')::date                                     AS day,
       COALESCE(c.agent_type, a.default_agent_type)                              AS agent_type,
       count(*)                                                                  AS turns,
       count(t.answered_at)                                                      AS answered,
       count(*) - count(t.answered_at)                                           AS unanswered,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM t.answered_at - t.asked_at)::double precision)  AS p50_seconds,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM t.answered_at - t.asked_at)::double precision) AS p95_seconds
  FROM turns AS t
  JOIN dom360.conversations AS c ON c.tenant_id = t.tenant_id AND c.id = t.conversation_id
  LEFT JOIN dom360.account_vars AS a ON a.tenant_id = t.tenant_id
 GROUP BY t.tenant_id, (t.asked_at AT TIME ZONE 'UTC')::date, COALESCE(c.agent_type, a.default_agent_type);

COMMENT ON VIEW dom360.analytics_response_daily IS 'Agent response time per tenant, UTC day the turn started and agent type: turns, answered and unanswered, and the 50th and 95th percentiles (continuous, interpolated) of the answered turns'' response seconds; from messages.turn_asked_at and conversations.turn_asked_at (schema/0100). security_invoker; for the analytics role (the app calls dom360.tenant_response_times(); dom360.response_turns_between(tenant, from, to) reads only the range).';
