-- bench/citus.py: one whole chat turn as the app login, on the cluster and on one server alike:
-- set_tenant → get_or_create_conversation → append_message (request id) → recent_messages → get_tenant_config
-- → tenant_usage. Variables: targets (number of tenants), tag (unique per run), i (a per-client counter).
\set n random(1, :targets)
\set i :i + 1
SELECT tenant_id AS tid, inbox_id AS iid FROM dom360_bench.targets WHERE n = :n \gset
BEGIN;
SELECT dom360.set_tenant(:tid);
SELECT dom360.get_or_create_conversation(:iid, 'bench-customer') AS cid \gset
SELECT message_index FROM dom360.append_message(:cid, 'user', 'Hi! How much is the premium plan per month?', 40, 0, NULL, NULL, :tag || '-' || :client_id || '-' || :i);
SELECT count(*) FROM dom360.recent_messages(:cid, 20);
SELECT agents_timeout_ms FROM dom360.get_tenant_config();
SELECT count(*) FROM dom360.tenant_usage(CURRENT_DATE, CURRENT_DATE);
END;
