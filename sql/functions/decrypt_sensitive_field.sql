{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.decrypt_sensitive_field(p_ciphertext text, p_key text DEFAULT NULL)
    RETURNS text
    LANGUAGE plpgsql
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
/* Decrypts what dom360.encrypt_sensitive_field() wrote. NULL in, NULL out.
   Key: p_key when given (and then only it). Otherwise the transaction-scoped setting app.encryption_key,
   and, when that key does not open the ciphertext, app.encryption_key_previous if set: during a key
   rotation the backend sets the new key and the previous one, so that both the secrets already
   re-encrypted and those not yet re-encrypted can be read (no downtime).
   No key: invalid_parameter_value. Wrong key, or not a ciphertext of encrypt_sensitive_field: pgcrypto's
   error (integrity check) is caught and re-raised as invalid_authorization_specification with a clear
   message; never garbage. No message names a key or shows the ciphertext. */
DECLARE
    v_current  text := NULLIF(current_setting('app.encryption_key', true), '');
    v_previous text := NULLIF(current_setting('app.encryption_key_previous', true), '');
    v_keys     text[];
    v_key      text;
    v_message  bytea;
BEGIN
    IF p_ciphertext IS NULL THEN
        RETURN NULL;
    END IF;
    v_keys := CASE WHEN p_key IS NOT NULL THEN ARRAY[NULLIF(p_key, '')] ELSE ARRAY[v_current, v_previous] END;
    IF v_keys[1] IS NULL THEN
        RAISE EXCEPTION 'dom360.decrypt_sensitive_field: no encryption key: pass p_key or set app.encryption_key in this transaction'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'SELECT set_config(''app.encryption_key'', $1, true) with the key as a bind parameter, never as a literal';
    END IF;
    v_keys := array_remove(v_keys, NULL);
    BEGIN
        v_message := decode(p_ciphertext, 'base64');
    EXCEPTION WHEN invalid_parameter_value THEN
        RAISE EXCEPTION 'dom360.decrypt_sensitive_field: not a ciphertext of dom360.encrypt_sensitive_field (not base64)'
            USING ERRCODE = 'invalid_authorization_specification';
    END;
    FOREACH v_key IN ARRAY v_keys LOOP
        BEGIN
            RETURN dom360_ext.pgp_sym_decrypt(v_message, v_key);
        EXCEPTION WHEN external_routine_invocation_exception OR character_not_in_repertoire
                       OR untranslatable_character THEN
            NULL;  -- wrong key or corrupt data (pgcrypto's MDC check): try the next key, if any
        END;
    END LOOP;
    RAISE EXCEPTION 'dom360.decrypt_sensitive_field: wrong encryption key, or the ciphertext is corrupt'
        USING ERRCODE = 'invalid_authorization_specification',
              HINT = CASE WHEN p_key IS NULL
                          THEN 'tried app.encryption_key' || CASE WHEN cardinality(v_keys) > 1 THEN ' and app.encryption_key_previous' ELSE '' END
                          ELSE 'tried p_key' END;
END
$$;

{% call privileges('dom360.decrypt_sensitive_field(text, text)', execute=[owner_role, app_role]) -%}
COMMENT ON FUNCTION dom360.decrypt_sensitive_field(text, text) IS 'Decrypts a value written by encrypt_sensitive_field; NULL for NULL. Key: p_key, else the transaction setting app.encryption_key (then app.encryption_key_previous, during a rotation). No key: invalid_parameter_value (22023); wrong key or corrupt ciphertext: invalid_authorization_specification (28000), never garbage.';
{%- endcall %}
