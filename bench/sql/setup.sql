-- name: schema --
-- The bench's own schema: the bare twin of dom360.messages and the lookup tables of the pgbench scripts.
CREATE SCHEMA {twin}

-- name: schema_comment --
-- What the schema holds.
COMMENT ON SCHEMA {twin} IS 'bench/run.py: the bare twin of dom360.messages and the lookup tables of the pgbench scripts.'

-- name: state --
-- The parameters of the loaded history (key 'load'), compared by --reuse.
CREATE TABLE {twin}.state (key text PRIMARY KEY, value jsonb NOT NULL)

-- name: tenants --
-- Tenant n, its id from create_tenant() and its inbox.
CREATE TABLE {twin}.tenants (n integer PRIMARY KEY, tenant_id uuid NOT NULL UNIQUE, inbox_id uuid NOT NULL)

-- name: create_tenants --
-- The tenants through create_tenant(), the administrators' path (the superuser may call it).
INSERT INTO {twin}.tenants (n, tenant_id, inbox_id)
SELECT g.n, dom360.create_tenant('Bench tenant ' || g.n, 'bench-' || g.n), gen_random_uuid()
  FROM generate_series(1, %(tenants)s) AS g(n)

-- name: inboxes --
-- One inbox per tenant (the superuser bypasses row-level security: explicit tenant_id).
INSERT INTO dom360.inboxes (tenant_id, id, name, channel)
SELECT t.tenant_id, t.inbox_id, 'Site chat', 'web' FROM {twin}.tenants AS t

-- name: targets --
-- The conversations the writes go to, by number.
CREATE TABLE {twin}.targets (n integer PRIMARY KEY, tenant_id uuid NOT NULL, inbox_id uuid NOT NULL,
                             conversation_id uuid NOT NULL UNIQUE)

-- name: targets_b --
-- (b): per_tenant open conversations in every tenant's inbox, n = 1 .. tenants * per_tenant.
INSERT INTO {twin}.targets (n, tenant_id, inbox_id, conversation_id)
SELECT (t.n - 1) * %(per_tenant)s + k, t.tenant_id, t.inbox_id, gen_random_uuid()
  FROM {twin}.tenants AS t CROSS JOIN generate_series(1, %(per_tenant)s) AS k

-- name: targets_c --
-- (c): one conversation per client in tenant 1's inbox, n = hot_base + 1 .. hot_base + clients.
INSERT INTO {twin}.targets (n, tenant_id, inbox_id, conversation_id)
SELECT %(hot_base)s + k, t.tenant_id, t.inbox_id, gen_random_uuid()
  FROM {twin}.tenants AS t CROSS JOIN generate_series(1, %(clients)s) AS k
 WHERE t.n = 1

-- name: conversations --
-- The targets as open conversations.
INSERT INTO dom360.conversations (tenant_id, id, inbox_id, external_id, agent_type)
SELECT t.tenant_id, t.conversation_id, t.inbox_id, 'bench-customer-' || t.n, 'SDR'
  FROM {twin}.targets AS t

-- name: partitions --
-- Partitions for the 12 months of the loaded history (the current month and the 11 before it), created now so that
-- every scenario, (a) included, runs with the same partitions.
SELECT dom360.create_month_partition('dom360.messages', (date_trunc('month', now() AT TIME ZONE 'UTC')
                                                         - make_interval(months => m))::date)
  FROM generate_series(0, 11) AS m

-- name: analyze_tenants --
-- Statistics of the lookup tables.
ANALYZE {twin}.tenants

-- name: analyze_targets --
-- Statistics of the lookup tables.
ANALYZE {twin}.targets
