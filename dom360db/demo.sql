-- Queries of `dom360db demo`. Each starts with a `-- name --` header (loaded by dom360db.queries).

-- find_tenant --
SELECT id FROM dom360.tenants WHERE slug = %(slug)s;

-- create_tenant --
SELECT dom360.create_tenant(%(name)s, %(slug)s);

-- act_as_app --
SET LOCAL ROLE dom360_app;

-- set_tenant --
SELECT dom360.set_tenant(%(tenant_id)s);

-- inbox --
INSERT INTO dom360.inboxes (name, channel) VALUES ('Site chat', 'web') RETURNING id;

-- user --
INSERT INTO dom360.users (email, name, role) VALUES (%(email)s, %(name)s, 'admin');

-- conversation --
INSERT INTO dom360.conversations (inbox_id, external_id, agent_type) VALUES (%(inbox_id)s, %(external_id)s, 'SDR')
RETURNING id;

-- message --
SELECT message_index FROM dom360.append_message(%(conversation_id)s, %(role)s, %(content)s, %(input_tokens)s,
                                                 %(output_tokens)s, NULL, NULL, %(request_id)s);

-- visible_messages --
SELECT t.slug, c.external_id, m.message_index, m.role, m.content, m.total_tokens
  FROM dom360.messages m
  JOIN dom360.conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id
  JOIN dom360.tenants t ON t.id = m.tenant_id
 ORDER BY c.created_at, m.message_index;

-- visible_usage --
SELECT day, messages_count, input_tokens, output_tokens, total_tokens FROM dom360.tenant_usage();

-- visible_conversations --
SELECT t.slug, c.external_id, c.status, c.agent_type, c.message_count
  FROM dom360.conversations c JOIN dom360.tenants t ON t.id = c.tenant_id
 ORDER BY c.created_at;

-- all_conversations --
SELECT t.slug, count(*) FROM dom360.conversations c JOIN dom360.tenants t ON t.id = c.tenant_id GROUP BY 1 ORDER BY 1;
