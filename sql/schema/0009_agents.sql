SET LOCAL ROLE {{ owner_role | ident }};

CREATE TABLE dom360.agents (
    tenant_id  uuid        NOT NULL DEFAULT dom360.current_tenant_id(),
    id         uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    agent_type text        NOT NULL CHECK (agent_type IN ('SDR', 'COPILOT')),
    name       text        NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
    settings   jsonb       NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(settings) = 'object'),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT agents_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT agents_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES dom360.tenants (id)
);

COMMENT ON TABLE dom360.agents IS 'AI agents configured by a tenant: SDR (qualifies leads) or COPILOT (assists staff).';
COMMENT ON COLUMN dom360.agents.agent_type IS 'SDR or COPILOT: selects the Agent API route (/sdr, /copilot).';
COMMENT ON COLUMN dom360.agents.settings IS 'Free-form agent settings passed to the Agent API (a JSON object).';
