-- The result type gained columns: CREATE OR REPLACE cannot change it, so the function is dropped and
-- created again (nothing depends on it; its grants are restated below).
DROP FUNCTION IF EXISTS dom360.get_tenant_config();

CREATE FUNCTION dom360.get_tenant_config()
    RETURNS TABLE (tenant_id uuid, agents_endpoint_url text, agents_timeout_ms integer, default_agent_type text,
                   rag_enabled boolean, rag_top_k integer, updated_at timestamptz,
                   agents_api_token text, webhook_secret text, secrets_present text[])
    LANGUAGE {{ 'plpgsql' if citus else 'sql' }}
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    /* The current tenant's agent settings (one row; no tenant set raises). The secrets come back
       decrypted only when the transaction has set app.encryption_key (a wrong key raises, never garbage);
       otherwise they are NULL. secrets_present always names the secrets the tenant has (the non-NULL
       account_vars columns *_enc, without the suffix), so a caller without the key knows what is set. */
{% if citus %}    -- Citus: PL/pgSQL, so that the tenant is a bound parameter: the statement is routed to the tenant's shard
    -- (dom360.current_tenant_id() in the WHERE clause would send it to every shard).
    #variable_conflict use_column
DECLARE
    v_tenant pg_catalog.uuid := dom360.require_tenant();  -- fails closed: 42501 when no tenant is set
BEGIN
    RETURN QUERY
{% else %}    SELECT dom360.require_tenant();  -- fails closed: 42501 when no tenant is set (a statement of its own: always run)
{% endif %}    SELECT a.tenant_id, a.agents_endpoint_url, a.agents_timeout_ms, a.default_agent_type, a.rag_enabled,
           a.rag_top_k, a.updated_at,
           CASE WHEN k.key_set THEN dom360.decrypt_sensitive_field(a.agents_api_token_enc) END,
           CASE WHEN k.key_set THEN dom360.decrypt_sensitive_field(a.webhook_secret_enc) END,
           ARRAY(SELECT left(s.key, -4)
                   FROM jsonb_each(to_jsonb(a)) AS s
                  WHERE s.key LIKE '%\_enc' AND s.value <> 'null'::jsonb
                  ORDER BY s.key)
      FROM dom360.account_vars AS a
     CROSS JOIN (SELECT NULLIF(current_setting('app.encryption_key', true), '') IS NOT NULL AS key_set) AS k
     WHERE a.tenant_id = {{ 'v_tenant' if citus else 'dom360.current_tenant_id()' }}{% if citus %};
END{% endif %}
$$;

ALTER FUNCTION dom360.get_tenant_config() OWNER TO {{ owner_role | ident }};
COMMENT ON FUNCTION dom360.get_tenant_config() IS 'The current tenant''s agent configuration from account_vars (endpoint, timeout, default agent type, RAG options), then its secrets: agents_api_token and webhook_secret decrypted when app.encryption_key is set in the transaction (else NULL), and secrets_present, the names of the secrets it has.';
REVOKE ALL ON FUNCTION dom360.get_tenant_config() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dom360.get_tenant_config() TO {{ app_role | ident }};
