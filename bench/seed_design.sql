-- The seed's design (../shared/seed/dom360-architecture.md), built by bench/run.py in schema dom360_bench_seed of
-- the bench database, so that (sb) and (sc) measure it on the same server, in the same run, under the same
-- conditions as (a), (b) and (c). What the seed specifies, and only that:
--   * row-level security on every table, one policy FOR ALL USING (tenant_id = current_tenant_id()), the
--     tenant in the setting app.tenant_id;
--   * messages partitioned by month, with the seed's three indexes (tenant_id, created_at DESC),
--     (conversation_id, message_index), GIN (tool_calls) (jsonb_path_ops, as ours), and foreign keys along the
--     seed's diagram: tenants <- inboxes, conversations; messages -> tenants, conversations, inboxes;
--     consumption_inbox_daily -> tenants, inboxes;
--   * "Trigger: message_index++" on INSERT: the seed does not say how; built here as the issue requires of us
--     (UPDATE of a counter on the conversation row ... RETURNING, not max()+1), which also fills inbox_id;
--   * "Trigger: update_consumption_daily ... atomic UPDATE consumption_inbox_daily": one row per (tenant, inbox,
--     UTC day), an INSERT ... ON CONFLICT DO UPDATE after each message.
-- Not in the seed, so not here: no request ids (no idempotency: a retried request stores its message twice), no
-- validation beyond the CHECKs, no SECURITY DEFINER (the app may write the counters directly), no FORCE ROW LEVEL
-- SECURITY (the owner bypasses the policies). {schema} and {app} are filled in as identifiers by bench/prepare.py.
CREATE SCHEMA {schema};
CREATE FUNCTION {schema}.current_tenant_id() RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;
CREATE TABLE {schema}.tenants (id uuid PRIMARY KEY, name text NOT NULL, status text NOT NULL DEFAULT 'active');
CREATE TABLE {schema}.inboxes (
    id uuid PRIMARY KEY, tenant_id uuid NOT NULL REFERENCES {schema}.tenants (id), name text NOT NULL);
CREATE TABLE {schema}.conversations (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES {schema}.tenants (id),
    inbox_id uuid NOT NULL REFERENCES {schema}.inboxes (id),
    external_id text NOT NULL,
    status text NOT NULL DEFAULT 'open',
    message_count integer NOT NULL DEFAULT 0,
    last_message_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE {schema}.messages (
    id bigserial,
    tenant_id uuid NOT NULL DEFAULT {schema}.current_tenant_id() REFERENCES {schema}.tenants (id),
    conversation_id uuid NOT NULL REFERENCES {schema}.conversations (id),
    inbox_id uuid REFERENCES {schema}.inboxes (id),
    message_index integer,
    role text NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
    content text NOT NULL,
    input_tokens integer NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens integer NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    total_tokens bigint GENERATED ALWAYS AS (input_tokens::bigint + output_tokens) STORED,
    tool_calls jsonb,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX ON {schema}.messages (tenant_id, created_at DESC);
CREATE INDEX ON {schema}.messages (conversation_id, message_index);
CREATE INDEX ON {schema}.messages USING gin (tool_calls jsonb_path_ops);
CREATE TABLE {schema}.consumption_inbox_daily (
    tenant_id uuid NOT NULL REFERENCES {schema}.tenants (id),
    inbox_id uuid NOT NULL REFERENCES {schema}.inboxes (id),
    day date NOT NULL,
    messages_count bigint NOT NULL DEFAULT 0,
    input_tokens bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    total_tokens bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, inbox_id, day));

CREATE FUNCTION {schema}.set_message_index() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {schema}.conversations AS c
       SET message_count = c.message_count + 1, last_message_at = NEW.created_at, updated_at = now()
     WHERE c.id = NEW.conversation_id
    RETURNING c.message_count, c.inbox_id INTO NEW.message_index, NEW.inbox_id;
    RETURN NEW;
END $$;
CREATE FUNCTION {schema}.update_consumption_daily() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {schema}.consumption_inbox_daily AS d
           (tenant_id, inbox_id, day, messages_count, input_tokens, output_tokens, total_tokens)
    VALUES (NEW.tenant_id, NEW.inbox_id, (NEW.created_at AT TIME ZONE 'UTC')::date, 1, NEW.input_tokens,
            NEW.output_tokens, NEW.total_tokens)
    ON CONFLICT (tenant_id, inbox_id, day) DO UPDATE
       SET messages_count = d.messages_count + 1,
           input_tokens = d.input_tokens + excluded.input_tokens,
           output_tokens = d.output_tokens + excluded.output_tokens,
           total_tokens = d.total_tokens + excluded.total_tokens;
    RETURN NULL;
END $$;
CREATE TRIGGER set_message_index BEFORE INSERT ON {schema}.messages
    FOR EACH ROW EXECUTE FUNCTION {schema}.set_message_index();
CREATE TRIGGER update_consumption_daily AFTER INSERT ON {schema}.messages
    FOR EACH ROW EXECUTE FUNCTION {schema}.update_consumption_daily();

ALTER TABLE {schema}.tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {schema}.tenants FOR ALL USING (id = {schema}.current_tenant_id());
ALTER TABLE {schema}.inboxes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {schema}.inboxes FOR ALL USING (tenant_id = {schema}.current_tenant_id());
ALTER TABLE {schema}.conversations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {schema}.conversations FOR ALL USING (tenant_id = {schema}.current_tenant_id());
ALTER TABLE {schema}.messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {schema}.messages FOR ALL USING (tenant_id = {schema}.current_tenant_id());
ALTER TABLE {schema}.consumption_inbox_daily ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {schema}.consumption_inbox_daily FOR ALL
    USING (tenant_id = {schema}.current_tenant_id());

GRANT USAGE ON SCHEMA {schema} TO {app};
GRANT SELECT ON {schema}.tenants, {schema}.inboxes TO {app};
GRANT SELECT, UPDATE ON {schema}.conversations TO {app};
GRANT SELECT, INSERT ON {schema}.messages TO {app};
GRANT SELECT, INSERT, UPDATE ON {schema}.consumption_inbox_daily TO {app};
GRANT USAGE ON SEQUENCE {schema}.messages_id_seq TO {app};
