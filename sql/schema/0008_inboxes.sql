SET LOCAL ROLE {{ owner_role | ident }};

CREATE TABLE dom360.inboxes (
    tenant_id  uuid        NOT NULL DEFAULT dom360.current_tenant_id(),
    id         uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    name       text        NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
    channel    text        NOT NULL CHECK (channel IN ('web', 'whatsapp', 'email', 'instagram', 'telegram', 'sms', 'api')),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT inboxes_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT inboxes_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES dom360.tenants (id)
);

COMMENT ON TABLE dom360.inboxes IS 'A channel through which a tenant''s customers reach its agents (a web widget, a WhatsApp number, …).';
COMMENT ON COLUMN dom360.inboxes.channel IS 'web, whatsapp, email, instagram, telegram, sms or api.';
