-- (p0) row-level security cost, baseline: the open conversations of an inbox, read by the superuser (which
-- bypasses row-level security) with the tenant condition written out, after the same set_tenant as (p1).
-- Variables (-D): targets = number of (tenant, conversation) pairs of dom360_bench_twin.targets.
\set n random(1, :targets)
BEGIN;
SELECT dom360.set_tenant((SELECT t.tenant_id FROM dom360_bench_twin.targets AS t WHERE t.n = :n));
SELECT c.* FROM dom360.conversations AS c WHERE c.tenant_id = (SELECT t.tenant_id FROM dom360_bench_twin.targets AS t WHERE t.n = :n) AND c.inbox_id = (SELECT t.inbox_id FROM dom360_bench_twin.targets AS t WHERE t.n = :n) AND c.status = 'open';
END;
