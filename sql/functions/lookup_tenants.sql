{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.lookup_tenants(p_slug text, p_id uuid DEFAULT NULL)
    RETURNS TABLE (id uuid, slug text, name text, status text)
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    /* The tenants whose slug is p_slug or whose id is p_id (any status): how the owner role and its
       members find a tenant by its slug (dom360db tenant …) or check that an import would not collide,
       although row-level security, forced on the owner, hides every tenant until one is set. Owned by the
       analytics role, the one role that reads every tenant, as dom360.tenant_ids() is. */
    SELECT t.id, t.slug, t.name, t.status
      FROM dom360.tenants AS t
     WHERE t.slug = p_slug OR t.id = p_id
     ORDER BY t.id
$$;

-- Owned by the read-only cross-tenant role (as dom360.tenant_ids is, for the same reason).
{% call privileges('dom360.lookup_tenants(text, uuid)', execute=[owner_role], owner=analytics_role) -%}
COMMENT ON FUNCTION dom360.lookup_tenants(text, uuid) IS 'Owner role and its members: the tenants (id, slug, name, status; any status) with slug p_slug or id p_id. SECURITY DEFINER as the analytics role, which reads every tenant; for dom360db tenant export, import, delete and forget-customer.';
{%- endcall %}
