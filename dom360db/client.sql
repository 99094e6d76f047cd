-- Queries of dom360db.client: one per stored function (a `-- name --` header before each).
--
-- The chat turn (Dom360.chat_turn) is one pipeline: begin, set_tenant, turn_append, turn_history, commit, then
-- one Sync. turn_append gets or creates the open conversation and appends the message in one statement (the
-- conversation id is not known when the pipeline is sent); turn_history finds that conversation again by its
-- open key (the message just appended holds its row locked, so it cannot be closed meanwhile).

-- begin --
BEGIN;

-- commit --
COMMIT;

-- set_tenant --
SELECT dom360.set_tenant(%(tenant_id)s);

-- set_encryption_key --
SELECT pg_catalog.set_config('app.encryption_key', %(key)s, true) IS NOT NULL;

-- get_or_create_conversation --
SELECT dom360.get_or_create_conversation(%(inbox_id)s, %(external_id)s, %(agent_type)s);

-- append_message --
SELECT message_id, message_index, created_at
  FROM dom360.append_message(%(conversation_id)s, %(role)s, %(content)s, %(input_tokens)s, %(output_tokens)s,
                             %(tool_calls)s, %(metadata)s, %(request_id)s);

-- recent_messages --
SELECT message_id, message_index, role, content, input_tokens, output_tokens, total_tokens, tool_calls, metadata,
       request_id, created_at
  FROM dom360.recent_messages(%(conversation_id)s, %(limit)s);

-- tenant_recent_messages --
SELECT message_id, conversation_id, inbox_id, message_index, role, content, total_tokens, created_at
  FROM dom360.tenant_recent_messages(%(limit)s);

-- tenant_config --
SELECT tenant_id, agents_endpoint_url, agents_timeout_ms, default_agent_type, rag_enabled, rag_top_k, updated_at,
       agents_api_token, webhook_secret, secrets_present
  FROM dom360.get_tenant_config();

-- usage --
SELECT inbox_id, day, messages_count, input_tokens, output_tokens, total_tokens
  FROM dom360.tenant_usage(%(date_from)s, %(date_to)s);

-- tenant_consumption_summary --
SELECT month, messages_count, input_tokens, output_tokens, total_tokens, active_inboxes, refreshed_at
  FROM dom360.tenant_consumption_summary();

-- tenant_usage_daily --
SELECT day, inbox_id, agent_type, messages_count, input_tokens, output_tokens, total_tokens
  FROM dom360.tenant_usage_daily(%(date_from)s, %(date_to)s);

-- tenant_cost_daily --
SELECT day, inbox_id, agent_type, input_tokens, output_tokens, currency, input_price_per_1k, output_price_per_1k,
       input_cost, output_cost, cost
  FROM dom360.tenant_cost_daily(%(date_from)s, %(date_to)s);

-- tenant_response_times --
SELECT day, agent_type, turns, answered, unanswered, p50_seconds, p95_seconds
  FROM dom360.tenant_response_times(%(date_from)s, %(date_to)s);

-- tenant_lead_funnel --
SELECT month, stage, stage_order, conversations, rate_from_previous, rate_from_new, median_hours_to_reach
  FROM dom360.tenant_lead_funnel(%(date_from)s, %(date_to)s);

-- set_conversation_stage --
SELECT dom360.set_conversation_stage(%(conversation_id)s, %(stage)s, %(reached_at)s);

-- set_account_secret --
SELECT dom360.set_account_secret(%(name)s, %(plaintext)s, %(key)s) IS NULL;

-- encrypt_sensitive_field --
SELECT dom360.encrypt_sensitive_field(%(plaintext)s, %(key)s);

-- decrypt_sensitive_field --
SELECT dom360.decrypt_sensitive_field(%(ciphertext)s, %(key)s);

-- create_inbox --
INSERT INTO dom360.inboxes (name, channel) VALUES (%(name)s, %(channel)s) RETURNING id, name, channel, created_at;

-- inboxes --
SELECT id, name, channel, created_at FROM dom360.inboxes ORDER BY created_at, id;

-- delete_conversation --
SELECT count(*) > 0 FROM dom360.delete_conversation(%(id)s);

-- delete_user --
SELECT count(*) > 0 FROM dom360.delete_user(%(id)s);

-- delete_inbox --
SELECT count(*) > 0 FROM dom360.delete_inbox(%(id)s);

-- delete_agent --
SELECT count(*) > 0 FROM dom360.delete_agent(%(id)s);

-- forget_customer --
SELECT conversations, messages FROM dom360.forget_customer(%(external_id)s);

-- turn_append --
SELECT c.id AS conversation_id, m.message_id, m.message_index, m.created_at
  FROM dom360.get_or_create_conversation(%(inbox_id)s, %(external_id)s, %(agent_type)s) AS c (id)
 CROSS JOIN LATERAL dom360.append_message(c.id, %(role)s, %(content)s, %(input_tokens)s, %(output_tokens)s,
                                          %(tool_calls)s, %(metadata)s, %(request_id)s) AS m;

-- turn_history --
SELECT r.message_id, r.message_index, r.role, r.content, r.input_tokens, r.output_tokens, r.total_tokens,
       r.tool_calls, r.metadata, r.request_id, r.created_at
  FROM dom360.conversations AS c
 CROSS JOIN LATERAL dom360.recent_messages(c.id, %(limit)s) AS r
 WHERE c.tenant_id = dom360.current_tenant_id() AND c.inbox_id = %(inbox_id)s
   AND c.external_id = %(external_id)s AND c.status = 'open'
 ORDER BY r.message_index DESC;
