{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.create_tenant(p_name text, p_slug text)
    RETURNS uuid
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
/* Creates a tenant and its account_vars row with defaults; returns the new tenant id.
   For the owner role and its members (administrators), never for the app role. Row-level security is
   forced even for the owner, so the function sets the new tenant as the transaction's tenant while it
   writes, then restores whatever tenant was set before. */
DECLARE
    v_id       uuid := gen_random_uuid();
    v_previous text := current_setting('app.tenant_id', true);
BEGIN
    PERFORM set_config('app.tenant_id', v_id::text, true);
    INSERT INTO dom360.tenants (id, name, slug) VALUES (v_id, p_name, p_slug);
    INSERT INTO dom360.account_vars (tenant_id) VALUES (v_id);
    PERFORM set_config('app.tenant_id', coalesce(v_previous, ''), true);
    RETURN v_id;
END
$$;

{% call privileges('dom360.create_tenant(text, text)', execute=[owner_role]) -%}
COMMENT ON FUNCTION dom360.create_tenant(text, text) IS 'Administrators only: creates a tenant (name, unique slug) with default account_vars; returns its id.';
{%- endcall %}
