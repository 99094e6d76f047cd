{% from "functions/_privileges.jinja" import privileges with context -%}
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
{% if citus %}    /* The current tenant's agent settings (one row; no tenant set raises). Citus variant: the row is read on
       its shard (the tenant bound, one shard), the secrets decrypted here on the coordinator, where the
       transaction's app.encryption_key is set (set_config does not reach the workers). */
    #variable_conflict use_column
DECLARE
    v_tenant  pg_catalog.uuid := dom360.require_tenant();  -- fails closed: 42501 when no tenant is set
    v_key_set pg_catalog.bool := NULLIF(pg_catalog.current_setting('app.encryption_key', true), '') IS NOT NULL;
    v_row     dom360.account_vars;
BEGIN
    SELECT a.* INTO v_row FROM dom360.account_vars AS a WHERE a.tenant_id = v_tenant;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT v_row.tenant_id, v_row.agents_endpoint_url, v_row.agents_timeout_ms, v_row.default_agent_type,
           v_row.rag_enabled, v_row.rag_top_k, v_row.updated_at,
           CASE WHEN v_key_set THEN dom360.decrypt_sensitive_field(v_row.agents_api_token_enc) END,
           CASE WHEN v_key_set THEN dom360.decrypt_sensitive_field(v_row.webhook_secret_enc) END,
           ARRAY(SELECT pg_catalog.left(s.key, -4)
                   FROM pg_catalog.jsonb_each(pg_catalog.to_jsonb(v_row)) AS s
                  WHERE s.key LIKE '%\_enc' AND s.value <> 'null'::pg_catalog.jsonb
                  ORDER BY s.key);
END
{% else %}    /* The current tenant's agent settings (one row; no tenant set raises). The secrets come back
       decrypted only when the transaction has set app.encryption_key (a wrong key raises, never garbage);
       otherwise they are NULL. secrets_present always names the secrets the tenant has (the non-NULL
       account_vars columns *_enc, without the suffix), so a caller without the key knows what is set. */
    SELECT dom360.require_tenant();  -- fails closed: 42501 when no tenant is set (a statement of its own: always run)
    SELECT a.tenant_id, a.agents_endpoint_url, a.agents_timeout_ms, a.default_agent_type, a.rag_enabled,
           a.rag_top_k, a.updated_at,
           CASE WHEN k.key_set THEN dom360.decrypt_sensitive_field(a.agents_api_token_enc) END,
           CASE WHEN k.key_set THEN dom360.decrypt_sensitive_field(a.webhook_secret_enc) END,
           ARRAY(SELECT left(s.key, -4)
                   FROM jsonb_each(to_jsonb(a)) AS s
                  WHERE s.key LIKE '%\_enc' AND s.value <> 'null'::jsonb
                  ORDER BY s.key)
      FROM dom360.account_vars AS a
     CROSS JOIN (SELECT NULLIF(current_setting('app.encryption_key', true), '') IS NOT NULL AS key_set) AS k
     WHERE a.tenant_id = dom360.current_tenant_id()
{% endif %}$$;

{% call privileges('dom360.get_tenant_config()', execute=[app_role]) -%}
COMMENT ON FUNCTION dom360.get_tenant_config() IS 'The current tenant''s agent configuration from account_vars (endpoint, timeout, default agent type, RAG options), then its secrets: agents_api_token and webhook_secret decrypted when app.encryption_key is set in the transaction (else NULL), and secrets_present, the names of the secrets it has.';
{%- endcall %}
