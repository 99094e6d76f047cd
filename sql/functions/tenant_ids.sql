{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.tenant_ids(p_after uuid DEFAULT NULL, p_limit integer DEFAULT NULL)
    RETURNS SETOF uuid
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    /* Every tenant id, whatever its status, in order, after p_after (keyset pagination), at most p_limit
       (NULL: all). For cross-tenant maintenance by the owner role and its members (key rotation, audit
       retention), which then work on one tenant at a time, setting app.tenant_id for each: row-level
       security is forced on the owner, so it cannot list the tenants itself. Owned by the analytics role,
       whose policy reads every tenant (and which can read them anyway). */
    SELECT t.id
      FROM dom360.tenants AS t
     WHERE p_after IS NULL OR t.id > p_after
     ORDER BY t.id
     LIMIT p_limit
$$;

-- Owned by the read-only cross-tenant role (as mv_tenant_consumption_summary is, for the same reason).
{% call privileges('dom360.tenant_ids(uuid, integer)', execute=[owner_role], owner=analytics_role) -%}
COMMENT ON FUNCTION dom360.tenant_ids(uuid, integer) IS 'Owner role and its members: every tenant id (any status) in order, after p_after, at most p_limit; for maintenance that visits each tenant in turn (rotate-key, purge_audit_log). SECURITY DEFINER as the analytics role, the one role that reads every tenant.';
{%- endcall %}
