{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.encrypt_sensitive_field(p_plaintext text, p_key text DEFAULT NULL)
    RETURNS text
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
/* Encrypts a secret for storage: base64 (one line) of an OpenPGP symmetric message (pgcrypto's
   pgp_sym_encrypt). NULL in, NULL out. The options are deliberate:
   - cipher-algo=aes256: AES with a 256-bit key;
   - s2k-mode=3, s2k-digest-algo=sha256: the key is derived with an iterated and salted SHA-256 (a new random
     salt per call, so one secret encrypted twice gives two unrelated ciphertexts);
   - s2k-count=65536: the key must be a random machine secret of at least 32 characters (`openssl rand
     -base64 32`), which no amount of iteration would make stronger; a high count would cost milliseconds
     on every chat turn (get_tenant_config decrypts on each call);
   - compress-algo=0: no compression, whose output length would leak information about the plaintext;
   - integrity protection (MDC) stays on (pgcrypto's default): a wrong key or tampered ciphertext is an
     error on decryption, never garbage.
   The key is p_key, else the transaction-scoped setting app.encryption_key. No error message names it. */
DECLARE
    v_key text := coalesce(p_key, NULLIF(current_setting('app.encryption_key', true), ''));
BEGIN
    IF p_plaintext IS NULL THEN
        RETURN NULL;
    END IF;
    IF v_key IS NULL OR v_key = '' THEN
        RAISE EXCEPTION 'dom360.encrypt_sensitive_field: no encryption key: pass p_key or set app.encryption_key in this transaction'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'SELECT set_config(''app.encryption_key'', $1, true) with the key as a bind parameter, never as a literal';
    END IF;
    IF length(v_key) < 32 THEN
        RAISE EXCEPTION 'dom360.encrypt_sensitive_field: the encryption key is too short (at least 32 characters)'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'use a random key, such as the output of: openssl rand -base64 32';
    END IF;
    RETURN translate(encode(dom360_ext.pgp_sym_encrypt(p_plaintext, v_key,
                                                   'cipher-algo=aes256, s2k-mode=3, s2k-digest-algo=sha256, '
                                                   's2k-count=65536, compress-algo=0'),
                            'base64'),
                     E'\n', '');
END
$$;

{% call privileges('dom360.encrypt_sensitive_field(text, text)', execute=[owner_role, app_role]) -%}
COMMENT ON FUNCTION dom360.encrypt_sensitive_field(text, text) IS 'Encrypts a secret (AES-256, iterated salted SHA-256 key derivation, integrity-protected OpenPGP message) and returns it as one line of base64; NULL for NULL. Key: p_key, else the transaction setting app.encryption_key (at least 32 characters); none: an error. Pass the key as a bind parameter, never as a literal.';
{%- endcall %}
