-- (b) and (c) a chat turn on the application path, as the login dom360_bench_app (member of dom360_app, so
-- privileges and row-level security apply): set the tenant, then append_message() stores the user's message
-- (its trigger numbers it, fills inbox_id and adds it to the consumption counters; the request id is claimed
-- in message_requests, as the real backend does for idempotency).
-- Variables (-D): targets = number of (tenant, conversation) pairs; hot = 0: a random pair per transaction,
-- spread over every tenant (b); hot = 1: client k always writes conversation hot_base + 1 + k, all in one inbox
-- of one tenant (c); tag = unique per run and scenario; i = 0 (a per-client counter, for unique request ids).
\if :hot
\set n :hot_base + 1 + :client_id
\else
\set n random(1, :targets)
\endif
\set i :i + 1
\set tin random(20, 400)
\set tout random(0, 300)
BEGIN;
SELECT dom360.set_tenant((SELECT t.tenant_id FROM dom360_bench_twin.targets AS t WHERE t.n = :n));
SELECT * FROM dom360.append_message((SELECT t.conversation_id FROM dom360_bench_twin.targets AS t WHERE t.n = :n), 'user', 'Hi! I saw your ad for the premium plan. How much is it per month, and does it work with WhatsApp?', :tin, :tout, NULL, NULL, :tag || '-' || :client_id || '-' || :i);
END;
