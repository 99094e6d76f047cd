{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.rotate_tenant_secrets(p_old_key text, p_new_key text)
    RETURNS TABLE (rotated integer, already_current integer)
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
/* Re-encrypts the secrets of the current tenant (the account_vars columns *_enc) from p_old_key to
   p_new_key, in one UPDATE of its row, in the caller's transaction: `dom360db rotate-key` commits once per
   tenant, so each tenant is rotated completely or not at all.
   Idempotent, hence resumable after an interruption: a secret that already decrypts with the new key is
   left alone (already_current), whoever encrypted it (an earlier run, or a backend already writing with
   the new key). The row is locked first (FOR UPDATE), so a concurrent set_account_secret either commits
   before (and is seen here) or waits and then writes over the rotated row (its own value wins, whole).
   A secret that decrypts with neither key raises, naming the tenant and the secret (never a key). */
DECLARE
    v_tenant   uuid := dom360.current_tenant_id();
    v_row      jsonb;
    v_secret   record;
    v_current  boolean;
    v_plain    text;
    v_patch    jsonb := '{}';
    v_already  integer := 0;
BEGIN
    IF v_tenant IS NULL THEN
        PERFORM dom360.raise_no_tenant();  -- fails closed: 42501, the one message (schema/0090)
    END IF;
    IF NULLIF(p_old_key, '') IS NULL OR NULLIF(p_new_key, '') IS NULL THEN
        RAISE EXCEPTION 'dom360.rotate_tenant_secrets: both the old and the new key are required'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_old_key = p_new_key THEN
        RAISE EXCEPTION 'dom360.rotate_tenant_secrets: the new key is the old key'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT to_jsonb(a) INTO v_row FROM dom360.account_vars AS a WHERE a.tenant_id = v_tenant FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 0, 0;
        RETURN;
    END IF;
    FOR v_secret IN
        SELECT s.key AS name, s.value AS ciphertext
          FROM jsonb_each_text(v_row) AS s
         WHERE s.key LIKE '%\_enc' AND s.value IS NOT NULL
         ORDER BY s.key
    LOOP
        BEGIN
            PERFORM dom360.decrypt_sensitive_field(v_secret.ciphertext, p_new_key);
            v_current := true;
        EXCEPTION WHEN invalid_authorization_specification THEN
            v_current := false;
        END;
        IF v_current THEN
            v_already := v_already + 1;
        ELSE
            BEGIN
                v_plain := dom360.decrypt_sensitive_field(v_secret.ciphertext, p_old_key);
            EXCEPTION WHEN invalid_authorization_specification THEN
                RAISE EXCEPTION 'dom360.rotate_tenant_secrets: secret % of tenant % decrypts with neither the old nor the new key',
                    left(v_secret.name, -4), v_tenant
                    USING ERRCODE = 'invalid_authorization_specification';
            END;
            v_patch := v_patch || jsonb_build_object(v_secret.name, dom360.encrypt_sensitive_field(v_plain, p_new_key));
        END IF;
    END LOOP;
    IF v_patch <> '{}'::jsonb THEN
        EXECUTE format('UPDATE dom360.account_vars SET %s WHERE tenant_id = $2',
                       (SELECT string_agg(format('%I = $1->>%L', k, k), ', ') FROM jsonb_object_keys(v_patch) AS k))
          USING v_patch, v_tenant;
    END IF;
    RETURN QUERY SELECT (SELECT count(*) FROM jsonb_object_keys(v_patch))::integer, v_already;
END
$$;

{% call privileges('dom360.rotate_tenant_secrets(text, text)', execute=[owner_role]) -%}
COMMENT ON FUNCTION dom360.rotate_tenant_secrets(text, text) IS 'Administrators (dom360db rotate-key): re-encrypts the current tenant''s secrets from the old to the new key in one UPDATE; returns how many were re-encrypted and how many already decrypted with the new key (skipped: resumable). Raises for a secret neither key opens.';
{%- endcall %}
