CREATE OR REPLACE FUNCTION dom360.tenant_recent_messages(p_limit integer DEFAULT 10)
    RETURNS TABLE (message_id bigint, conversation_id uuid, inbox_id uuid, message_index integer, role text,
                   content text, total_tokens bigint, created_at timestamptz)
    LANGUAGE plpgsql
    STABLE
AS $$
/* The current tenant's newest messages across all its conversations (created_at <= now()), newest first.
   First the months that always have partitions ({{ months_behind }} month(s) back to now): that range
   excludes the default partition and the partitions created ahead, so the ordered scan of
   (tenant_id, created_at DESC) touches those few partitions only and stops as soon as it has enough rows.
   Only a tenant with fewer messages there reads the older partitions and the default one. */
#variable_conflict use_column
DECLARE
    v_limit integer := LEAST(GREATEST(coalesce(p_limit, 10), 0), 1000);
    v_since timestamptz := (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '{{ months_behind }} month') AT TIME ZONE 'UTC';
    v_found integer;
BEGIN
    RETURN QUERY
        SELECT m.id, m.conversation_id, m.inbox_id, m.message_index, m.role, m.content, m.total_tokens, m.created_at
          FROM dom360.messages AS m
         WHERE m.tenant_id = dom360.current_tenant_id() AND m.created_at >= v_since AND m.created_at <= now()
         ORDER BY m.created_at DESC
         LIMIT v_limit;
    GET DIAGNOSTICS v_found = ROW_COUNT;
    IF v_found < v_limit THEN
        RETURN QUERY
            SELECT m.id, m.conversation_id, m.inbox_id, m.message_index, m.role, m.content, m.total_tokens, m.created_at
              FROM dom360.messages AS m
             WHERE m.tenant_id = dom360.current_tenant_id() AND m.created_at < v_since
             ORDER BY m.created_at DESC
             LIMIT v_limit - v_found;
    END IF;
END
$$;

ALTER FUNCTION dom360.tenant_recent_messages(integer) OWNER TO {{ owner_role | ident }};
COMMENT ON FUNCTION dom360.tenant_recent_messages(integer) IS 'The current tenant''s p_limit (at most 1000) newest messages across its conversations (created_at <= now()), newest first (for dashboards).';
REVOKE ALL ON FUNCTION dom360.tenant_recent_messages(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dom360.tenant_recent_messages(integer) TO {{ app_role | ident }}, {{ analytics_role | ident }};
