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

-- visible_conversations --
SELECT t.slug, c.external_id, c.status, c.agent_type, c.message_count
  FROM dom360.conversations c JOIN dom360.tenants t ON t.id = c.tenant_id
 ORDER BY c.created_at;

-- all_conversations --
SELECT t.slug, count(*) FROM dom360.conversations c JOIN dom360.tenants t ON t.id = c.tenant_id GROUP BY 1 ORDER BY 1;
