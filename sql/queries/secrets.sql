-- Queries of dom360db.secrets (`dom360db rotate-key`). Keys are always bind parameters, never literals.

-- name: quiet_parameter_logging --
-- Keep the keys out of the server log for this session.
-- Bind parameters (the keys) are logged in full with log_statement = 'all' or a slow statement unless
-- log_parameter_max_length is 0: set it for this session when the role may (superuser, or GRANT SET).
SELECT pg_catalog.set_config(s.name, '0', false)
  FROM unnest(ARRAY['log_parameter_max_length', 'log_parameter_max_length_on_error']) AS s(name)
 WHERE pg_catalog.has_parameter_privilege(s.name, 'SET');

-- name: check_key --
-- Whether the new key can encrypt (fails fast on a bad key).
SELECT dom360.encrypt_sensitive_field('', %(key)s) IS NOT NULL;

-- name: tenant_count --
-- How many tenants there are.
SELECT count(*) FROM dom360.tenant_ids();

-- name: tenant_page --
-- The next page of tenant ids.
SELECT t.id FROM dom360.tenant_ids(%(after)s, %(limit)s) AS t(id);

-- name: rotate --
-- Re-encrypt the tenant's secrets under the new key.
SELECT rotated, already_current FROM dom360.rotate_tenant_secrets(%(old_key)s, %(new_key)s);

-- name: verify --
-- Check that the key decrypts every secret of the tenant.
SELECT checked, failed FROM dom360.verify_tenant_secrets(%(key)s);
