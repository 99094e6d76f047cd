{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.audit_log_append_only()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
/* BEFORE UPDATE, DELETE or TRUNCATE, for each statement, on dom360.audit_log: the log is append-only.
   - UPDATE is refused for every role, the owner included: nobody rewrites an audit row.
   - DELETE and TRUNCATE run only as the owner role itself (current_user), which is what
     dom360.purge_audit_log() (SECURITY DEFINER) does for retention; refused for anyone else, superusers
     and the owner's member logins included (they call purge_audit_log, or SET ROLE to the owner: a
     deliberate act).
   The app and analytics roles have no such privilege at all: they fail before this trigger runs.
   SECURITY INVOKER on purpose: current_user must be the role running the statement. A superuser can still
   switch the trigger off (ALTER TABLE … DISABLE TRIGGER, session_replication_role = replica): no rule in
   the database binds a superuser; log DDL and ship the server log elsewhere for that. */
BEGIN
    IF TG_OP = 'UPDATE' OR current_user <> {{ owner_role | literal }} THEN
        RAISE EXCEPTION 'dom360.audit_log is append-only: % refused for role %', TG_OP, current_user
            USING ERRCODE = 'insufficient_privilege',
                  HINT = CASE WHEN TG_OP = 'UPDATE' THEN 'audit rows are never updated'
                              ELSE 'old rows are removed by dom360.purge_audit_log() (owner role and its members)' END;
    END IF;
    RETURN NULL;
END
$$;

{% call privileges('dom360.audit_log_append_only()') -%}
COMMENT ON FUNCTION dom360.audit_log_append_only() IS 'Trigger of dom360.audit_log: refuses every UPDATE, and DELETE or TRUNCATE unless run as the owner role itself (dom360.purge_audit_log does), superusers included.';
{%- endcall %}

DROP TRIGGER IF EXISTS audit_log_append_only ON dom360.audit_log;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON dom360.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION dom360.audit_log_append_only();
