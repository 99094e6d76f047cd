{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.append_message(
        p_conversation_id uuid,
        p_role            text,
        p_content         text,
        p_input_tokens    integer DEFAULT 0,
        p_output_tokens   integer DEFAULT 0,
        p_tool_calls      jsonb   DEFAULT NULL,
        p_metadata        jsonb   DEFAULT NULL,
        p_request_id      text    DEFAULT NULL)
    RETURNS TABLE (message_id bigint, message_index integer, created_at timestamptz)
    LANGUAGE plpgsql
    VOLATILE
AS $$
/* Stores one message of a conversation of the current tenant and returns its id, number and time.
   The INSERT's trigger does the numbering and the consumption counters (the same as a plain INSERT).
   Idempotent per request id: the id is claimed in message_requests first (ON CONFLICT DO NOTHING
   waits for a concurrent claim to commit), and a retried call returns the first call's row. */
#variable_conflict use_column
DECLARE
    v_tenant       pg_catalog.uuid := dom360.current_tenant_id();
    v_conversation pg_catalog.uuid;
    v_at           pg_catalog.timestamptz;
BEGIN
    IF v_tenant IS NULL THEN
        PERFORM dom360.raise_no_tenant();  -- fails closed: 42501, the one message (schema/0090)
    END IF;
    IF p_request_id IS NOT NULL THEN
        INSERT INTO dom360.message_requests (tenant_id, request_id, conversation_id)
        VALUES (v_tenant, p_request_id, p_conversation_id)
        ON CONFLICT (tenant_id, request_id) DO NOTHING;
        IF NOT FOUND THEN
            SELECT r.conversation_id, r.created_at INTO STRICT v_conversation, v_at
              FROM dom360.message_requests AS r
             WHERE r.tenant_id = v_tenant AND r.request_id = p_request_id;
            IF v_conversation IS DISTINCT FROM p_conversation_id THEN
                RAISE EXCEPTION 'dom360.append_message: request id % was already used for conversation %',
                    p_request_id, v_conversation USING ERRCODE = 'unique_violation';
            END IF;
            RETURN QUERY
                SELECT m.id, m.message_index, m.created_at
                  FROM dom360.messages AS m
                 WHERE m.tenant_id = v_tenant AND m.conversation_id = v_conversation
                   AND m.created_at = v_at AND m.request_id = p_request_id;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY
        INSERT INTO dom360.messages AS m
               (tenant_id, conversation_id, role, content, input_tokens, output_tokens, tool_calls, metadata, request_id)
        VALUES (v_tenant, p_conversation_id, p_role, p_content, p_input_tokens, p_output_tokens,
                p_tool_calls, p_metadata, p_request_id)
        RETURNING m.id, m.message_index, m.created_at;
END
$$;

{% call privileges('dom360.append_message(uuid, text, text, integer, integer, jsonb, jsonb, text)', execute=[app_role]) -%}
COMMENT ON FUNCTION dom360.append_message(uuid, text, text, integer, integer, jsonb, jsonb, text) IS 'Stores a message (role user|assistant|system|tool) in a conversation of the current tenant; returns (message_id, message_index, created_at). A retried call with the same p_request_id returns the first call''s row and writes nothing.';
{%- endcall %}
