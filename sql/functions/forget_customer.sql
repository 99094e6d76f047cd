{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.forget_customer(p_external_id text)
    RETURNS TABLE (conversations integer, messages bigint)
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* Erases one customer (a data subject, LGPD art. 18 VI / GDPR art. 17) of the current tenant: every
   conversation whose external_id is p_external_id, in every inbox, with their messages (content, metadata,
   tool calls) in every partition, the default one included, their request ids and their funnel stages.
   Returns how many conversations and messages were erased, and appends one FORGET row to the audit log with
   those two figures only: the identifier itself is the personal data being erased and is never copied.
   Kept, by decision (docs/lifecycle.md): the consumption counters, which are billing figures (messages and
   tokens per inbox, UTC day and agent type, no content, no customer) and feed the monthly summary, so
   usage and cost stay what was billed; analytics read from messages and conversations (response times,
   funnel) then no longer include the customer.
   Fails closed: no tenant set, no erase. Only the transaction's tenant is touched: row-level security is
   forced on the owner too, and every statement names the tenant. The conversations are locked first, so a
   message being appended concurrently either commits before (and is erased) or waits and then fails.
   SECURITY DEFINER because the app may not delete messages nor write the audit log. */
DECLARE
    v_tenant   uuid := dom360.current_tenant_id();
    v_ids      uuid[];
    v_messages bigint := 0;
    v_count    integer := 0;
BEGIN
    IF v_tenant IS NULL THEN
        PERFORM dom360.raise_no_tenant();  -- the one "no tenant set" error of every app-facing function
    END IF;
    IF p_external_id IS NULL OR p_external_id = '' THEN
        RAISE EXCEPTION 'dom360.forget_customer: the customer''s external id must not be empty'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT FROM dom360.tenants AS t WHERE t.id = v_tenant) THEN
        RAISE EXCEPTION 'dom360.forget_customer: unknown tenant %', v_tenant USING ERRCODE = 'no_data_found';
    END IF;

    SELECT array_agg(l.id ORDER BY l.id) INTO v_ids
      FROM (SELECT c.id FROM dom360.conversations AS c
             WHERE c.tenant_id = v_tenant AND c.external_id = p_external_id
             ORDER BY c.id
               FOR UPDATE) AS l;
    IF v_ids IS NOT NULL THEN
        DELETE FROM dom360.messages AS m WHERE m.tenant_id = v_tenant AND m.conversation_id = ANY (v_ids);
        GET DIAGNOSTICS v_messages = ROW_COUNT;
        DELETE FROM dom360.message_requests AS r WHERE r.tenant_id = v_tenant AND r.conversation_id = ANY (v_ids);
        DELETE FROM dom360.conversation_stages AS s WHERE s.tenant_id = v_tenant AND s.conversation_id = ANY (v_ids);
        -- the trigger that keeps conversations with messages refuses the DELETE while the counter says so
        UPDATE dom360.conversations AS c SET message_count = 0
         WHERE c.tenant_id = v_tenant AND c.id = ANY (v_ids) AND c.message_count <> 0;
        DELETE FROM dom360.conversations AS c WHERE c.tenant_id = v_tenant AND c.id = ANY (v_ids);
        GET DIAGNOSTICS v_count = ROW_COUNT;
    END IF;

    INSERT INTO dom360.audit_log (tenant_id, actor, table_name, operation, row_key, changes)
    VALUES (v_tenant,
            CASE WHEN current_setting('role') = 'none' THEN session_user::text ELSE current_setting('role') END,
            'conversations', 'FORGET', '{}',
            jsonb_build_object('conversations', v_count, 'messages', v_messages));
    RETURN QUERY SELECT v_count, v_messages;
END
$$;

{% call privileges('dom360.forget_customer(text)', execute=[app_role, owner_role]) -%}
COMMENT ON FUNCTION dom360.forget_customer(text) IS 'App, owner: erases one customer (external_id) of the current tenant: its conversations in every inbox, their messages in every partition, request ids and stages; keeps the consumption counters (billing figures). Returns (conversations, messages) and appends a FORGET audit row with those counts only (never the identifier). Raises when no tenant is set.';
{%- endcall %}
