SET LOCAL ROLE {{ owner_role | ident }};

-- The lead funnel: new → qualified → meeting_booked → won, or lost from any stage before won/lost.
-- One row per stage a conversation reached, with the time it was reached (history, not a mutable
-- status column: the funnel needs when each stage was reached, and a row is never rewritten). 'new' is
-- not stored: every conversation is new from its created_at (no extra write on the chat path).
-- Written only through dom360.set_conversation_stage(), which validates the transition; the app has
-- SELECT only.
CREATE TABLE dom360.conversation_stages (
    tenant_id       uuid        NOT NULL DEFAULT dom360.current_tenant_id(),
    conversation_id uuid        NOT NULL,
    stage           text        NOT NULL CHECK (stage IN ('qualified', 'meeting_booked', 'won', 'lost')),
    reached_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT conversation_stages_pkey PRIMARY KEY (tenant_id, conversation_id, stage),
    CONSTRAINT conversation_stages_conversation_fkey FOREIGN KEY (tenant_id, conversation_id)
        REFERENCES dom360.conversations (tenant_id, id) ON DELETE CASCADE
);

COMMENT ON TABLE dom360.conversation_stages IS 'Lead funnel stages a conversation reached and when: qualified, meeting_booked, won or lost (new is implicit: conversations.created_at). Written only by dom360.set_conversation_stage(), which allows forward moves (skipping stages is allowed), lost from any open stage, and nothing after won or lost. Read as a funnel through dom360.analytics_lead_funnel.';
COMMENT ON COLUMN dom360.conversation_stages.stage IS 'qualified, meeting_booked, won or lost.';
COMMENT ON COLUMN dom360.conversation_stages.reached_at IS 'When the conversation reached the stage; never earlier than the conversation''s creation nor than its previous stage.';
