-- (sb) and (sc) the seed's design (bench/seed_design.sql, schema dom360_bench_seed), as dom360_bench_app: set the
-- tenant (the seed's SET app.tenant_id, transaction-scoped here as set_config(..., true)), then a plain INSERT
-- of the user's message (its triggers number it and upsert the inbox's one consumption row of the day). No
-- request id: the seed has no idempotency.
-- Variables (-D): as b_chat_turn.sql (targets, hot, hot_base, tag, i; tag and i unused: nothing to make unique).
\if :hot
\set n :hot_base + 1 + :client_id
\else
\set n random(1, :targets)
\endif
\set tin random(20, 400)
\set tout random(0, 300)
BEGIN;
SELECT set_config('app.tenant_id', (SELECT t.tenant_id FROM dom360_bench_twin.targets AS t WHERE t.n = :n)::text, true);
INSERT INTO dom360_bench_seed.messages AS m (conversation_id, role, content, input_tokens, output_tokens, tool_calls, metadata) VALUES ((SELECT t.conversation_id FROM dom360_bench_twin.targets AS t WHERE t.n = :n), 'user', 'Hi! I saw your ad for the premium plan. How much is it per month, and does it work with WhatsApp?', :tin, :tout, NULL, NULL) RETURNING m.id, m.message_index, m.created_at;
END;
