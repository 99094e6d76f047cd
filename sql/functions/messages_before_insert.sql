{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.messages_before_insert()
    RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* BEFORE INSERT on dom360.messages (each partition): the single write path of a message, for
   append_message() and a plain INSERT alike.
   1. Validates what a CHECK cannot say clearly (content size, tokens, role) before any counter moves.
   2. Takes the next number from the conversation's counter (UPDATE … RETURNING: the row lock makes the
      numbering gapless and unique under any concurrency), and the conversation's inbox.
   2b. Keeps the response turns (schema/0100) on the same UPDATE: a user message opens the conversation's
      turn (or keeps the earliest start), an assistant message closes it and carries its start in
      turn_asked_at; system and tool messages change neither.
   3. Adds the message to one of the daily consumption counter rows of its inbox and agent type (the
      conversation's, returned by the same UPDATE: no extra read), one no one else holds.
   SECURITY DEFINER because the app role may not write the counters; row-level security is forced on the
   owner, so the conversation is found only when it belongs to the transaction's tenant. Everything here
   is undone with the INSERT if any later check refuses the row. */
DECLARE
    v_index  integer;
    v_inbox  uuid;
    v_status text;
    v_day    date;
    v_agent  text;
BEGIN
    IF NEW.tenant_id IS NULL THEN
        RAISE EXCEPTION 'dom360.messages: no tenant set: call dom360.set_tenant() first in this transaction'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.role IS NULL OR NEW.role NOT IN ('user', 'assistant', 'system', 'tool') THEN
        RAISE EXCEPTION 'dom360.messages: unknown role %', coalesce(quote_literal(NEW.role), 'NULL')
            USING ERRCODE = 'check_violation', HINT = 'role is user, assistant, system or tool';
    END IF;
    IF NEW.input_tokens IS NULL OR NEW.output_tokens IS NULL OR NEW.input_tokens < 0 OR NEW.output_tokens < 0 THEN
        RAISE EXCEPTION 'dom360.messages: token counts must be non-negative (input %, output %)',
            coalesce(NEW.input_tokens::text, 'NULL'), coalesce(NEW.output_tokens::text, 'NULL')
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.content IS NULL OR octet_length(NEW.content) > {{ message_max_bytes }} THEN
        RAISE EXCEPTION 'dom360.messages: content is % bytes; the limit is {{ message_max_bytes }}',
            coalesce(octet_length(NEW.content)::text, 'NULL')
            USING ERRCODE = 'string_data_right_truncation';
    END IF;

    UPDATE dom360.conversations AS c
       SET message_count    = c.message_count + 1,
           first_message_at = LEAST(c.first_message_at, NEW.created_at),
           last_message_at  = GREATEST(c.last_message_at, NEW.created_at),
           updated_at       = now(),
           turn_asked_at    = CASE WHEN NEW.role = 'user' THEN LEAST(c.turn_asked_at, NEW.created_at)
                                   WHEN NEW.role = 'assistant' THEN NULL ELSE c.turn_asked_at END,
           last_turn_asked_at = CASE WHEN NEW.role = 'assistant' THEN c.turn_asked_at ELSE c.last_turn_asked_at END
     WHERE c.tenant_id = NEW.tenant_id AND c.id = NEW.conversation_id
    RETURNING c.message_count, c.inbox_id, c.status, COALESCE(c.agent_type, ''),
              CASE WHEN NEW.role = 'assistant' THEN c.last_turn_asked_at END
         INTO v_index, v_inbox, v_status, v_agent, NEW.turn_asked_at;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'dom360.messages: conversation % not found for the current tenant', NEW.conversation_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF v_status <> 'open' THEN
        RAISE EXCEPTION 'dom360.messages: conversation % is %', NEW.conversation_id, v_status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'dom360.get_or_create_conversation() opens a new conversation';
    END IF;
    NEW.message_index := v_index;
    NEW.inbox_id := v_inbox;

    -- A counter row of this inbox, day and agent type ('' when the conversation names none) that no other
    -- transaction holds (SKIP LOCKED): concurrent writers of one busy inbox spread over as many rows as
    -- there are writers, and never queue on each other.
    v_day := (NEW.created_at AT TIME ZONE 'UTC')::date;
    WITH free AS (
        SELECT f.stripe
          FROM dom360.consumption_inbox_daily_stripes AS f
         WHERE f.tenant_id = NEW.tenant_id AND f.inbox_id = v_inbox AND f.day = v_day AND f.agent_type = v_agent
         LIMIT 1
           FOR NO KEY UPDATE SKIP LOCKED
    )
    UPDATE dom360.consumption_inbox_daily_stripes AS s
       SET messages_count = s.messages_count + 1,
           input_tokens   = s.input_tokens + NEW.input_tokens,
           output_tokens  = s.output_tokens + NEW.output_tokens,
           total_tokens   = s.total_tokens + NEW.input_tokens + NEW.output_tokens
      FROM free
     WHERE s.tenant_id = NEW.tenant_id AND s.inbox_id = v_inbox AND s.day = v_day AND s.agent_type = v_agent
       AND s.stripe = free.stripe;
    IF NOT FOUND THEN
        -- none yet today, or all held: add (or, rarely, wait for) this connection's own stripe
        INSERT INTO dom360.consumption_inbox_daily_stripes AS s
               (tenant_id, inbox_id, day, agent_type, stripe, messages_count, input_tokens, output_tokens, total_tokens)
        VALUES (NEW.tenant_id, v_inbox, v_day, v_agent, pg_backend_pid() % {{ consumption_stripes }},
                1, NEW.input_tokens, NEW.output_tokens, NEW.input_tokens::bigint + NEW.output_tokens)
        ON CONFLICT (tenant_id, inbox_id, day, agent_type, stripe) DO UPDATE
           SET messages_count = s.messages_count + 1,
               input_tokens   = s.input_tokens + excluded.input_tokens,
               output_tokens  = s.output_tokens + excluded.output_tokens,
               total_tokens   = s.total_tokens + excluded.total_tokens;
    END IF;
    RETURN NEW;
END
$$;

{% call privileges('dom360.messages_before_insert()') -%}
COMMENT ON FUNCTION dom360.messages_before_insert() IS 'Trigger of dom360.messages: validates, numbers the message from its conversation''s counter, fills inbox_id and turn_asked_at (the start of the turn an assistant message answers), adds its tokens to the consumption counters of its inbox, UTC day and agent type.';
{%- endcall %}

DROP TRIGGER IF EXISTS messages_before_insert ON dom360.messages;
CREATE TRIGGER messages_before_insert
    BEFORE INSERT ON dom360.messages
    FOR EACH ROW EXECUTE FUNCTION dom360.messages_before_insert();
