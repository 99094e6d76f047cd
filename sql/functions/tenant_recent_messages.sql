{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.tenant_recent_messages(p_limit integer DEFAULT 10)
    RETURNS TABLE (message_id bigint, conversation_id uuid, inbox_id uuid, message_index integer, role text,
                   content text, total_tokens bigint, created_at timestamptz)
    LANGUAGE plpgsql
    STABLE
AS $$
/* The current tenant's newest messages across all its conversations (created_at <= now()), newest first.
   One query on dom360.messages ordered by created_at would merge every month up to now: the default
   partition (rows dated anywhere) keeps the planner from reading the months in order. So:
   1. the months that always have partitions ({{ months_behind }} month(s) back to now): a range that excludes
      the default partition and the partitions created ahead;
   2. while rows are missing, one month further back at a time, as long as that month has its partition
      (each query reads that one partition);
   3. then, if still short, everything older in one query (partitions beyond a gap, rows parked in the
      default partition).
   Each query is an ordered scan of (tenant_id, created_at DESC) that stops when it has enough rows. */
#variable_conflict use_column
DECLARE
    v_limit integer := LEAST(GREATEST(coalesce(p_limit, 10), 0), 1000);
    v_upper pg_catalog.timestamptz := (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '{{ months_behind }} month') AT TIME ZONE 'UTC';
    v_month pg_catalog.timestamptz;
    v_found integer;
    v_more  integer;
    v_tenant pg_catalog.uuid := dom360.require_tenant();  -- fails closed: 42501 when no tenant is set
BEGIN
    RETURN QUERY
        SELECT m.id, m.conversation_id, m.inbox_id, m.message_index, m.role, m.content, m.total_tokens, m.created_at
          FROM dom360.messages AS m
         WHERE m.tenant_id = dom360.current_tenant_id() AND m.created_at >= v_upper AND m.created_at <= now()
         ORDER BY m.created_at DESC
         LIMIT v_limit;
    GET DIAGNOSTICS v_found = ROW_COUNT;
    WHILE v_found < v_limit LOOP
        v_month := ((v_upper AT TIME ZONE 'UTC') - interval '1 month') AT TIME ZONE 'UTC';
        EXIT WHEN to_regclass('dom360.messages_' || to_char(v_month AT TIME ZONE 'UTC', 'YYYY_MM')) IS NULL;
        RETURN QUERY
            SELECT m.id, m.conversation_id, m.inbox_id, m.message_index, m.role, m.content, m.total_tokens, m.created_at
              FROM dom360.messages AS m
             WHERE m.tenant_id = dom360.current_tenant_id() AND m.created_at >= v_month AND m.created_at < v_upper
             ORDER BY m.created_at DESC
             LIMIT v_limit - v_found;
        GET DIAGNOSTICS v_more = ROW_COUNT;
        v_found := v_found + v_more;
        v_upper := v_month;
    END LOOP;
    IF v_found < v_limit THEN
        RETURN QUERY
            SELECT m.id, m.conversation_id, m.inbox_id, m.message_index, m.role, m.content, m.total_tokens, m.created_at
              FROM dom360.messages AS m
             WHERE m.tenant_id = dom360.current_tenant_id() AND m.created_at < v_upper
             ORDER BY m.created_at DESC
             LIMIT v_limit - v_found;
    END IF;
END
$$;

{% call privileges('dom360.tenant_recent_messages(integer)', execute=[app_role, analytics_role]) -%}
COMMENT ON FUNCTION dom360.tenant_recent_messages(integer) IS 'The current tenant''s p_limit (at most 1000) newest messages across its conversations (created_at <= now()), newest first (for dashboards); reads the months newest first and stops when it has enough.';
{%- endcall %}
