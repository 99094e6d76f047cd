{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.erase_tenant_finish(p_tenant_id uuid)
    RETURNS text
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
/* Last step of erasing a tenant, once dom360.erase_tenant_batch() returns no row: deletes its account_vars
   and its tenant row (both audited by dom360.audit_row_change: the DELETE of the tenant row keeps its id,
   name, slug, status and creation time in the log) and appends an ERASE row. The tenant's audit log is kept:
   it outlives the tenant (schema/0021) until dom360.purge_audit_log(…, p_tenant_id) removes it by age
   (docs/lifecycle.md says why). Raises, changing nothing, while any other row of the tenant remains. Returns
   the erased tenant's slug.
   SECURITY INVOKER, for the owner role and its members; the tenant is set for the call and restored after. */
DECLARE
    v_previous text := current_setting('app.tenant_id', true);
    v_slug     text;
    v_table    text;
    v_left     boolean;
BEGIN
    IF p_tenant_id IS NULL THEN
        RAISE EXCEPTION 'dom360.erase_tenant_finish: tenant id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM set_config('app.tenant_id', p_tenant_id::text, true);
    SELECT t.slug INTO v_slug FROM dom360.tenants AS t WHERE t.id = p_tenant_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'dom360.erase_tenant_finish: unknown tenant %', p_tenant_id USING ERRCODE = 'no_data_found';
    END IF;
    FOR v_table IN
        SELECT r.table_name FROM dom360.tenant_tables() AS r
         WHERE r.table_name NOT IN ('tenants', 'account_vars', 'audit_log')
         ORDER BY r.load_order DESC, r.table_name
    LOOP
        EXECUTE format('SELECT EXISTS (SELECT FROM dom360.%I AS d WHERE d.tenant_id = $1)', v_table)
           INTO v_left USING p_tenant_id;
        IF v_left THEN
            RAISE EXCEPTION 'dom360.erase_tenant_finish: tenant % still has rows in dom360.%', p_tenant_id, v_table
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'call dom360.erase_tenant_batch() until it returns no row (dom360db tenant delete does)';
        END IF;
    END LOOP;
    DELETE FROM dom360.account_vars AS a WHERE a.tenant_id = p_tenant_id;
    DELETE FROM dom360.tenants AS t WHERE t.id = p_tenant_id;
    INSERT INTO dom360.audit_log (tenant_id, actor, table_name, operation, row_key, changes)
    VALUES (p_tenant_id,
            CASE WHEN current_setting('role') = 'none' THEN session_user::text ELSE current_setting('role') END,
            'tenants', 'ERASE', jsonb_build_object('id', p_tenant_id), jsonb_build_object('slug', v_slug));
    PERFORM set_config('app.tenant_id', coalesce(v_previous, ''), true);
    RETURN v_slug;
END
$$;

{% call privileges('dom360.erase_tenant_finish(uuid)', execute=[owner_role]) -%}
COMMENT ON FUNCTION dom360.erase_tenant_finish(uuid) IS 'Owner role and its members (dom360db tenant delete): once dom360.erase_tenant_batch() has left nothing else, deletes the tenant''s account_vars and tenant row and appends an ERASE audit row; the audit log itself is kept. Raises while other rows remain. Returns the slug.';
{%- endcall %}
