-- Queries of dom360db.client: one per stored function (a `-- name: … --` header and a one-line description before each).
--
-- The chat turn (Dom360.chat_turn) is one pipeline: begin, set_tenant, turn_append, turn_history, commit, then
-- one Sync. turn_append gets or creates the open conversation and appends the message in one statement (the
-- conversation id is not known when the pipeline is sent); turn_history finds that conversation again by its
-- open key (the message just appended holds its row locked, so it cannot be closed meanwhile).

-- name: begin --
-- Open the transaction of a pipelined chat turn.
BEGIN;

-- name: commit --
-- Commit the transaction of a pipelined chat turn.
COMMIT;

-- name: set_encryption_key --
-- Set app.encryption_key for this transaction only.
SELECT pg_catalog.set_config('app.encryption_key', %(key)s, true) IS NOT NULL;

-- name: get_or_create_conversation --
-- The open conversation of (inbox, customer, agent), created if there is none.
SELECT dom360.get_or_create_conversation(%(inbox_id)s, %(external_id)s, %(agent_type)s);

-- name: append_message --
-- Append a message to a conversation; its index, id and time.
SELECT message_id, message_index, created_at
  FROM dom360.append_message(%(conversation_id)s, %(role)s, %(content)s, %(input_tokens)s, %(output_tokens)s,
                             %(tool_calls)s, %(metadata)s, %(request_id)s);

-- name: recent_messages --
-- The last messages of one conversation, oldest first.
SELECT message_id, message_index, role, content, input_tokens, output_tokens, total_tokens, tool_calls, metadata,
       request_id, created_at
  FROM dom360.recent_messages(%(conversation_id)s, %(limit)s);

-- name: tenant_recent_messages --
-- The tenant's latest messages across conversations.
SELECT message_id, conversation_id, inbox_id, message_index, role, content, total_tokens, created_at
  FROM dom360.tenant_recent_messages(%(limit)s);

-- name: tenant_config --
-- The tenant's agent configuration row.
SELECT tenant_id, agents_endpoint_url, agents_timeout_ms, default_agent_type, rag_enabled, rag_top_k, updated_at,
       agents_api_token, webhook_secret, secrets_present
  FROM dom360.get_tenant_config();

-- name: usage --
-- Per-inbox daily usage counters of the tenant.
SELECT inbox_id, day, messages_count, input_tokens, output_tokens, total_tokens
  FROM dom360.tenant_usage(%(date_from)s, %(date_to)s);

-- name: tenant_consumption_summary --
-- The tenant's monthly consumption summary.
SELECT month, messages_count, input_tokens, output_tokens, total_tokens, active_inboxes, refreshed_at
  FROM dom360.tenant_consumption_summary();

-- name: tenant_usage_daily --
-- The tenant's daily usage per inbox and agent type.
SELECT day, inbox_id, agent_type, messages_count, input_tokens, output_tokens, total_tokens
  FROM dom360.tenant_usage_daily(%(date_from)s, %(date_to)s);

-- name: tenant_cost_daily --
-- The tenant's daily cost per inbox and agent type.
SELECT day, inbox_id, agent_type, input_tokens, output_tokens, currency, input_price_per_1k, output_price_per_1k,
       input_cost, output_cost, cost
  FROM dom360.tenant_cost_daily(%(date_from)s, %(date_to)s);

-- name: tenant_response_times --
-- The tenant's daily response times per agent type.
SELECT day, agent_type, turns, answered, unanswered, p50_seconds, p95_seconds
  FROM dom360.tenant_response_times(%(date_from)s, %(date_to)s);

-- name: tenant_lead_funnel --
-- The tenant's lead funnel per month.
SELECT month, stage, stage_order, conversations, rate_from_previous, rate_from_new, median_hours_to_reach
  FROM dom360.tenant_lead_funnel(%(date_from)s, %(date_to)s);

-- name: set_conversation_stage --
-- Record that a conversation reached a funnel stage.
SELECT dom360.set_conversation_stage(%(conversation_id)s, %(stage)s, %(reached_at)s);

-- name: set_account_secret --
-- Store (encrypted) one account secret of the tenant.
SELECT dom360.set_account_secret(%(name)s, %(plaintext)s, %(key)s) IS NULL;

-- name: encrypt_sensitive_field --
-- Encrypt a value with the given key.
SELECT dom360.encrypt_sensitive_field(%(plaintext)s, %(key)s);

-- name: decrypt_sensitive_field --
-- Decrypt a value with the given key.
SELECT dom360.decrypt_sensitive_field(%(ciphertext)s, %(key)s);

-- name: create_inbox --
-- Create an inbox of the tenant.
INSERT INTO dom360.inboxes (name, channel) VALUES (%(name)s, %(channel)s) RETURNING id, name, channel, created_at;

-- name: inboxes --
-- The tenant's inboxes, oldest first.
SELECT id, name, channel, created_at FROM dom360.inboxes ORDER BY created_at, id;

-- name: delete_conversation --
-- Delete one conversation of the tenant (true if it existed).
SELECT count(*) > 0 FROM dom360.delete_conversation(%(id)s);

-- name: delete_user --
-- Delete one user of the tenant (true if it existed).
SELECT count(*) > 0 FROM dom360.delete_user(%(id)s);

-- name: delete_inbox --
-- Delete one inbox of the tenant (true if it existed).
SELECT count(*) > 0 FROM dom360.delete_inbox(%(id)s);

-- name: delete_agent --
-- Delete one agent of the tenant (true if it existed).
SELECT count(*) > 0 FROM dom360.delete_agent(%(id)s);

-- name: forget_customer --
-- Erase one customer's conversations and messages (right to be forgotten).
SELECT conversations, messages FROM dom360.forget_customer(%(external_id)s);

-- name: turn_append --
-- Chat turn: get or create the open conversation and append the message, in one statement.
SELECT c.id AS conversation_id, m.message_id, m.message_index, m.created_at
  FROM dom360.get_or_create_conversation(%(inbox_id)s, %(external_id)s, %(agent_type)s) AS c (id)
 CROSS JOIN LATERAL dom360.append_message(c.id, %(role)s, %(content)s, %(input_tokens)s, %(output_tokens)s,
                                          %(tool_calls)s, %(metadata)s, %(request_id)s) AS m;

-- name: turn_history --
-- Chat turn: the recent history of the conversation the message was appended to.
SELECT r.message_id, r.message_index, r.role, r.content, r.input_tokens, r.output_tokens, r.total_tokens,
       r.tool_calls, r.metadata, r.request_id, r.created_at
  FROM dom360.conversations AS c
 CROSS JOIN LATERAL dom360.recent_messages(c.id, %(limit)s) AS r
 WHERE c.tenant_id = dom360.current_tenant_id() AND c.inbox_id = %(inbox_id)s
   AND c.external_id = %(external_id)s AND c.status = 'open'
 ORDER BY r.message_index DESC;
