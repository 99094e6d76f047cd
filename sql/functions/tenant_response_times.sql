{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.tenant_response_times(p_from date DEFAULT NULL, p_to date DEFAULT NULL)
    RETURNS TABLE (day date, agent_type text, turns bigint, answered bigint, unanswered bigint,
                   p50_seconds double precision, p95_seconds double precision)
    LANGUAGE plpgsql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET work_mem = '64MB'  -- a busy tenant's month (~100k answers) sorts in memory, not on disk
AS $$
/* The current tenant's agent response times per UTC day and agent type, for turns started between p_from
   and p_to (UTC days, inclusive; NULL: unbounded): the figures of dom360.analytics_response_daily.
   Reads what the range holds, not the tenant's history (schema/0100, docs/performance.md): a turn is
   either answered, and its answer carries its start (messages.turn_asked_at), or still open, and its
   conversation carries it (conversations.turn_asked_at). So the turns started in the range are
   1. the answers stored in the range (partitions pruned by created_at) whose turn started in it;
   2. the answers stored outside the range whose turn started in it: their conversation has messages on
      both sides of a bound (first_message_at / last_message_at), so only those conversations are read,
      each within its own first and last message (partitions pruned at run time);
   3. the open turns started in the range (the tenant's conversations).
   SECURITY DEFINER as tenant_usage_daily. */
DECLARE
    v_tenant uuid := dom360.require_tenant();  -- fails closed: 42501 when no tenant is set
    v_lo     timestamptz := COALESCE(p_from::timestamp AT TIME ZONE 'UTC', '-infinity'::timestamptz);
    v_hi     timestamptz := COALESCE((p_to + 1)::timestamp AT TIME ZONE 'UTC', 'infinity'::timestamptz);
    v_default text;
BEGIN
    -- the tenant's default agent type, once (not joined per turn)
    SELECT a.default_agent_type INTO v_default FROM dom360.account_vars AS a WHERE a.tenant_id = v_tenant;
    RETURN QUERY
    WITH turns AS (
        SELECT m.conversation_id, m.turn_asked_at AS asked_at, m.created_at AS answered_at
          FROM dom360.messages AS m
         WHERE m.tenant_id = v_tenant AND m.created_at >= v_lo AND m.created_at < v_hi
           AND m.turn_asked_at >= v_lo AND m.turn_asked_at < v_hi
        UNION ALL
        SELECT c.id, m.asked_at, m.answered_at
          FROM dom360.conversations AS c
         CROSS JOIN LATERAL (
                SELECT m.turn_asked_at AS asked_at, m.created_at AS answered_at
                  FROM dom360.messages AS m
                 WHERE m.tenant_id = v_tenant AND m.conversation_id = c.id
                   AND m.created_at >= c.first_message_at AND m.created_at <= c.last_message_at
                   AND (m.created_at < v_lo OR m.created_at >= v_hi)
                   AND m.turn_asked_at >= v_lo AND m.turn_asked_at < v_hi
                OFFSET 0) AS m  -- one conversation at a time, by its key (OFFSET 0: not flattened into a scan of every month)
         WHERE c.tenant_id = v_tenant
           AND c.first_message_at < v_hi AND c.last_message_at >= v_lo
           AND (c.first_message_at < v_lo OR c.last_message_at >= v_hi)
        UNION ALL
        SELECT c.id, c.turn_asked_at, NULL::timestamptz
          FROM dom360.conversations AS c
         WHERE c.tenant_id = v_tenant AND c.turn_asked_at >= v_lo AND c.turn_asked_at < v_hi
    )
    SELECT (t.asked_at AT TIME ZONE 'UTC')::date,
           COALESCE(c.agent_type, v_default),
           count(*),
           count(t.answered_at),
           count(*) - count(t.answered_at),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM t.answered_at - t.asked_at)::double precision),
           percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM t.answered_at - t.asked_at)::double precision)
      FROM turns AS t
      JOIN dom360.conversations AS c ON c.tenant_id = v_tenant AND c.id = t.conversation_id
     GROUP BY 1, 2
     ORDER BY 1, 2;
END
$$;

{% call privileges('dom360.tenant_response_times(date, date)', execute=[app_role]) -%}
COMMENT ON FUNCTION dom360.tenant_response_times(date, date) IS 'Agent response time of the current tenant per UTC day and agent type (turns started between p_from and p_to, inclusive; NULL = unbounded): turns, answered, unanswered, p50 and p95 seconds from a user message to the next assistant message. Raises when no tenant is set.';
{%- endcall %}
