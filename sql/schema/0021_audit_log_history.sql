SET LOCAL ROLE {{ owner_role | ident }};

-- The audit log is history: it must outlive the rows it describes, the tenant's own row included (the
-- DELETE of a tenant is itself audited, by a row that refers to the deleted tenant). A foreign key to
-- tenants would make deleting a tenant impossible without first deleting its audit trail.
ALTER TABLE dom360.audit_log DROP CONSTRAINT audit_log_tenant_fkey;

COMMENT ON TABLE dom360.audit_log IS 'Append-only record of every INSERT, UPDATE and DELETE on tenants, users, account_vars, agents and inboxes, written by the trigger dom360.audit_row_change() (secrets redacted). Readable by each tenant for its own rows, and by the analytics role across tenants. Nobody updates a row; only the owner role deletes, for retention (dom360.purge_audit_log). Rows outlive the tenant (no foreign key).';
COMMENT ON COLUMN dom360.audit_log.tenant_id IS 'Tenant of the changed row (for dom360.tenants: the row''s id). No foreign key: the log outlives a deleted tenant.';
COMMENT ON COLUMN dom360.audit_log.occurred_at IS 'When the change was made (clock_timestamp() at the change, not the transaction start).';
COMMENT ON COLUMN dom360.audit_log.actor IS 'Role that made the change: the role set with SET ROLE, else the login (session_user); a SECURITY DEFINER function in between does not hide it.';
COMMENT ON COLUMN dom360.audit_log.table_name IS 'The changed table of schema dom360 (tenants, users, account_vars, agents or inboxes).';
COMMENT ON COLUMN dom360.audit_log.operation IS 'INSERT, UPDATE or DELETE.';
COMMENT ON COLUMN dom360.audit_log.changes IS 'Changed columns as {"column": {"old": …, "new": …}}: every column with "new" for an INSERT, with "old" for a DELETE, the columns whose value changed with both for an UPDATE ({} when none did). Secrets (columns named *_enc) show "[redacted]" instead of any value, null when absent.';
