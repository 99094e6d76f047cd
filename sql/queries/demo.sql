-- Queries of `dom360db demo`. Each starts with a `-- name: … --` header and a one-line description (loaded by dom360db.queries).

-- name: find_tenant --
-- The id of a demo tenant, if it exists.
SELECT id FROM dom360.tenants WHERE slug = %(slug)s;

-- name: create_tenant --
-- Create a demo tenant.
SELECT dom360.create_tenant(%(name)s, %(slug)s);

-- name: act_as_app --
-- Act as the app role for the rest of the transaction.
SELECT pg_catalog.set_config('role', %(app_role)s, true);  -- SET LOCAL ROLE, the role name a bound value

-- name: inbox --
-- Create the demo tenant's inbox.
INSERT INTO dom360.inboxes (name, channel) VALUES ('Site chat', 'web') RETURNING id;

-- name: user --
-- Create the demo tenant's admin user.
INSERT INTO dom360.users (email, name, role) VALUES (%(email)s, %(name)s, 'admin');

-- name: conversation --
-- Open the demo conversation.
INSERT INTO dom360.conversations (inbox_id, external_id, agent_type) VALUES (%(inbox_id)s, %(external_id)s, 'SDR')
RETURNING id;

-- name: message --
-- Append one demo message.
SELECT message_index FROM dom360.append_message(%(conversation_id)s, %(role)s, %(content)s, %(input_tokens)s,
                                                 %(output_tokens)s, NULL, NULL, %(request_id)s);

-- name: visible_messages --
-- The messages the app role sees with this tenant set.
SELECT t.slug, c.external_id, m.message_index, m.role, m.content, m.total_tokens
  FROM dom360.messages m
  JOIN dom360.conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id
  JOIN dom360.tenants t ON t.id = m.tenant_id
 ORDER BY c.created_at, m.message_index;

-- name: visible_usage --
-- The usage the app role sees with this tenant set.
SELECT day, messages_count, input_tokens, output_tokens, total_tokens FROM dom360.tenant_usage();

-- name: visible_conversations --
-- The conversations the app role sees with this tenant set.
SELECT t.slug, c.external_id, c.status, c.agent_type, c.message_count
  FROM dom360.conversations c JOIN dom360.tenants t ON t.id = c.tenant_id
 ORDER BY c.created_at;

-- name: all_conversations --
-- Conversations per tenant, as the admin sees them.
SELECT t.slug, count(*) FROM dom360.conversations c JOIN dom360.tenants t ON t.id = c.tenant_id GROUP BY 1 ORDER BY 1;
