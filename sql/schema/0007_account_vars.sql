SET LOCAL ROLE {{ owner_role | ident }};

CREATE TABLE dom360.account_vars (
    tenant_id           uuid        NOT NULL DEFAULT dom360.current_tenant_id(),
    agents_endpoint_url text        NOT NULL DEFAULT 'http://localhost:8000' CHECK (agents_endpoint_url ~ '^https?://[^[:space:]]+$'),
    agents_timeout_ms   integer     NOT NULL DEFAULT 30000 CHECK (agents_timeout_ms BETWEEN 100 AND 600000),
    default_agent_type  text        NOT NULL DEFAULT 'SDR' CHECK (default_agent_type IN ('SDR', 'COPILOT')),
    rag_enabled         boolean     NOT NULL DEFAULT true,
    rag_top_k           integer     NOT NULL DEFAULT 5 CHECK (rag_top_k BETWEEN 1 AND 100),
    updated_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT account_vars_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT account_vars_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES dom360.tenants (id)
);

COMMENT ON TABLE dom360.account_vars IS 'Per-tenant agent configuration read by the backend on every chat turn (one row per tenant, created by dom360.create_tenant()).';
COMMENT ON COLUMN dom360.account_vars.agents_endpoint_url IS 'Base URL of the external Agent API; the backend posts to <url>/<agent type in lowercase>.';
COMMENT ON COLUMN dom360.account_vars.agents_timeout_ms IS 'Timeout of one Agent API call, in milliseconds.';
COMMENT ON COLUMN dom360.account_vars.default_agent_type IS 'Agent used when a conversation names none: SDR or COPILOT.';
COMMENT ON COLUMN dom360.account_vars.rag_top_k IS 'Number of retrieved passages passed to the agent when rag_enabled.';
