CREATE SCHEMA dom360 AUTHORIZATION {{ owner_role | ident }};

COMMENT ON SCHEMA dom360 IS 'DOM360: tenants, inboxes, agents, conversations, messages and their consumption. Every tenant table is isolated by row-level security on the transaction-scoped setting app.tenant_id (see dom360.set_tenant).';

REVOKE ALL ON SCHEMA dom360 FROM PUBLIC;
GRANT USAGE ON SCHEMA dom360 TO {{ app_role | ident }}, {{ analytics_role | ident }};
