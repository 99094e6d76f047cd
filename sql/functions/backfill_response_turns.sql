{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.backfill_response_turns(p_tenant_id pg_catalog.uuid, p_batch_size integer DEFAULT 500)
    RETURNS integer
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
/* One step of `dom360db backfill response-times`: fills the response turns (schema/0100) of at most
   p_batch_size conversations of tenant p_tenant_id stored before 0100 (response_turns_ready NULL) and
   returns how many it did (0: the tenant is done). Per conversation, from its messages in message_index
   order, as dom360.analytics_response_turns derives them: messages.turn_asked_at of every assistant
   message (the start of the turn it answers, else NULL), conversations.turn_asked_at (the open turn) and
   last_turn_asked_at, then response_turns_ready = true. The conversations are locked (FOR UPDATE) for the
   step, so a message arriving meanwhile waits and then continues from the filled state; one arriving
   before the step is recomputed with the rest. Call it in its own short transaction until it returns 0:
   an interruption leaves done conversations marked and the others untouched, and the same loop resumes.
   SECURITY INVOKER, for the owner role and its members: row-level security is forced on the owner, so the
   tenant is set for the call and the previous setting restored. */
DECLARE
    v_previous text := current_setting('app.tenant_id', true);
    v_ids      pg_catalog.uuid[];
BEGIN
    IF p_tenant_id IS NULL THEN
        RAISE EXCEPTION 'dom360.backfill_response_turns: tenant id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION 'dom360.backfill_response_turns: the batch size must be at least 1, not %', coalesce(p_batch_size::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('app.tenant_id', p_tenant_id::text, true);

    SELECT array_agg(x.id) INTO v_ids
      FROM (SELECT c.id FROM dom360.conversations AS c
             WHERE c.tenant_id = p_tenant_id AND c.response_turns_ready IS NULL
             ORDER BY c.id LIMIT p_batch_size
               FOR UPDATE) AS x;
    IF v_ids IS NULL THEN
        PERFORM set_config('app.tenant_id', coalesce(v_previous, ''), true);
        RETURN 0;
    END IF;

    WITH numbered AS (
        SELECT m.conversation_id, m.message_index, m.role, m.created_at,
               count(*) FILTER (WHERE m.role = 'assistant')
                   OVER (PARTITION BY m.conversation_id ORDER BY m.message_index)
               - CASE WHEN m.role = 'assistant' THEN 1 ELSE 0 END AS turn
          FROM dom360.messages AS m
         WHERE m.tenant_id = p_tenant_id AND m.conversation_id = ANY (v_ids)
           AND m.role IN ('user', 'assistant')
    ), turns AS (
        SELECT n.conversation_id, n.turn,
               min(n.created_at) FILTER (WHERE n.role = 'user')              AS asked_at,
               min(n.message_index) FILTER (WHERE n.role = 'assistant')      AS answer_index,
               min(n.created_at) FILTER (WHERE n.role = 'assistant')         AS answered_at
          FROM numbered AS n
         GROUP BY n.conversation_id, n.turn
    ), answers AS (
        UPDATE dom360.messages AS m
           SET turn_asked_at = t.asked_at
          FROM turns AS t
         WHERE m.tenant_id = p_tenant_id AND m.conversation_id = t.conversation_id
           AND m.message_index = t.answer_index AND m.created_at = t.answered_at
           AND m.turn_asked_at IS DISTINCT FROM t.asked_at
    ), per_conversation AS (
        SELECT t.conversation_id,
               (array_agg(t.asked_at ORDER BY t.turn DESC) FILTER (WHERE t.answer_index IS NULL))[1] AS open_asked_at,
               (array_agg(t.asked_at ORDER BY t.turn DESC) FILTER (WHERE t.answer_index IS NOT NULL))[1] AS last_asked_at
          FROM turns AS t
         GROUP BY t.conversation_id
    )
    UPDATE dom360.conversations AS c
       SET turn_asked_at = p.open_asked_at,
           last_turn_asked_at = p.last_asked_at,
           response_turns_ready = true
      FROM (SELECT i.id, pc.open_asked_at, pc.last_asked_at
              FROM pg_catalog.unnest(v_ids) AS i(id)
              LEFT JOIN per_conversation AS pc ON pc.conversation_id = i.id) AS p
     WHERE c.tenant_id = p_tenant_id AND c.id = p.id;  -- the CTE answers runs too (as every data-modifying CTE)
    PERFORM set_config('app.tenant_id', coalesce(v_previous, ''), true);
    RETURN pg_catalog.cardinality(v_ids);
END
$$;

{% call privileges('dom360.backfill_response_turns(pg_catalog.uuid, integer)', execute=[owner_role]) -%}
COMMENT ON FUNCTION dom360.backfill_response_turns(pg_catalog.uuid, integer) IS 'One resumable step of `dom360db backfill response-times`: fills the response turns (schema/0100) of at most p_batch_size of the tenant''s conversations stored before 0100; returns how many (0: done). Owner role; its own short transaction per call.';
{%- endcall %}
