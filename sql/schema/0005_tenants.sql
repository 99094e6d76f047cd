SET LOCAL ROLE {{ owner_role | ident }};

CREATE TABLE dom360.tenants (
    id         uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    name       text        NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
    slug       text        NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    status     text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT tenants_pkey PRIMARY KEY (id),
    CONSTRAINT tenants_slug_key UNIQUE (slug)
);

COMMENT ON TABLE dom360.tenants IS 'One row per customer account of DOM360. Its id is the tenant_id of every other table. Created with dom360.create_tenant(); the app sees only its own row.';
COMMENT ON COLUMN dom360.tenants.slug IS 'URL-safe unique handle (lowercase letters, digits, hyphens; 2 to 63 characters).';
COMMENT ON COLUMN dom360.tenants.status IS 'active: may be used; suspended or closed: dom360.set_tenant() refuses it.';
