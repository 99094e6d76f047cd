SET LOCAL ROLE {{ owner_role | ident }};

-- Secrets of a tenant (credentials its agents use), stored only encrypted: each is a column named
-- <secret>_enc holding the output of dom360.encrypt_sensitive_field(). The naming convention is the
-- contract: get_tenant_config() reports them, set_account_secret() writes them, rotate_tenant_secrets()
-- and verify_tenant_secrets() re-encrypt and check them, the audit trigger redacts them. A new secret is
-- a new versioned file adding a <name>_enc column with the same CHECK.
--
-- The CHECK refuses anything that is not such a ciphertext (a plaintext token written by mistake):
-- base64 of an OpenPGP message whose first packet is a symmetric-key session key packet for AES-256 with
-- an iterated and salted SHA-256 S2K (bytes C3 0D 04 09 03 08 = 'ww0ECQMI' in base64), as
-- encrypt_sensitive_field() writes it.
ALTER TABLE dom360.account_vars
    ADD COLUMN agents_api_token_enc text
        CONSTRAINT account_vars_agents_api_token_enc_check CHECK (agents_api_token_enc ~ '^ww0ECQMI[A-Za-z0-9+/]{60,}={0,2}$'),
    ADD COLUMN webhook_secret_enc text
        CONSTRAINT account_vars_webhook_secret_enc_check CHECK (webhook_secret_enc ~ '^ww0ECQMI[A-Za-z0-9+/]{60,}={0,2}$');

COMMENT ON COLUMN dom360.account_vars.agents_api_token_enc IS 'Secret: the token the backend sends to the Agent API, encrypted (dom360.encrypt_sensitive_field: base64 of pgp_sym_encrypt, AES-256). Written with dom360.set_account_secret(''agents_api_token'', …); read decrypted through dom360.get_tenant_config() with app.encryption_key set. NULL: none. Redacted in audit_log.';
COMMENT ON COLUMN dom360.account_vars.webhook_secret_enc IS 'Secret: the key that signs webhooks sent to or received from the tenant, encrypted like agents_api_token_enc. Written with dom360.set_account_secret(''webhook_secret'', …). NULL: none. Redacted in audit_log.';
