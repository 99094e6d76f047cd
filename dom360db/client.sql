-- Queries of dom360db.client: one per stored function (a `-- name --` header before each).

-- set_tenant --
SELECT dom360.set_tenant(%(tenant_id)s);

-- set_encryption_key --
SELECT set_config('app.encryption_key', %(key)s, true) IS NOT NULL;

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

-- tenant_config --
SELECT tenant_id, agents_endpoint_url, agents_timeout_ms, default_agent_type, rag_enabled, rag_top_k, updated_at,
       agents_api_token, webhook_secret, secrets_present
  FROM dom360.get_tenant_config();

-- usage --
SELECT inbox_id, day, messages_count, input_tokens, output_tokens, total_tokens
  FROM dom360.tenant_usage(%(date_from)s, %(date_to)s);
