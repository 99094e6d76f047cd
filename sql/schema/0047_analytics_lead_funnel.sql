SET LOCAL ROLE {{ owner_role | ident }};

-- The lead funnel per tenant and cohort month (UTC month of the conversations' creation): of the
-- conversations that started in a month, how many reached each stage, whenever they reached it.
-- A conversation counts for every stage on the way to its furthest one: one that went from new
-- straight to meeting_booked was qualified too (rates never exceed 1). lost counts the conversations
-- lost at any stage; they also count for the stages they reached before.
CREATE VIEW dom360.analytics_lead_funnel WITH (security_invoker = true) AS
WITH progress AS (
    SELECT c.tenant_id,
           (pg_catalog.date_trunc('month', c.created_at AT TIME ZONE 'UTC'))::date AS month,
           c.id,
           c.created_at,
           COALESCE(max(CASE s.stage WHEN 'qualified' THEN 1 WHEN 'meeting_booked' THEN 2 WHEN 'won' THEN 3 END), 0)
                                                                                 AS furthest,
           COALESCE(bool_or(s.stage = 'lost'), false)                            AS lost,
           max(s.reached_at) FILTER (WHERE s.stage = 'qualified')                AS qualified_at,
           max(s.reached_at) FILTER (WHERE s.stage = 'meeting_booked')           AS meeting_booked_at,
           max(s.reached_at) FILTER (WHERE s.stage = 'won')                      AS won_at,
           max(s.reached_at) FILTER (WHERE s.stage = 'lost')                     AS lost_at
      FROM dom360.conversations AS c
      LEFT JOIN dom360.conversation_stages AS s ON s.tenant_id = c.tenant_id AND s.conversation_id = c.id
     GROUP BY c.tenant_id, c.id
), counted AS (
    SELECT p.tenant_id, p.month, st.stage, st.stage_order,
           count(*) FILTER (WHERE CASE WHEN st.stage = 'lost' THEN p.lost ELSE p.furthest >= st.stage_order END)
               AS conversations,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM
               CASE st.stage WHEN 'qualified' THEN p.qualified_at WHEN 'meeting_booked' THEN p.meeting_booked_at
                             WHEN 'won' THEN p.won_at WHEN 'lost' THEN p.lost_at END - p.created_at)::double precision / 3600)
               AS median_hours_to_reach
      FROM progress AS p
     CROSS JOIN (VALUES ('new', 0), ('qualified', 1), ('meeting_booked', 2), ('won', 3), ('lost', 4))
                AS st(stage, stage_order)
     GROUP BY p.tenant_id, p.month, st.stage, st.stage_order
)
SELECT k.tenant_id,
       k.month,
       k.stage,
       k.stage_order,
       k.conversations,
       CASE WHEN k.stage IN ('qualified', 'meeting_booked', 'won')
            THEN k.conversations::numeric / NULLIF(lag(k.conversations) OVER w, 0) END         AS rate_from_previous,
       k.conversations::numeric / NULLIF(first_value(k.conversations) OVER w, 0)              AS rate_from_new,
       k.median_hours_to_reach
  FROM counted AS k
WINDOW w AS (PARTITION BY k.tenant_id, k.month ORDER BY k.stage_order);

COMMENT ON VIEW dom360.analytics_lead_funnel IS 'Lead conversion funnel per tenant and cohort month (UTC month the conversations were created): for each stage (new, qualified, meeting_booked, won, lost) the conversations that reached it (a later stage implies the earlier ones; lost: lost at any stage), the rate from the previous stage and from new, and the median hours from creation to the recorded time of the stage. security_invoker; for the analytics role (the app calls dom360.tenant_lead_funnel()).';
COMMENT ON COLUMN dom360.analytics_lead_funnel.rate_from_previous IS 'conversations / conversations of the previous stage on the way to won (NULL for new and lost, and when the previous stage has none).';
COMMENT ON COLUMN dom360.analytics_lead_funnel.rate_from_new IS 'conversations / conversations created in the month (the conversion rate of the stage).';
COMMENT ON COLUMN dom360.analytics_lead_funnel.median_hours_to_reach IS 'Median hours from the conversation''s creation to the time the stage was recorded, over the conversations that recorded it (a skipped stage has no time); NULL for new.';
