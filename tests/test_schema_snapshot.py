"""The schema snapshot (sql/catalog.txt) and what `doctor` does with it (issue 10).

- The snapshot is exactly what the migrations produce: a schema change without `make snapshot` fails here.
- `doctor` reports every difference between a live database and a fresh install (schema_drift).
- `doctor` on a database with pending files reports them (and the checks that cannot run yet) instead
  of crashing.
"""

from __future__ import annotations

import psycopg
import pytest

from dom360db import catalog, config, doctor, migrate, sqlfiles

from support import Database, Server


def findings(dsn: str) -> list[doctor.Finding]:
    with psycopg.connect(dsn, autocommit=True) as c:
        return doctor.run(c, config.DEFAULTS, sqlfiles.load(config.DEFAULTS))


def test_the_snapshot_is_what_the_migrations_produce(db: Database) -> None:
    with db.admin() as c:
        live = catalog.describe(c, config.DEFAULTS)
    expected = catalog.read_snapshot()
    assert expected is not None, f"sql/{catalog.SNAPSHOT_FILE} is missing: run {catalog.REGENERATE}"
    stale = [f"{d.kind} {d.name}: {d.problem}" for d in catalog.diff(expected, live)]
    assert not stale, (f"sql/{catalog.SNAPSHOT_FILE} is stale (the migrations changed the schema): run "
                       f"{catalog.REGENERATE} and commit the diff\n" + "\n".join(stale[:20]))


def test_the_snapshot_does_not_depend_on_role_names(server: Server) -> None:
    """Role names are written as their parameters: a database migrated with other role names is described the same."""
    params = {**config.DEFAULTS, "owner_role": "dom360_test_r_owner", "app_role": "dom360_test_r_app",
              "analytics_role": "dom360_test_r_analytics"}
    with server.scratch_database("dom360_roles") as dsn:
        migrate.migrate(dsn, sqlfiles.load(params), lock_timeout_s=60, months_ahead=params["months_ahead"])
        with psycopg.connect(dsn, autocommit=True) as c:
            assert catalog.describe(c, params) == catalog.read_snapshot()
            assert doctor.drift(c, params) == []


HAND_MADE = {
    "column added": ("ALTER TABLE dom360.inboxes ADD COLUMN note text", "column inboxes.note", "not in a fresh install"),
    "index dropped": ("DROP INDEX dom360.audit_log_tenant_time_idx", "index dom360.audit_log_tenant_time_idx", "missing"),
    "constraint dropped": ("ALTER TABLE dom360.token_prices DROP CONSTRAINT token_prices_period_check",
                           "constraint token_prices.token_prices_period_check", "missing"),
    "old-style foreign key added": (
        "ALTER TABLE dom360.message_requests ADD CONSTRAINT message_requests_tenant_fkey2 "
        "FOREIGN KEY (tenant_id) REFERENCES dom360.tenants (id)",
        "constraint message_requests.message_requests_tenant_fkey2", "not in a fresh install"),
    "trigger disabled": ("ALTER TABLE dom360.users DISABLE TRIGGER USER", "trigger users.", "differs"),
    "policy altered": ("ALTER POLICY analytics_read ON dom360.users USING (false)", "policy users.analytics_read", "differs"),
    "function body replaced": (
        "CREATE OR REPLACE FUNCTION dom360.tenant_consumption_summary() RETURNS TABLE (month date, messages_count bigint, "
        "input_tokens bigint, output_tokens bigint, total_tokens bigint, active_inboxes integer, refreshed_at timestamptz) "
        "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS "
        "'SELECT NULL::date, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0, now()'",
        "function dom360.tenant_consumption_summary()", "differs"),
    "grant added": ("GRANT DELETE ON dom360.audit_log TO dom360_app", "table audit_log", "differs"),
    "column type changed": ("ALTER TABLE dom360.inboxes ALTER COLUMN name TYPE varchar(200)", "column inboxes.name", "differs"),
}


@pytest.mark.parametrize("change", list(HAND_MADE))
def test_doctor_reports_a_hand_made_change(db: Database, change: str) -> None:
    stmt, obj, problem = HAND_MADE[change]
    with db.admin() as c:
        c.execute(stmt)
    drift = [f for f in findings(db.admin_dsn) if f.check == "schema_drift"]
    assert any(f.object.startswith(obj) and f.problem.startswith(problem) for f in drift), drift


def test_doctor_reports_pending_files_instead_of_failing(server: Server) -> None:
    """A database migrated by the first files only (as one from before an upgrade): doctor lists what is
    pending and the checks that cannot run yet, and does not crash on a function that does not exist."""
    files = sqlfiles.load(config.DEFAULTS)
    early = [f for f in files if f.kind == "versioned" and f.version is not None and f.version <= 13]
    with server.scratch_database("dom360_early") as dsn:
        migrate.migrate(dsn, early, lock_timeout_s=60)
        got = findings(dsn)
        pending = {f.object for f in got if f.check == "migrations"}
        assert pending == {f.path for f in files if f not in early}
        not_run = {f.check for f in got if f.object == "check"}
        assert "default_partition_rows" in not_run  # dom360.default_partition_rows() does not exist yet
        assert all("dom360db migrate" in f.fix for f in got if f.object == "check")
        assert not [f for f in got if f.check == "schema_drift"]  # the pending files are the difference
