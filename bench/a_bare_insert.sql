-- (a) bare: the same row as a chat turn stores, INSERTed into dom360_bench_twin.messages (same columns, partitions
-- and indexes as dom360.messages; no trigger, no row-level security, no foreign keys), as the superuser.
-- The INSERT supplies everything the trigger would compute (inbox_id, message_index). The (tenant, conversation)
-- lookup in dom360_bench_twin.targets is the same one (b) and (c) do, inside the statement (no extra round trip).
-- Variables (-D): targets = number of (tenant, conversation) pairs, clients, tag = unique per run and scenario,
-- i = 0 (a per-client counter).
\set n random(1, :targets)
\set i :i + 1
\set idx :i * :clients + :client_id + 1
\set tin random(20, 400)
\set tout random(0, 300)
BEGIN;
INSERT INTO dom360_bench_twin.messages AS m (tenant_id, conversation_id, inbox_id, message_index, role, content, input_tokens, output_tokens, tool_calls, metadata, request_id) SELECT t.tenant_id, t.conversation_id, t.inbox_id, :idx, 'user', 'Hi! I saw your ad for the premium plan. How much is it per month, and does it work with WhatsApp?', :tin, :tout, NULL, NULL, :tag || '-' || :client_id || '-' || :i FROM dom360_bench_twin.targets AS t WHERE t.n = :n RETURNING m.id, m.message_index, m.created_at;
END;
