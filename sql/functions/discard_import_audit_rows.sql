{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.discard_import_audit_rows(p_tenant_id uuid)
    RETURNS bigint
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* For dom360db tenant import, before it inserts the imported audit log: deletes the audit rows that the
   import's own INSERTs of the tenant's configuration rows made the audit trigger write, i.e. the rows of
   p_tenant_id written by the current transaction. The imported log already holds the history of those
   rows, as it happened; the import then records itself with one IMPORT row. Returns how many it deleted.
   Refused unless the tenant's row was itself inserted by the current transaction (an import in progress):
   the rows it deletes were never visible to any other transaction, and no committed history can be deleted
   through it. SECURITY DEFINER because only the owner role itself may delete from the append-only log
   (dom360.audit_log_append_only). */
DECLARE
    v_previous text := current_setting('app.tenant_id', true);
    v_count    bigint;
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant_id::text, true);
    IF NOT EXISTS (SELECT FROM dom360.tenants AS t
                    WHERE t.id = p_tenant_id AND t.xmin = pg_current_xact_id()::xid) THEN
        RAISE EXCEPTION 'dom360.discard_import_audit_rows: tenant % was not inserted by this transaction', p_tenant_id
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'only an import in progress may discard the audit rows it wrote itself';
    END IF;
    DELETE FROM dom360.audit_log AS l WHERE l.tenant_id = p_tenant_id AND l.xmin = pg_current_xact_id()::xid;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    PERFORM set_config('app.tenant_id', coalesce(v_previous, ''), true);
    RETURN v_count;
END
$$;

{% call privileges('dom360.discard_import_audit_rows(uuid)', execute=[owner_role]) -%}
COMMENT ON FUNCTION dom360.discard_import_audit_rows(uuid) IS 'Owner role and its members (dom360db tenant import): deletes the audit rows of a tenant inserted by the current transaction, which the import''s own INSERTs wrote, before the imported history is loaded; refused unless the tenant row itself was inserted by this transaction.';
{%- endcall %}
