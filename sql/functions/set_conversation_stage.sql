{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.set_conversation_stage(p_conversation_id uuid, p_stage text,
                                                         p_reached_at timestamptz DEFAULT NULL)
    RETURNS timestamptz
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* Moves a conversation of the current tenant to a lead funnel stage and returns when it reached it.
   Allowed: forward along new → qualified → meeting_booked → won (skipping stages is allowed), and lost
   from any stage before won or lost. Refused: moving back, anything after won or lost, a time earlier
   than the conversation's creation or its previous stage. Setting the stage it is already at returns the
   recorded time and writes nothing (a retried call is harmless).
   SECURITY DEFINER because the app may only read dom360.conversation_stages (every write is validated
   here); row-level security is forced on the owner, so only the tenant's conversations are found.
   Concurrent calls for one conversation are serialised by a transaction-scoped advisory lock (two-key
   form, so it never meets the single-key locks of dom360db migrate), not by a lock on the conversation
   row, which every message of the conversation updates. */
DECLARE
    v_tenant     uuid := dom360.current_tenant_id();
    v_rank       CONSTANT jsonb := '{"new": 0, "qualified": 1, "meeting_booked": 2, "won": 3, "lost": 3}';
    v_created_at timestamptz;
    v_stage      text := 'new';
    v_stage_at   timestamptz;
    v_at         timestamptz := COALESCE(p_reached_at, now());
BEGIN
    IF v_tenant IS NULL THEN
        PERFORM dom360.raise_no_tenant();  -- fails closed: 42501, the one message (schema/0090)
    END IF;
    IF p_stage IS NULL OR p_stage NOT IN ('qualified', 'meeting_booked', 'won', 'lost') THEN
        RAISE EXCEPTION 'dom360.set_conversation_stage: unknown stage %', COALESCE(quote_literal(p_stage), 'NULL')
            USING ERRCODE = 'check_violation',
                  HINT = 'stage is qualified, meeting_booked, won or lost (every conversation is new from its creation)';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('dom360.conversation_stages'), hashtext(p_conversation_id::text));

    SELECT c.created_at INTO v_created_at
      FROM dom360.conversations AS c
     WHERE c.tenant_id = v_tenant AND c.id = p_conversation_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'dom360.set_conversation_stage: conversation % not found for the current tenant', p_conversation_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;

    SELECT s.stage, s.reached_at INTO v_stage, v_stage_at
      FROM dom360.conversation_stages AS s
     WHERE s.tenant_id = v_tenant AND s.conversation_id = p_conversation_id
     ORDER BY (v_rank ->> s.stage)::int DESC
     LIMIT 1;
    IF NOT FOUND THEN
        v_stage := 'new';
        v_stage_at := v_created_at;
    END IF;

    IF v_stage = p_stage THEN
        RETURN v_stage_at;
    END IF;
    IF v_stage IN ('won', 'lost') THEN
        RAISE EXCEPTION 'dom360.set_conversation_stage: conversation % is already %', p_conversation_id, v_stage
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF p_stage <> 'lost' AND (v_rank ->> p_stage)::int < (v_rank ->> v_stage)::int THEN
        RAISE EXCEPTION 'dom360.set_conversation_stage: conversation % cannot move back from % to %',
            p_conversation_id, v_stage, p_stage
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF v_at < v_stage_at THEN
        RAISE EXCEPTION 'dom360.set_conversation_stage: % is earlier than the conversation''s % stage (%)',
            v_at, v_stage, v_stage_at
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    INSERT INTO dom360.conversation_stages (tenant_id, conversation_id, stage, reached_at)
    VALUES (v_tenant, p_conversation_id, p_stage, v_at);
    RETURN v_at;
END
$$;

{% call privileges('dom360.set_conversation_stage(uuid, text, timestamptz)', execute=[app_role]) -%}
COMMENT ON FUNCTION dom360.set_conversation_stage(uuid, text, timestamptz) IS 'Moves a conversation of the current tenant to a lead funnel stage (qualified, meeting_booked, won or lost) reached at p_reached_at (default now()); returns that time. Forward moves only (skipping allowed), lost from any open stage, nothing after won or lost; the current stage again is a no-op returning its time.';
{%- endcall %}
