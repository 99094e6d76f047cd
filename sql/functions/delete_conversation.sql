CREATE OR REPLACE FUNCTION dom360.delete_conversation(p_conversation_id pg_catalog.uuid)
    RETURNS boolean
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* Deletes a conversation of the current tenant that has no message (one with messages is refused by the trigger
   conversations_keep_messages_delete: close it instead); returns whether one was deleted. The app deletes
   conversations only through this function: table-level DELETE would also let it `LOCK TABLE dom360.conversations
   IN ACCESS EXCLUSIVE MODE`, which stalls every tenant's append_message (docs/security.md). Row-level security is
   forced on the owner too, so only the transaction's tenant's rows are reachable. */
BEGIN
    IF dom360.current_tenant_id() IS NULL THEN
        RAISE EXCEPTION 'dom360.delete_conversation: no tenant set: call dom360.set_tenant() first in this transaction'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM dom360.conversations AS c
     WHERE c.tenant_id = dom360.current_tenant_id() AND c.id = p_conversation_id;
    RETURN FOUND;
END
$$;

ALTER FUNCTION dom360.delete_conversation(uuid) OWNER TO {{ owner_role | ident }};
COMMENT ON FUNCTION dom360.delete_conversation(uuid) IS 'Deletes a conversation of the current tenant that has no message (one with messages raises foreign_key_violation: close it instead); true when one was deleted. The app''s only way to delete a conversation (no DELETE privilege: it would let it LOCK the table against every tenant).';
REVOKE ALL ON FUNCTION dom360.delete_conversation(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dom360.delete_conversation(uuid) TO {{ app_role | ident }};
