-- name: tenants --
-- The seed design's tenants: copies of the bench's.
INSERT INTO {seed}.tenants (id, name) SELECT t.tenant_id, 'Bench tenant ' || t.n FROM {twin}.tenants AS t

-- name: inboxes --
-- Their inboxes, the same ids.
INSERT INTO {seed}.inboxes (id, tenant_id, name) SELECT t.inbox_id, t.tenant_id, 'Site chat' FROM {twin}.tenants AS t

-- name: conversations --
-- The conversations of (b) and (c), the same ids.
INSERT INTO {seed}.conversations (id, tenant_id, inbox_id, external_id)
SELECT t.conversation_id, t.tenant_id, t.inbox_id, 'bench-customer-' || t.n FROM {twin}.targets AS t

-- name: analyze_tenants --
-- Statistics.
ANALYZE {seed}.tenants

-- name: analyze_inboxes --
-- Statistics.
ANALYZE {seed}.inboxes

-- name: analyze_conversations --
-- Statistics.
ANALYZE {seed}.conversations
