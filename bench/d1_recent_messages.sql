-- (d1) the 20 newest messages of a random loaded conversation, as dom360_bench_app with its tenant set.
-- Variables (-D): read_targets = number of loaded conversations (dom360_bench_twin.read_targets).
\set n random(1, :read_targets)
BEGIN;
SELECT dom360.set_tenant((SELECT r.tenant_id FROM dom360_bench_twin.read_targets AS r WHERE r.n = :n));
SELECT * FROM dom360.recent_messages((SELECT r.conversation_id FROM dom360_bench_twin.read_targets AS r WHERE r.n = :n), 20);
END;
