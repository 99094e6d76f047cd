SET LOCAL ROLE {{ owner_role | ident }};

CREATE TABLE dom360.conversations (
    tenant_id       uuid        NOT NULL DEFAULT dom360.current_tenant_id(),
    id              uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    inbox_id        uuid        NOT NULL,
    external_id     text        NOT NULL CHECK (pg_catalog.length(external_id) BETWEEN 1 AND 256),
    status          text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    agent_type      text        CHECK (agent_type IN ('SDR', 'COPILOT')),
    message_count   integer     NOT NULL DEFAULT 0 CHECK (message_count >= 0),
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_message_at timestamptz,
    closed_at       timestamptz,
    CONSTRAINT conversations_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT conversations_inbox_fkey FOREIGN KEY (tenant_id, inbox_id) REFERENCES dom360.inboxes (tenant_id, id),
    CONSTRAINT conversations_closed_check CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);

-- At most one open conversation per customer and inbox (get_or_create_conversation relies on it).
CREATE UNIQUE INDEX conversations_open_key
    ON dom360.conversations (tenant_id, inbox_id, external_id) WHERE status = 'open';

COMMENT ON TABLE dom360.conversations IS 'A thread between one customer (external_id) and a tenant''s agents in one inbox. At most one is open per (tenant, inbox, external_id).';
COMMENT ON COLUMN dom360.conversations.external_id IS 'The customer''s identifier on the channel (phone number, e-mail, widget visitor id).';
COMMENT ON COLUMN dom360.conversations.agent_type IS 'Agent answering this conversation; NULL means the tenant''s default_agent_type.';
COMMENT ON COLUMN dom360.conversations.message_count IS 'Messages stored so far; also the counter that numbers them (message_index = count after increment).';
COMMENT ON COLUMN dom360.conversations.last_message_at IS 'created_at of the newest message (lets readers bound the partitions to scan).';
