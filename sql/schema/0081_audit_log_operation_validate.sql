-- dom360:no-transaction
-- Validates the CHECK that schema/0080 added NOT VALID, in a transaction of its own: the scan holds only
-- SHARE UPDATE EXCLUSIVE on dom360.audit_log, so the audit triggers' INSERTs go on meanwhile.
SET ROLE {{ owner_role | ident }};

-- Safe to re-run (validating a valid constraint does nothing), so a run that fails here is simply run again.
-- squawk-ignore prefer-robust-stmts
ALTER TABLE dom360.audit_log VALIDATE CONSTRAINT audit_log_operation_check;

RESET ROLE;
