"""Catalog checks of the security posture, through `dom360db doctor`.

A migrated database has no finding; then each defect a careless change could introduce is injected
into a fresh clone and must be reported by its check (so no check can pass vacuously).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from dom360db import config, doctor, sqlfiles

from support import Database

DEFECTS: dict[str, tuple[str, str, str | None]] = {
    # name: (check that must report it, SQL that breaks the posture, SQL that restores a cluster-wide change)
    "app role BYPASSRLS": ("roles", "ALTER ROLE dom360_app BYPASSRLS", "ALTER ROLE dom360_app NOBYPASSRLS"),
    "app role LOGIN": ("roles", "ALTER ROLE dom360_app LOGIN", "ALTER ROLE dom360_app NOLOGIN"),
    "analytics role SUPERUSER": ("roles", "ALTER ROLE dom360_analytics SUPERUSER", "ALTER ROLE dom360_analytics NOSUPERUSER"),
    "owner role BYPASSRLS": ("roles", "ALTER ROLE dom360_owner BYPASSRLS", "ALTER ROLE dom360_owner NOBYPASSRLS"),
    # (throwaway logins, so that no other test's login ever gains a privilege, even for a moment)
    "login in both roles": ("logins_with_both_roles",
                            "CREATE ROLE dom360_test_defect LOGIN IN ROLE dom360_app, dom360_analytics",
                            "DROP ROLE dom360_test_defect"),
    "superuser app login": ("privileged_members", "CREATE ROLE dom360_test_defect LOGIN SUPERUSER IN ROLE dom360_app",
                            "DROP ROLE dom360_test_defect"),
    "BYPASSRLS analytics login": ("privileged_members",
                                  "CREATE ROLE dom360_test_defect LOGIN BYPASSRLS IN ROLE dom360_analytics",
                                  "DROP ROLE dom360_test_defect"),
    "app owns a table": ("app_owns_objects",
                         "CREATE TABLE public.mine (x int); ALTER TABLE public.mine OWNER TO dom360_app", None),
    "app can create in public": ("app_can_create", "GRANT CREATE ON SCHEMA public TO PUBLIC", None),
    "app can create in dom360": ("app_can_create", "GRANT CREATE ON SCHEMA dom360 TO dom360_app", None),
    "table-level UPDATE for the app": ("app_can_lock", "GRANT UPDATE ON dom360.users TO dom360_app", None),
    "TRUNCATE for the app": ("app_can_lock", "GRANT TRUNCATE ON dom360.messages TO dom360_app", None),
    "DELETE for the app": ("app_can_lock", "GRANT DELETE ON dom360.inboxes TO dom360_app", None),
    "unqualified type inlined into policies": ("unqualified_names",
        "CREATE OR REPLACE FUNCTION dom360.current_tenant_id() RETURNS uuid LANGUAGE sql STABLE "
        "AS $$ SELECT NULLIF(pg_catalog.current_setting('app.tenant_id', true), '')::uuid $$", None),
    "RLS disabled": ("rls_forced", "ALTER TABLE dom360.users DISABLE ROW LEVEL SECURITY", None),
    "RLS not forced": ("rls_forced", "ALTER TABLE dom360.conversations NO FORCE ROW LEVEL SECURITY", None),
    "partition without forced RLS": ("rls_forced",
        "CREATE TABLE dom360.pt (tenant_id uuid NOT NULL, d date NOT NULL) PARTITION BY RANGE (d);"
        "ALTER TABLE dom360.pt ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;"
        "CREATE TABLE dom360.pt_1 PARTITION OF dom360.pt FOR VALUES FROM ('2025-01-01') TO ('2025-02-01')", None),
    "policy dropped": ("tenant_policy", "DROP POLICY tenant_isolation ON dom360.inboxes", None),
    "policy fails open on NULL": ("policy_fails_open",
        "ALTER POLICY tenant_isolation ON dom360.agents USING "
        "(tenant_id = dom360.current_tenant_id() OR dom360.current_tenant_id() IS NULL)", None),
    "policy writes anywhere": ("policy_fails_open",
        "ALTER POLICY tenant_isolation ON dom360.users WITH CHECK (true)", None),
    "analytics policy for everyone": ("policy_fails_open",
        "ALTER POLICY analytics_read ON dom360.users TO PUBLIC", None),
    "extra permissive policy": ("policy_fails_open",
        "CREATE POLICY backdoor ON dom360.account_vars USING (true)", None),
    "owner maintenance policy for everyone": ("policy_fails_open",
        "ALTER POLICY owner_maintenance ON dom360.messages_default TO PUBLIC", None),
    "row parked in the default partition": ("default_partition_rows",
        "SET session_replication_role = replica;"
        "INSERT INTO dom360.messages_default (tenant_id, conversation_id, inbox_id, message_index, role, content, created_at)"
        " VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 1, 'user', 'x', '2040-01-01')", None),
    "privilege on a partition": ("partition_privileges",
        "CREATE TABLE dom360.pt (tenant_id uuid NOT NULL, d date NOT NULL) PARTITION BY RANGE (d);"
        "CREATE TABLE dom360.pt_1 PARTITION OF dom360.pt FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');"
        "GRANT SELECT ON dom360.pt_1 TO dom360_app", None),
    "app reads a materialized view": ("matview_select",
        "CREATE MATERIALIZED VIEW dom360.mv AS SELECT 1 AS x; GRANT SELECT ON dom360.mv TO dom360_app", None),
    "definer without search_path": ("definer_functions",
        "CREATE FUNCTION dom360.f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';"
        "REVOKE EXECUTE ON FUNCTION dom360.f() FROM PUBLIC", None),
    "definer executable by PUBLIC": ("definer_functions",
        "CREATE FUNCTION dom360.f() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog "
        "AS 'SELECT 1'", None),
    "tenant table without tenant_id": ("tenant_columns", "CREATE TABLE dom360.loose (id int PRIMARY KEY)", None),
    "key without tenant_id": ("tenant_columns",
        "CREATE TABLE dom360.loose (tenant_id uuid NOT NULL DEFAULT dom360.current_tenant_id(), id int PRIMARY KEY)", None),
    "tenant_id without default": ("tenant_columns", "ALTER TABLE dom360.agents ALTER COLUMN tenant_id DROP DEFAULT", None),
    "undocumented table": ("undocumented", "COMMENT ON TABLE dom360.inboxes IS NULL", None),
    "undocumented function": ("undocumented", "COMMENT ON FUNCTION dom360.set_tenant(uuid) IS NULL", None),
    "app login without timeouts": ("app_login_timeouts", "CREATE ROLE dom360_test_defect LOGIN IN ROLE dom360_app",
                                   "DROP ROLE dom360_test_defect"),
    "app login with timeouts switched off": ("app_login_timeouts",
        "CREATE ROLE dom360_test_defect LOGIN IN ROLE dom360_app;"
        "ALTER ROLE dom360_test_defect SET idle_in_transaction_session_timeout = '1min';"
        "ALTER ROLE dom360_test_defect SET statement_timeout = 0", "DROP ROLE dom360_test_defect"),
    "pgcrypto missing": ("pgcrypto", "DROP EXTENSION pgcrypto CASCADE", None),
    "summary not populated": ("summary_populated",
        "REFRESH MATERIALIZED VIEW dom360.mv_tenant_consumption_summary WITH NO DATA", None),
    "response turns not backfilled": ("response_backfill",
        "DROP INDEX dom360.messages_answers_idx;"
        "CREATE INDEX messages_answers_idx ON ONLY dom360.messages (tenant_id, created_at) "
        "INCLUDE (turn_asked_at, conversation_id) WHERE turn_asked_at IS NOT NULL", None),
    "index dropped by hand": ("schema_drift", "DROP INDEX dom360.audit_log_tenant_time_idx", None),
    "edited repeatable": ("migrations",
        "UPDATE dom360db_meta.applied_files SET checksum = 'x' WHERE path = 'policies/users.sql'", None),
}


def findings(db: Database) -> list[doctor.Finding]:
    with db.admin() as conn:
        return doctor.run(conn, config.DEFAULTS, sqlfiles.load(config.DEFAULTS))


def test_migrated_database_has_no_finding(db: Database) -> None:
    assert findings(db) == []
    res = subprocess.run([sys.executable, "-m", "dom360db", "doctor", "--dsn", db.admin_dsn],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith("healthy: ")


def test_every_check_is_exercised_by_a_defect() -> None:
    # temp_privilege: tests/test_hostile.py; backup_role: tests/test_backup.py (it needs the backup role, which
    # `dom360db roles` creates)
    assert {check for check, _, _ in DEFECTS.values()} >= set(doctor.check_names()) - {"partitions_ahead", "temp_privilege",
                                                                                       "backup_role"}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_defect_is_reported(db: Database, defect: str) -> None:
    check, breaks, restores = DEFECTS[defect]
    with db.admin() as conn:
        for stmt in breaks.split(";"):
            conn.execute(stmt)
    try:
        got = findings(db)
        assert check in {f.check for f in got}, got
        res = subprocess.run([sys.executable, "-m", "dom360db", "doctor", "--dsn", db.admin_dsn],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 1 and check in res.stdout
        assert res.stderr.strip().startswith("dom360db: error: ") and "finding(s)" in res.stderr
    finally:
        if restores:
            with db.admin() as conn:
                conn.execute(restores)
