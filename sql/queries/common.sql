-- Queries several modules share (one definition each), loaded by dom360db.queries.

-- name: set_tenant --
-- Scope the transaction to one active tenant (dom360.set_tenant refuses unknown, suspended and closed ones).
SELECT dom360.set_tenant(%(tenant_id)s);

-- name: set_local_tenant_id --
-- Scope the transaction to a tenant of any status with SET LOCAL ({tenant_id}: a literal): Citus propagates it to the workers.
SET LOCAL app.tenant_id = {tenant_id};
