SET LOCAL ROLE {{ owner_role | ident }};

CREATE TABLE dom360.audit_log (
    tenant_id   uuid        NOT NULL DEFAULT dom360.current_tenant_id(),
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    occurred_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    actor       text        NOT NULL DEFAULT current_user,
    app_user_id text        DEFAULT NULLIF(pg_catalog.current_setting('app.user_id', true), ''),
    table_name  text        NOT NULL,
    operation   text        NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
    row_key     jsonb       NOT NULL,
    changes     jsonb       NOT NULL DEFAULT '{}',
    CONSTRAINT audit_log_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT audit_log_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES dom360.tenants (id)
);

CREATE INDEX audit_log_tenant_time_idx ON dom360.audit_log (tenant_id, occurred_at DESC);

COMMENT ON TABLE dom360.audit_log IS 'Append-only record of changes to tenant configuration tables. Readable by each tenant for its own rows; written only by the owner''s triggers.';
COMMENT ON COLUMN dom360.audit_log.actor IS 'Database role that made the change (current_user).';
COMMENT ON COLUMN dom360.audit_log.app_user_id IS 'Application user that made the change, from the optional transaction setting app.user_id.';
COMMENT ON COLUMN dom360.audit_log.row_key IS 'Primary key of the changed row, as a JSON object.';
COMMENT ON COLUMN dom360.audit_log.changes IS 'Changed columns: {"column": {"old": …, "new": …}}, secrets redacted.';
