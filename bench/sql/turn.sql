-- name: append --
-- A chat turn's message, as the app after set_tenant (conversation, content, tokens in, out, request id).
SELECT * FROM dom360.append_message(%s, 'user', %s, %s, %s, NULL, NULL, %s)

-- name: plain_insert --
-- The same message by a plain INSERT as the app (no request id): its trigger and foreign-key times.
INSERT INTO dom360.messages (conversation_id, role, content, input_tokens, output_tokens)
VALUES (%s, 'user', %s, %s, %s) RETURNING id, message_index, created_at

-- name: twin_insert --
-- (a)'s bare INSERT into the twin, as the superuser, for target n.
INSERT INTO {twin}.messages AS m (tenant_id, conversation_id, inbox_id, message_index, role, content, input_tokens,
                                  output_tokens, tool_calls, metadata, request_id)
SELECT t.tenant_id, t.conversation_id, t.inbox_id, %(idx)s, 'user', %(content)s, %(tin)s, %(tout)s, NULL, NULL, %(rid)s
  FROM {twin}.targets AS t WHERE t.n = %(n)s
RETURNING m.id, m.message_index, m.created_at

-- name: targets --
-- The write targets of (b): number, tenant, conversation.
SELECT n, tenant_id, conversation_id FROM {twin}.targets WHERE n <= %s

-- name: set_tenant --
-- The first statement of a turn: the tenant context of the transaction.
SELECT dom360.set_tenant(%s)
