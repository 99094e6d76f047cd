CREATE OR REPLACE FUNCTION dom360.get_tenant_config()
    RETURNS TABLE (tenant_id uuid, agents_endpoint_url text, agents_timeout_ms integer, default_agent_type text,
                   rag_enabled boolean, rag_top_k integer, updated_at timestamptz)
    LANGUAGE sql
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    /* The current tenant's agent settings (one row; none when no tenant is set). */
    SELECT a.tenant_id, a.agents_endpoint_url, a.agents_timeout_ms, a.default_agent_type, a.rag_enabled,
           a.rag_top_k, a.updated_at
      FROM dom360.account_vars AS a
     WHERE a.tenant_id = dom360.current_tenant_id()
$$;

ALTER FUNCTION dom360.get_tenant_config() OWNER TO {{ owner_role | ident }};
COMMENT ON FUNCTION dom360.get_tenant_config() IS 'The current tenant''s agent configuration from account_vars (endpoint, timeout, default agent type, RAG options).';
REVOKE ALL ON FUNCTION dom360.get_tenant_config() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dom360.get_tenant_config() TO {{ app_role | ident }};
