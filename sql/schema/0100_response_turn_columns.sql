SET LOCAL ROLE {{ owner_role | ident }};

-- Response times that cost what a month holds (docs/performance.md). The figures of
-- dom360.analytics_response_turns (a turn: the user messages after an assistant message, up to the next
-- assistant message, measured from the earliest of them) are kept as the messages arrive, by the trigger's
-- conversation UPDATE that already runs for every message, instead of being re-derived by window functions
-- over a tenant's whole history:
-- - conversations.turn_asked_at: created_at of the earliest user message of the open turn (none: NULL);
-- - conversations.last_turn_asked_at: the turn_asked_at the last assistant message closed (a scratch value:
--   RETURNING gives the new row, this is how the trigger reads the old turn_asked_at in the same UPDATE);
-- - messages.turn_asked_at: on an assistant message that ends a turn, when that turn started; its response
--   time is created_at - turn_asked_at. NULL on every other message.
-- Nullable columns without default: metadata only, no table rewrite. Rows stored before this version are
-- filled by `dom360db backfill response-times` (batched, resumable), which marks each conversation done in
-- response_turns_ready: NULL on the conversations that exist now, true for every conversation created later
-- (the default set below applies to new rows only).
ALTER TABLE dom360.conversations ADD COLUMN IF NOT EXISTS turn_asked_at timestamptz;
ALTER TABLE dom360.conversations ADD COLUMN IF NOT EXISTS last_turn_asked_at timestamptz;
ALTER TABLE dom360.conversations ADD COLUMN IF NOT EXISTS response_turns_ready boolean;
ALTER TABLE dom360.conversations ALTER COLUMN response_turns_ready SET DEFAULT true;
ALTER TABLE dom360.messages ADD COLUMN IF NOT EXISTS turn_asked_at timestamptz;

COMMENT ON COLUMN dom360.conversations.turn_asked_at IS 'created_at of the earliest user message not answered yet (the open turn''s start; NULL: none). Written only by the messages trigger.';
COMMENT ON COLUMN dom360.conversations.last_turn_asked_at IS 'turn_asked_at of the turn the last assistant message closed (NULL: it closed none). Written only by the messages trigger, which reads the old turn_asked_at through it.';
COMMENT ON COLUMN dom360.conversations.response_turns_ready IS 'true when turn_asked_at and the messages'' turn_asked_at are complete for this conversation; NULL on conversations created before schema 0100 until `dom360db backfill response-times` fills them.';
COMMENT ON COLUMN dom360.messages.turn_asked_at IS 'On an assistant message that answers a turn: created_at of the turn''s earliest user message (response time = created_at - turn_asked_at). NULL otherwise. Set by the trigger (a value given on INSERT is replaced).';
