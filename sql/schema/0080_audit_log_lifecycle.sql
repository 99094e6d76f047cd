SET LOCAL ROLE {{ owner_role | ident }};

-- The tenant lifecycle (docs/lifecycle.md) records its operations in the audit log next to the row changes:
--   EXPORT  a copy of the whole tenant was written out (dom360db tenant export);
--   IMPORT  the tenant was loaded from an export (dom360db tenant import; its history comes with it);
--   ERASE   the tenant was erased (dom360db tenant delete), after the DELETE of its row;
--   FORGET  one customer's conversations and messages were erased (dom360.forget_customer).
-- The log is small (configuration changes), so re-validating the widened CHECK is a short scan.
ALTER TABLE dom360.audit_log
    DROP CONSTRAINT audit_log_operation_check,
    ADD CONSTRAINT audit_log_operation_check
        CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'EXPORT', 'IMPORT', 'ERASE', 'FORGET'));

COMMENT ON COLUMN dom360.audit_log.operation IS 'INSERT, UPDATE or DELETE (a row change, by dom360.audit_row_change); EXPORT, IMPORT, ERASE or FORGET (a tenant lifecycle operation, docs/lifecycle.md: changes holds its figures, never a customer''s identifier).';
