{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.response_turns_between(p_tenant_id pg_catalog.uuid, p_from pg_catalog.date,
                                                         p_to pg_catalog.date)
    RETURNS TABLE (tenant_id pg_catalog.uuid, conversation_id pg_catalog.uuid, agent_type pg_catalog.text,
                   asked_at pg_catalog.timestamptz, answered_at pg_catalog.timestamptz,
                   response_seconds double precision)
    LANGUAGE sql
    STABLE
AS $$
    /* The response turns started between p_from and p_to (UTC days, inclusive; NULL: unbounded) of tenant
       p_tenant_id (NULL: every tenant the caller's row-level security shows), reading what the range holds
       (schema/0100): the answers stored in the range whose turn started in it (partitions pruned by
       created_at); the answers stored outside it whose turn started in it, from the conversations with
       messages on both sides of a bound only, each read within its own first and last message; the open
       turns started in it (on their conversation). For the analytics role (`dom360db report --month`, a
       month across tenants); dom360.tenant_response_times() is the app's. SECURITY INVOKER and plain SQL,
       so it is inlined into the caller's query (constants fold, the tenant filter reaches the index). */
    SELECT t.tenant_id, t.conversation_id, COALESCE(c.agent_type, a.default_agent_type), t.asked_at, t.answered_at,
           EXTRACT(EPOCH FROM t.answered_at OPERATOR(pg_catalog.-) t.asked_at)::double precision
      FROM (
        SELECT m.tenant_id, m.conversation_id, m.turn_asked_at AS asked_at, m.created_at AS answered_at
          FROM (VALUES (COALESCE(p_from::pg_catalog.timestamp AT TIME ZONE 'UTC', '-infinity'::pg_catalog.timestamptz),
                        COALESCE((p_to + 1)::pg_catalog.timestamp AT TIME ZONE 'UTC', 'infinity'::pg_catalog.timestamptz)))
               AS b(lo, hi), dom360.messages AS m
         WHERE (p_tenant_id IS NULL OR m.tenant_id = p_tenant_id)
           AND m.created_at >= b.lo AND m.created_at < b.hi
           AND m.turn_asked_at >= b.lo AND m.turn_asked_at < b.hi
        UNION ALL
        SELECT c.tenant_id, c.id, m.asked_at, m.answered_at
          FROM (VALUES (COALESCE(p_from::pg_catalog.timestamp AT TIME ZONE 'UTC', '-infinity'::pg_catalog.timestamptz),
                        COALESCE((p_to + 1)::pg_catalog.timestamp AT TIME ZONE 'UTC', 'infinity'::pg_catalog.timestamptz)))
               AS b(lo, hi)
         CROSS JOIN dom360.conversations AS c
         CROSS JOIN LATERAL (
                SELECT m.turn_asked_at AS asked_at, m.created_at AS answered_at
                  FROM dom360.messages AS m
                 WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id
                   AND m.created_at >= c.first_message_at AND m.created_at <= c.last_message_at
                   AND (m.created_at < b.lo OR m.created_at >= b.hi)
                   AND m.turn_asked_at >= b.lo AND m.turn_asked_at < b.hi
                OFFSET 0) AS m  -- one conversation at a time, by its key (OFFSET 0: not flattened into a scan of every month)
         WHERE (p_tenant_id IS NULL OR c.tenant_id = p_tenant_id)
           AND c.first_message_at < b.hi AND c.last_message_at >= b.lo
           AND (c.first_message_at < b.lo OR c.last_message_at >= b.hi)
        UNION ALL
        SELECT c.tenant_id, c.id, c.turn_asked_at, NULL::pg_catalog.timestamptz
          FROM (VALUES (COALESCE(p_from::pg_catalog.timestamp AT TIME ZONE 'UTC', '-infinity'::pg_catalog.timestamptz),
                        COALESCE((p_to + 1)::pg_catalog.timestamp AT TIME ZONE 'UTC', 'infinity'::pg_catalog.timestamptz)))
               AS b(lo, hi), dom360.conversations AS c
         WHERE (p_tenant_id IS NULL OR c.tenant_id = p_tenant_id)
           AND c.turn_asked_at >= b.lo AND c.turn_asked_at < b.hi
      ) AS t
      JOIN dom360.conversations AS c ON c.tenant_id = t.tenant_id AND c.id = t.conversation_id
                                     AND (p_tenant_id IS NULL OR c.tenant_id = p_tenant_id)
      LEFT JOIN dom360.account_vars AS a ON a.tenant_id = t.tenant_id AND (p_tenant_id IS NULL OR a.tenant_id = p_tenant_id)
$$;

{% call privileges('dom360.response_turns_between(pg_catalog.uuid, pg_catalog.date, pg_catalog.date)', execute=[analytics_role]) -%}
COMMENT ON FUNCTION dom360.response_turns_between(pg_catalog.uuid, pg_catalog.date, pg_catalog.date) IS 'Analytics role: the response turns started between p_from and p_to (UTC days, inclusive; NULL = unbounded) of one tenant (NULL: all it may read), reading only what the range holds: agent type, asked_at, answered_at, response_seconds.';
{%- endcall %}
