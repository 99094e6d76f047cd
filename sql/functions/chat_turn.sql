{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.chat_turn(
        p_tenant_id     pg_catalog.uuid,
        p_inbox_id      pg_catalog.uuid,
        p_external_id   pg_catalog.text,
        p_role          pg_catalog.text,
        p_content       pg_catalog.text,
        p_input_tokens  pg_catalog.int4  DEFAULT 0,
        p_output_tokens pg_catalog.int4  DEFAULT 0,
        p_tool_calls    pg_catalog.jsonb DEFAULT NULL,
        p_metadata      pg_catalog.jsonb DEFAULT NULL,
        p_request_id    pg_catalog.text  DEFAULT NULL,
        p_agent_type    pg_catalog.text  DEFAULT NULL,
        p_history_limit pg_catalog.int4  DEFAULT 20)
    RETURNS TABLE (conversation_id pg_catalog.uuid, message_id pg_catalog.int8, message_index pg_catalog.int4,
                   role pg_catalog.text, content pg_catalog.text, input_tokens pg_catalog.int4,
                   output_tokens pg_catalog.int4, total_tokens pg_catalog.int8, tool_calls pg_catalog.jsonb,
                   metadata pg_catalog.jsonb, request_id pg_catalog.text, created_at pg_catalog.timestamptz)
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
/* One chat turn in one statement, for drivers without pipelining (node-postgres): sets the tenant (when the
   transaction has none), gets or creates the open conversation of (inbox, external_id), appends the message
   (idempotent per p_request_id, as append_message), and returns p_history_limit rows (1 to 1000): first the message of this
   request (for a retried request id, the first call's), then the conversation's other newest messages.
   Sent alone in autocommit it is its own transaction, so the tenant setting ends with it.
   p_tenant_id NULL means the transaction's tenant (none: 42501); a tenant other than the transaction's is
   refused (42501), so it can never switch tenants inside a transaction. Runs as the caller, with a pinned
   search_path (one configuration push per turn, against a whole turn's work). */
#variable_conflict use_column
DECLARE
    v_tenant       pg_catalog.uuid := dom360.current_tenant_id();
    v_conversation pg_catalog.uuid;
    v_message      pg_catalog.int8;
    v_at           pg_catalog.timestamptz;
    v_limit        pg_catalog.int4 := LEAST(GREATEST(COALESCE(p_history_limit, 20), 1), 1000);
BEGIN
    IF p_tenant_id IS NULL THEN
        v_tenant := dom360.require_tenant();  -- fails closed: 42501 when no tenant is set
    ELSIF v_tenant IS NULL THEN
        PERFORM dom360.set_tenant(p_tenant_id);
        v_tenant := p_tenant_id;
    ELSIF v_tenant <> p_tenant_id THEN
        RAISE EXCEPTION 'dom360.chat_turn: tenant % is not the transaction''s tenant', p_tenant_id
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'pass NULL to use the transaction''s tenant, or call it outside a transaction';
    END IF;
    v_conversation := dom360.get_or_create_conversation(p_inbox_id, p_external_id, p_agent_type);
    SELECT a.message_id, a.created_at INTO v_message, v_at
      FROM dom360.append_message(v_conversation, p_role, p_content, p_input_tokens, p_output_tokens,
                                 p_tool_calls, p_metadata, p_request_id) AS a;
    -- first the message of this request (a retried request id: the first call's), then the history before it
    RETURN QUERY
        SELECT v_conversation, m.id, m.message_index, m.role, m.content, m.input_tokens, m.output_tokens,
               m.total_tokens, m.tool_calls, m.metadata, m.request_id, m.created_at
          FROM dom360.messages AS m
         WHERE m.tenant_id = v_tenant AND m.conversation_id = v_conversation AND m.created_at = v_at
           AND m.id = v_message;
    RETURN QUERY
        SELECT v_conversation, r.message_id, r.message_index, r.role, r.content, r.input_tokens, r.output_tokens,
               r.total_tokens, r.tool_calls, r.metadata, r.request_id, r.created_at
          FROM dom360.recent_messages(v_conversation, v_limit) AS r
         WHERE r.message_id <> v_message
         LIMIT v_limit - 1;
END
$$;

{% call privileges('dom360.chat_turn(pg_catalog.uuid, pg_catalog.uuid, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.int4, pg_catalog.int4, pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.text, pg_catalog.text, pg_catalog.int4)', execute=[app_role]) -%}
COMMENT ON FUNCTION dom360.chat_turn(pg_catalog.uuid, pg_catalog.uuid, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.int4, pg_catalog.int4, pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.text, pg_catalog.text, pg_catalog.int4) IS 'One chat turn in one statement (one round trip from drivers without pipelining): sets the tenant when the transaction has none (NULL: the transaction''s tenant; another tenant than the transaction''s raises 42501), gets or creates the open conversation of (inbox, external_id), appends the message (idempotent per p_request_id) and returns p_history_limit rows (1 to 1000), each with the conversation id: first the message of this request (a retried request id: the first call''s), then the conversation''s other newest messages, newest first.';
{%- endcall %}
