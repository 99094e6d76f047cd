CREATE OR REPLACE FUNCTION dom360.tenant_recent_messages(p_limit integer DEFAULT 10)
    RETURNS TABLE (message_id bigint, conversation_id uuid, inbox_id uuid, message_index integer, role text,
                   content text, total_tokens bigint, created_at timestamptz)
    LANGUAGE plpgsql
    STABLE
AS $$
/* The current tenant's newest messages across all its conversations, newest first. The bound
   created_at <= now() lets the executor drop the empty partitions created ahead before it starts, and the
   ordered scan of (tenant_id, created_at DESC) stops in the newest partition that has enough rows. */
#variable_conflict use_column
BEGIN
    RETURN QUERY
        SELECT m.id, m.conversation_id, m.inbox_id, m.message_index, m.role, m.content, m.total_tokens, m.created_at
          FROM dom360.messages AS m
         WHERE m.tenant_id = dom360.current_tenant_id() AND m.created_at <= now()
         ORDER BY m.created_at DESC
         LIMIT LEAST(GREATEST(p_limit, 0), 1000);
END
$$;

ALTER FUNCTION dom360.tenant_recent_messages(integer) OWNER TO {{ owner_role | ident }};
COMMENT ON FUNCTION dom360.tenant_recent_messages(integer) IS 'The current tenant''s p_limit (at most 1000) newest messages across its conversations, newest first (for dashboards).';
REVOKE ALL ON FUNCTION dom360.tenant_recent_messages(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dom360.tenant_recent_messages(integer) TO {{ app_role | ident }}, {{ analytics_role | ident }};
