-- Queries several modules share (one definition each), loaded by dom360db.queries.

-- name: set_tenant --
-- Scope the transaction to one active tenant (dom360.set_tenant refuses unknown, suspended and closed ones).
SELECT dom360.set_tenant(%(tenant_id)s);

-- name: set_tenant_id --
-- Scope the transaction to a tenant of any status (export, erase and secret rotation reach suspended and closed ones).
SELECT pg_catalog.set_config('app.tenant_id', %(tenant_id)s::text, true);

-- name: set_local_tenant_id --
-- Scope the transaction to a tenant of any status with SET LOCAL ({tenant_id}: a literal): Citus propagates it to the workers.
SET LOCAL app.tenant_id = {tenant_id};
