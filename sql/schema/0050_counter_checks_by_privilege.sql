SET LOCAL ROLE {{ owner_role | ident }};

-- Two CHECK constraints on the counters that the chat path paid for on every message, and that privileges
-- now make redundant (bench/README.md, "Where the chat turn's server time goes"): PostgreSQL parses and plans
-- every CHECK of a table again on each statement that writes it (about 20,000 instructions each, per message).
--
-- conversations.message_count >= 0: the numbering counter starts at its default, 0, and only the messages
-- trigger (the owner) moves it, by + 1. The app role may neither insert nor update the column (column
-- privileges, policies/conversations.sql), so no role but the owner can write a negative count.
ALTER TABLE dom360.conversations DROP CONSTRAINT IF EXISTS conversations_message_count_check;

-- consumption_inbox_daily_stripes.stripe >= 0: the rows are written only by the messages trigger (the app
-- role has SELECT only), which computes stripe as pg_backend_pid() % consumption_stripes.
ALTER TABLE dom360.consumption_inbox_daily_stripes DROP CONSTRAINT IF EXISTS consumption_inbox_daily_stripes_stripe_check;

COMMENT ON COLUMN dom360.conversations.message_count IS 'Messages stored in the conversation, and the numbering counter (message_index of the last one). Written only by the messages trigger: the app may neither insert nor update it (column privileges).';
