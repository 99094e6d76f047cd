CREATE OR REPLACE FUNCTION dom360.recent_messages(p_conversation_id uuid, p_limit integer DEFAULT 20)
    RETURNS TABLE (message_id bigint, message_index integer, role text, content text, input_tokens integer,
                   output_tokens integer, total_tokens bigint, tool_calls jsonb, metadata jsonb, request_id text,
                   created_at timestamptz)
    LANGUAGE sql
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    /* The conversation's newest messages first. The conversation row bounds created_at between its first
       and last message, so only the partitions the conversation can be in are scanned (run-time pruning). */
    SELECT m.id, m.message_index, m.role, m.content, m.input_tokens, m.output_tokens, m.total_tokens, m.tool_calls,
           m.metadata, m.request_id, m.created_at
      FROM dom360.conversations AS c
      CROSS JOIN LATERAL (
          SELECT *
            FROM dom360.messages AS m
           WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id
             AND m.created_at >= c.first_message_at AND m.created_at <= c.last_message_at
           ORDER BY m.message_index DESC
           LIMIT LEAST(GREATEST(p_limit, 0), 1000)
      ) AS m
     WHERE c.tenant_id = dom360.current_tenant_id() AND c.id = p_conversation_id
     ORDER BY m.message_index DESC
$$;

ALTER FUNCTION dom360.recent_messages(uuid, integer) OWNER TO {{ owner_role | ident }};
COMMENT ON FUNCTION dom360.recent_messages(uuid, integer) IS 'The newest p_limit (at most 1000) messages of a conversation of the current tenant, newest first; scans only the partitions between its first and last message.';
REVOKE ALL ON FUNCTION dom360.recent_messages(uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dom360.recent_messages(uuid, integer) TO {{ app_role | ident }}, {{ analytics_role | ident }};
