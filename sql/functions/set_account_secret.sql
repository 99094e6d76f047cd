{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.set_account_secret(p_name text, p_plaintext text, p_key text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
/* Stores a secret of the current tenant, encrypted: account_vars.<p_name>_enc :=
   encrypt_sensitive_field(p_plaintext, p_key) (key: p_key, else app.encryption_key). A NULL p_plaintext
   removes the secret (no key needed). The secret names are the account_vars columns named *_enc, without
   the suffix; another name raises. Runs as the caller: row-level security confines it to the tenant. */
DECLARE
    v_tenant uuid := dom360.current_tenant_id();
    v_row    jsonb;
BEGIN
    IF v_tenant IS NULL THEN
        PERFORM dom360.raise_no_tenant();  -- fails closed: 42501, the one message (schema/0090)
    END IF;
    SELECT to_jsonb(a) INTO v_row FROM dom360.account_vars AS a WHERE a.tenant_id = v_tenant;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'dom360.set_account_secret: tenant % has no account_vars row', v_tenant
            USING ERRCODE = 'no_data_found';
    END IF;
    IF p_name IS NULL OR p_name !~ '^[a-z][a-z0-9_]*$' OR NOT v_row ? (p_name || '_enc') THEN
        RAISE EXCEPTION 'dom360.set_account_secret: unknown secret %', coalesce(quote_literal(p_name), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'known secrets: ' || (SELECT string_agg(left(k, -4), ', ' ORDER BY k)
                                                 FROM jsonb_object_keys(v_row) AS k WHERE k LIKE '%\_enc');
    END IF;
    EXECUTE format('UPDATE dom360.account_vars SET %I = $1, updated_at = now() WHERE tenant_id = $2', p_name || '_enc')
      USING dom360.encrypt_sensitive_field(p_plaintext, p_key), v_tenant;
END
$$;

{% call privileges('dom360.set_account_secret(text, text, text)', execute=[owner_role, app_role]) -%}
COMMENT ON FUNCTION dom360.set_account_secret(text, text, text) IS 'Stores (encrypted with p_key, else app.encryption_key) or, with a NULL plaintext, removes a secret of the current tenant: p_name is agents_api_token, webhook_secret, or any account_vars column *_enc without the suffix.';
{%- endcall %}
