{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.verify_tenant_secrets(p_key text)
    RETURNS TABLE (checked integer, failed text[])
    LANGUAGE plpgsql
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
/* Checks that every secret of the current tenant (the account_vars columns *_enc that are not NULL)
   decrypts with p_key; returns how many were checked and the names of those that do not. Writes nothing. */
DECLARE
    v_tenant  uuid := dom360.current_tenant_id();
    v_secret  record;
    v_checked integer := 0;
    v_failed  text[] := '{}';
BEGIN
    IF v_tenant IS NULL THEN
        PERFORM dom360.raise_no_tenant();  -- fails closed: 42501, the one message (schema/0090)
    END IF;
    IF NULLIF(p_key, '') IS NULL THEN
        RAISE EXCEPTION 'dom360.verify_tenant_secrets: a key is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR v_secret IN
        SELECT s.key AS name, s.value AS ciphertext
          FROM dom360.account_vars AS a
         CROSS JOIN LATERAL jsonb_each_text(to_jsonb(a)) AS s
         WHERE a.tenant_id = v_tenant AND s.key LIKE '%\_enc' AND s.value IS NOT NULL
         ORDER BY s.key
    LOOP
        v_checked := v_checked + 1;
        BEGIN
            PERFORM dom360.decrypt_sensitive_field(v_secret.ciphertext, p_key);
        EXCEPTION WHEN invalid_authorization_specification THEN
            v_failed := v_failed || left(v_secret.name, -4);
        END;
    END LOOP;
    RETURN QUERY SELECT v_checked, v_failed;
END
$$;

{% call privileges('dom360.verify_tenant_secrets(text)', execute=[owner_role]) -%}
COMMENT ON FUNCTION dom360.verify_tenant_secrets(text) IS 'Administrators (dom360db rotate-key --verify): how many secrets of the current tenant were checked, and the names of those that do not decrypt with p_key. Writes nothing.';
{%- endcall %}
