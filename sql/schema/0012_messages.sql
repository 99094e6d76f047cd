SET LOCAL ROLE {{ owner_role | ident }};

ALTER TABLE dom360.conversations
    ADD COLUMN first_message_at timestamptz;
COMMENT ON COLUMN dom360.conversations.first_message_at IS 'created_at of the oldest message: with last_message_at, bounds the messages partitions a reader must scan.';

-- Conversations are updated on every message (counter, timestamps; no indexed column changes):
-- leave room on each page for HOT updates.
ALTER TABLE dom360.conversations SET (fillfactor = 80);

CREATE SEQUENCE dom360.messages_id_seq AS bigint;
COMMENT ON SEQUENCE dom360.messages_id_seq IS 'message_id of dom360.messages (unique across partitions).';

CREATE TABLE dom360.messages (
    tenant_id       uuid        NOT NULL DEFAULT dom360.current_tenant_id(),
    id              bigint      NOT NULL DEFAULT pg_catalog.nextval('dom360.messages_id_seq'),
    conversation_id uuid        NOT NULL,
    inbox_id        uuid        NOT NULL,
    message_index   integer     NOT NULL CHECK (message_index >= 1),
    role            text        NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
    content         text        NOT NULL,
    input_tokens    integer     NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens   integer     NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    total_tokens    bigint      GENERATED ALWAYS AS (input_tokens::bigint + output_tokens) STORED,
    tool_calls      jsonb,
    metadata        jsonb,
    request_id      text        CHECK (pg_catalog.length(request_id) BETWEEN 1 AND 200),
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT messages_pkey PRIMARY KEY (tenant_id, conversation_id, message_index, created_at)
) PARTITION BY RANGE (created_at);
-- No foreign keys on this hot table, by measurement (bench/): each would run a referential-integrity
-- query per inserted row, and the one to inboxes takes a KEY SHARE lock on the inbox row, which every
-- writer of a busy inbox shares (a multixact per message). The references hold by construction instead:
-- the trigger takes (tenant_id, conversation_id) only from a conversation of the current tenant, which
-- it locks and updates, and inbox_id from that conversation; a conversation that has messages cannot be
-- deleted (triggers conversations_keep_messages_*), and an inbox that has conversations cannot be deleted
-- (foreign key conversations_inbox_fkey).

ALTER SEQUENCE dom360.messages_id_seq OWNED BY dom360.messages.id;

-- The seed's indexes. The primary key serves (conversation_id, message_index), behind tenant_id so
-- the row-level security condition is an index condition too.
CREATE INDEX messages_tenant_created_idx ON dom360.messages (tenant_id, created_at DESC);
CREATE INDEX messages_tool_calls_idx ON dom360.messages USING gin (tool_calls jsonb_path_ops)
    WHERE tool_calls IS NOT NULL;

COMMENT ON TABLE dom360.messages IS 'Every message of every conversation, partitioned by month of created_at (partitions dom360.messages_YYYY_MM). Insert with dom360.append_message() or a plain INSERT: a trigger numbers the message, fills inbox_id and adds its tokens to the consumption counters.';
COMMENT ON COLUMN dom360.messages.id IS 'message_id: unique, increasing with insertion (not with created_at).';
COMMENT ON COLUMN dom360.messages.inbox_id IS 'Set by the trigger from the conversation (a value given on INSERT is replaced).';
COMMENT ON COLUMN dom360.messages.message_index IS '1, 2, 3… per conversation, gapless: set by the trigger from conversations.message_count (a value given on INSERT is replaced).';
COMMENT ON COLUMN dom360.messages.role IS 'user, assistant, system or tool.';
COMMENT ON COLUMN dom360.messages.content IS 'Message text; at most message_max_bytes bytes of UTF-8 (template parameter, default 65536), enforced by the trigger.';
COMMENT ON COLUMN dom360.messages.total_tokens IS 'input_tokens + output_tokens (generated).';
COMMENT ON COLUMN dom360.messages.tool_calls IS 'Tool calls made by the agent (JSON); GIN-indexed with jsonb_path_ops for @> searches.';
COMMENT ON COLUMN dom360.messages.request_id IS 'The Agent API request id that produced the message; append_message() returns the first row for a retried request id.';
COMMENT ON COLUMN dom360.messages.created_at IS 'When the message was stored (transaction time); the partition key.';

CREATE TABLE dom360.message_requests (
    tenant_id       uuid        NOT NULL DEFAULT dom360.current_tenant_id(),
    request_id      text        NOT NULL CHECK (pg_catalog.length(request_id) BETWEEN 1 AND 200),
    conversation_id uuid        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT message_requests_pkey PRIMARY KEY (tenant_id, request_id)
);
-- No foreign key, as for messages: a claim is written in the same transaction as its message.

COMMENT ON TABLE dom360.message_requests IS 'Request ids already used by append_message(): makes a retried call return the first call''s message instead of storing it twice. Safe to prune rows older than any retry window.';
COMMENT ON COLUMN dom360.message_requests.created_at IS 'created_at of the message stored for this request (same transaction): locates its partition.';

CREATE TABLE dom360.consumption_inbox_daily_stripes (
    tenant_id      uuid     NOT NULL DEFAULT dom360.current_tenant_id(),
    inbox_id       uuid     NOT NULL,
    day            date     NOT NULL,
    stripe         smallint NOT NULL CHECK (stripe >= 0),
    messages_count bigint   NOT NULL DEFAULT 0,
    input_tokens   bigint   NOT NULL DEFAULT 0,
    output_tokens  bigint   NOT NULL DEFAULT 0,
    total_tokens   bigint   NOT NULL DEFAULT 0,
    CONSTRAINT consumption_inbox_daily_stripes_pkey PRIMARY KEY (tenant_id, inbox_id, day, stripe)
) WITH (fillfactor = 50);
-- No foreign key to inboxes (the KEY SHARE lock it takes on the first write of each stripe and day is
-- shared by every writer of the inbox); rows are written only by the messages trigger, from a conversation.

COMMENT ON TABLE dom360.consumption_inbox_daily_stripes IS 'Real-time consumption counters, several rows (stripes) per inbox and UTC day so that concurrent writers of one busy inbox do not queue on one row lock. Read the sums through the view dom360.consumption_inbox_daily. Written only by the messages trigger.';
COMMENT ON COLUMN dom360.consumption_inbox_daily_stripes.stripe IS 'Which of the (at most consumption_stripes) rows of this inbox and day. A writer takes any row no other transaction holds (SKIP LOCKED) and adds a row only when all are held, so the rows follow the inbox''s real concurrency.';

CREATE VIEW dom360.consumption_inbox_daily WITH (security_invoker = true) AS
SELECT s.tenant_id, s.inbox_id, s.day,
       sum(s.messages_count)::bigint AS messages_count,
       sum(s.input_tokens)::bigint   AS input_tokens,
       sum(s.output_tokens)::bigint  AS output_tokens,
       sum(s.total_tokens)::bigint   AS total_tokens
  FROM dom360.consumption_inbox_daily_stripes AS s
 GROUP BY s.tenant_id, s.inbox_id, s.day;

COMMENT ON VIEW dom360.consumption_inbox_daily IS 'Messages and tokens per tenant, inbox and UTC day, exact at every commit (sums of the stripes). security_invoker: the reader''s row-level security applies.';
