{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.recent_messages(p_conversation_id uuid, p_limit integer DEFAULT 20)
    RETURNS TABLE (message_id bigint, message_index integer, role text, content text, input_tokens integer,
                   output_tokens integer, total_tokens bigint, tool_calls jsonb, metadata jsonb, request_id text,
                   created_at timestamptz)
    LANGUAGE plpgsql
    STABLE
AS $$
/* The conversation's newest messages first. The conversation row bounds created_at between its first and
   last message, so only the partitions the conversation can be in are scanned (run-time pruning).
   PL/pgSQL rather than SQL on purpose (bench/): its statement plans are cached across calls, where a
   non-inlined SQL function is planned again on every call (about 1 ms for the partitioned join). */
#variable_conflict use_column
DECLARE
    v_tenant pg_catalog.uuid := dom360.current_tenant_id();
    v_first  pg_catalog.timestamptz;
    v_last   pg_catalog.timestamptz;
BEGIN
    IF v_tenant IS NULL THEN
        PERFORM dom360.raise_no_tenant();  -- fails closed: 42501, the one message (schema/0090)
    END IF;
    SELECT c.first_message_at, c.last_message_at INTO v_first, v_last
      FROM dom360.conversations AS c
     WHERE c.tenant_id = v_tenant AND c.id = p_conversation_id;
    IF v_first IS NULL THEN
        RETURN;  -- no such conversation for this tenant, or no message yet
    END IF;
    RETURN QUERY
        SELECT m.id, m.message_index, m.role, m.content, m.input_tokens, m.output_tokens, m.total_tokens,
               m.tool_calls, m.metadata, m.request_id, m.created_at
          FROM dom360.messages AS m
         WHERE m.tenant_id = v_tenant AND m.conversation_id = p_conversation_id
           AND m.created_at >= v_first AND m.created_at <= v_last
         ORDER BY m.message_index DESC
         LIMIT LEAST(GREATEST(p_limit, 0), 1000);
END
$$;

{% call privileges('dom360.recent_messages(uuid, integer)', execute=[app_role, analytics_role]) -%}
COMMENT ON FUNCTION dom360.recent_messages(uuid, integer) IS 'The newest p_limit (at most 1000) messages of a conversation of the current tenant, newest first; scans only the partitions between its first and last message.';
{%- endcall %}
