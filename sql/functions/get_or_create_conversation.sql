{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.get_or_create_conversation(p_inbox_id uuid, p_external_id text,
                                                             p_agent_type text DEFAULT NULL)
    RETURNS uuid
    LANGUAGE plpgsql
    VOLATILE
AS $$
/* The open conversation of (current tenant, inbox, external_id), created when there is none.
   Concurrent callers get the same id: the partial unique index conversations_open_key lets one INSERT
   win; ON CONFLICT DO NOTHING makes the others wait for it and then read its row (READ COMMITTED takes
   a new snapshot per statement). Runs as the caller: row-level security decides what exists. */
DECLARE
    v_tenant pg_catalog.uuid := dom360.current_tenant_id();
    v_id     pg_catalog.uuid;
BEGIN
    IF v_tenant IS NULL THEN
        PERFORM dom360.raise_no_tenant();  -- fails closed: 42501, the one message (schema/0090)
    END IF;
    SELECT c.id INTO v_id
      FROM dom360.conversations AS c
     WHERE c.tenant_id = v_tenant AND c.inbox_id = p_inbox_id AND c.external_id = p_external_id AND c.status = 'open';
    IF FOUND THEN
        RETURN v_id;
    END IF;
    IF NOT EXISTS (SELECT FROM dom360.inboxes AS i WHERE i.tenant_id = v_tenant AND i.id = p_inbox_id) THEN
        RAISE EXCEPTION 'dom360.get_or_create_conversation: inbox % not found for the current tenant', p_inbox_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- checked here rather than left to the table's CHECK, whose error names a constraint, not the value
    IF p_agent_type IS NOT NULL AND p_agent_type NOT IN ('SDR', 'COPILOT') THEN
        RAISE EXCEPTION 'dom360.get_or_create_conversation: unknown agent type %', pg_catalog.quote_literal(p_agent_type)
            USING ERRCODE = 'check_violation',
                  HINT = 'agent type is SDR or COPILOT, or NULL for the tenant''s default_agent_type';
    END IF;
    INSERT INTO dom360.conversations AS c (tenant_id, inbox_id, external_id, agent_type)
    VALUES (v_tenant, p_inbox_id, p_external_id, p_agent_type)
    ON CONFLICT (tenant_id, inbox_id, external_id) WHERE status = 'open' DO NOTHING
    RETURNING c.id INTO v_id;
    IF v_id IS NULL THEN
        SELECT c.id INTO STRICT v_id
          FROM dom360.conversations AS c
         WHERE c.tenant_id = v_tenant AND c.inbox_id = p_inbox_id AND c.external_id = p_external_id AND c.status = 'open';
    END IF;
    RETURN v_id;
END
$$;

{% call privileges('dom360.get_or_create_conversation(uuid, text, text)', execute=[app_role]) -%}
COMMENT ON FUNCTION dom360.get_or_create_conversation(uuid, text, text) IS 'The open conversation of (current tenant, inbox, external customer id), created when none; concurrent callers get the same id. Raises for an inbox that is not the tenant''s.';
{%- endcall %}
