-- Queries of dom360db.secrets (`dom360db rotate-key`). Keys are always bind parameters, never literals.

-- quiet_parameter_logging --
-- Bind parameters (the keys) are logged in full with log_statement = 'all' or a slow statement unless
-- log_parameter_max_length is 0: set it for this session when the role may (superuser, or GRANT SET).
SELECT pg_catalog.set_config(s.name, '0', false)
  FROM unnest(ARRAY['log_parameter_max_length', 'log_parameter_max_length_on_error']) AS s(name)
 WHERE pg_catalog.has_parameter_privilege(s.name, 'SET');

-- check_key --
SELECT dom360.encrypt_sensitive_field('', %(key)s) IS NOT NULL;

-- tenant_count --
SELECT count(*) FROM dom360.tenant_ids();

-- tenant_page --
SELECT t.id FROM dom360.tenant_ids(%(after)s, %(limit)s) AS t(id);

-- set_tenant --
-- Not dom360.set_tenant(): it refuses suspended and closed tenants, whose secrets are rotated too.
SELECT pg_catalog.set_config('app.tenant_id', %(tenant_id)s::text, true);

-- rotate --
SELECT rotated, already_current FROM dom360.rotate_tenant_secrets(%(old_key)s, %(new_key)s);

-- verify --
SELECT checked, failed FROM dom360.verify_tenant_secrets(%(key)s);
