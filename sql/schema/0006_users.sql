SET LOCAL ROLE {{ owner_role | ident }};

CREATE TABLE dom360.users (
    tenant_id  uuid        NOT NULL DEFAULT dom360.current_tenant_id(),
    id         uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    email      text        NOT NULL CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' AND pg_catalog.length(email) <= 320),
    name       text        NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
    role       text        NOT NULL DEFAULT 'agent' CHECK (role IN ('owner', 'admin', 'agent', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT users_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT users_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES dom360.tenants (id)
);

-- Unique per tenant and case-insensitive: two tenants may both have ana@example.com.
CREATE UNIQUE INDEX users_tenant_email_key ON dom360.users (tenant_id, pg_catalog.lower(email));

COMMENT ON TABLE dom360.users IS 'Human staff of a tenant (who use the COPILOT agent and the dashboard).';
COMMENT ON COLUMN dom360.users.email IS 'Login e-mail; unique per tenant regardless of case (index users_tenant_email_key).';
COMMENT ON COLUMN dom360.users.role IS 'Permission level inside the tenant: owner, admin, agent or viewer.';
