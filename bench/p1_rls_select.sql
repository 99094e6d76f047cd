-- (p1) row-level security cost: the same read as (p0) by the app login, without the tenant condition: the
-- policy tenant_isolation adds it (tenant_id = dom360.current_tenant_id()).
-- Variables (-D): targets = number of (tenant, conversation) pairs of dom360_bench_twin.targets.
\set n random(1, :targets)
BEGIN;
SELECT dom360.set_tenant((SELECT t.tenant_id FROM dom360_bench_twin.targets AS t WHERE t.n = :n));
SELECT c.* FROM dom360.conversations AS c WHERE c.inbox_id = (SELECT t.inbox_id FROM dom360_bench_twin.targets AS t WHERE t.n = :n) AND c.status = 'open';
END;
