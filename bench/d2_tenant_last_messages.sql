-- (d2) a random tenant's 10 newest messages, as dom360_bench_app with the tenant set, through
-- dom360.tenant_recent_messages (row-level security restricts dom360.messages to the tenant).
-- Variables (-D): tenants = number of tenants (dom360_bench_twin.tenants).
\set n random(1, :tenants)
BEGIN;
SELECT dom360.set_tenant((SELECT t.tenant_id FROM dom360_bench_twin.tenants AS t WHERE t.n = :n));
SELECT * FROM dom360.tenant_recent_messages(10);
END;
