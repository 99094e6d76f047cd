SET LOCAL ROLE {{ owner_role | ident }};

-- The tenant lifecycle (docs/lifecycle.md) records its operations in the audit log next to the row changes:
--   EXPORT  a copy of the whole tenant was written out (dom360db tenant export);
--   IMPORT  the tenant was loaded from an export (dom360db tenant import; its history comes with it);
--   ERASE   the tenant was erased (dom360db tenant delete), after the DELETE of its row;
--   FORGET  one customer's conversations and messages were erased (dom360.forget_customer).
-- The CHECK is widened: the old one is dropped and the new one added NOT VALID (no scan under the ALTER's lock),
-- then validated in its own transaction by schema/0081 (SHARE UPDATE EXCLUSIVE: writers go on). Every existing row
-- passed the narrower check.
-- squawk-ignore ban-drop-constraint
ALTER TABLE dom360.audit_log DROP CONSTRAINT audit_log_operation_check;  -- replaced by a wider one just below

ALTER TABLE dom360.audit_log
    ADD CONSTRAINT audit_log_operation_check
        CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'EXPORT', 'IMPORT', 'ERASE', 'FORGET')) NOT VALID;

COMMENT ON COLUMN dom360.audit_log.operation IS 'INSERT, UPDATE or DELETE (a row change, by dom360.audit_row_change); EXPORT, IMPORT, ERASE or FORGET (a tenant lifecycle operation, docs/lifecycle.md: changes holds its figures, never a customer''s identifier).';
