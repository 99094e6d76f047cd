{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.set_tenant(p_tenant_id uuid)
    RETURNS void
    LANGUAGE plpgsql
    VOLATILE
AS $$
/* Sets the tenant of the current transaction (set_config(..., is_local => true)): it ends with the
   transaction, so a pooled connection never carries it to the next client. Refuses NULL, unknown and
   inactive tenants. The existence check runs under the caller's own row-level security, after the
   setting is made: a tenant id the caller could not otherwise see is never confirmed. */
DECLARE
    v_status pg_catalog.text;
    v_set    pg_catalog.text;
BEGIN
    IF p_tenant_id IS NULL THEN
        RAISE EXCEPTION 'dom360.set_tenant: tenant id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- An assignment, not PERFORM: PL/pgSQL evaluates it as a simple expression, without a trip through the
    -- executor (PERFORM runs a SELECT); set_tenant starts every transaction.
{% if citus %}    -- Citus: only SET LOCAL reaches the workers (citus.propagate_set_commands = 'local', set for this
    -- database by migrate); set_config() does not. The shards' row-level security reads it there.
    EXECUTE format('SET LOCAL app.tenant_id = %L', p_tenant_id::pg_catalog.text);
{% else %}    v_set := set_config('app.tenant_id', p_tenant_id::pg_catalog.text, true);
{% endif %}    SELECT t.status INTO v_status FROM dom360.tenants AS t WHERE t.id = p_tenant_id;
    IF v_status IS NULL THEN
{% if citus %}        SET LOCAL app.tenant_id = '';
{% else %}        v_set := set_config('app.tenant_id', '', true);
{% endif %}        RAISE EXCEPTION 'dom360.set_tenant: unknown tenant %', p_tenant_id USING ERRCODE = 'no_data_found';
    ELSIF v_status <> 'active' THEN
{% if citus %}        SET LOCAL app.tenant_id = '';
{% else %}        v_set := set_config('app.tenant_id', '', true);
{% endif %}        RAISE EXCEPTION 'dom360.set_tenant: tenant % is %', p_tenant_id, v_status USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$$;

{% call privileges('dom360.set_tenant(uuid)', execute=[app_role, analytics_role]) -%}
COMMENT ON FUNCTION dom360.set_tenant(uuid) IS 'Start of every backend transaction: BEGIN; SELECT dom360.set_tenant($1); … COMMIT. Transaction-scoped; raises for NULL, unknown or inactive tenants.';
{%- endcall %}
