{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.conversations_keep_messages()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
/* Triggers of dom360.conversations, standing in for the foreign keys that dom360.messages does not carry
   (bench/: they cost a query per message). Fired only when their WHEN clause sees a violation, so the
   messages trigger's own counter update never calls this function:
   - a conversation with messages cannot be deleted (close it: status = 'closed') nor re-keyed (id,
     tenant, inbox: its messages and counters were derived from them).
   message_count (the numbering counter) is guarded by privileges instead: the app role may update every
   column but that one (policies/conversations.sql), so only the messages trigger (the owner) moves it.
   The UPDATE trigger is not fired by the messages trigger's own UPDATE (it sets none of id, tenant_id,
   inbox_id): no WHEN clause to parse and plan on every message. */
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'dom360.conversations: conversation % has % message(s): close it instead of deleting it',
            OLD.id, OLD.message_count USING ERRCODE = 'foreign_key_violation';
    END IF;
    RAISE EXCEPTION 'dom360.conversations: conversation % has messages: its id, tenant and inbox cannot change', OLD.id
        USING ERRCODE = 'foreign_key_violation';
END
$$;

{% call privileges('dom360.conversations_keep_messages()') -%}
COMMENT ON FUNCTION dom360.conversations_keep_messages() IS 'Trigger of dom360.conversations: refuses to delete or re-key a conversation that has messages (message_count is guarded by column privileges).';
{%- endcall %}

DROP TRIGGER IF EXISTS conversations_keep_messages_delete ON dom360.conversations;
CREATE TRIGGER conversations_keep_messages_delete
    BEFORE DELETE ON dom360.conversations
    FOR EACH ROW WHEN (OLD.message_count > 0)
    EXECUTE FUNCTION dom360.conversations_keep_messages();

DROP TRIGGER IF EXISTS conversations_keep_messages_update ON dom360.conversations;
CREATE TRIGGER conversations_keep_messages_update
    BEFORE UPDATE OF id, tenant_id, inbox_id ON dom360.conversations
    FOR EACH ROW WHEN (
        OLD.message_count > 0 AND (NEW.id <> OLD.id OR NEW.tenant_id <> OLD.tenant_id OR NEW.inbox_id <> OLD.inbox_id))
    EXECUTE FUNCTION dom360.conversations_keep_messages();
