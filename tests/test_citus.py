"""Citus: the schema distributed by tenant, row-level security on the shards, the chat path on one shard.

Runs on the citus backend only (DOM360_TEST_BACKEND=citus, DOM360_TEST_DSN = a coordinator with workers);
skipped elsewhere. docs/citus.md."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import conninfo

from support import APP_LOGIN, LOGIN_PASSWORD, Database, Server, scalar, seed, with_db


@pytest.fixture(autouse=True)
def _citus_only(server) -> None:  # type: ignore[no-untyped-def]
    if server.backend != "citus":
        pytest.skip("Citus only: DOM360_TEST_BACKEND=citus with DOM360_TEST_DSN = a Citus coordinator")


def tenant_tables(db: Database) -> list[str]:
    with db.admin() as c:
        return [r[0] for r in c.execute(
            "SELECT c.oid::regclass::text FROM pg_class AS c WHERE c.relnamespace = 'dom360'::regnamespace "
            "AND c.relkind IN ('r', 'p') AND EXISTS (SELECT FROM pg_attribute AS a WHERE a.attrelid = c.oid "
            "AND a.attname = 'tenant_id' AND NOT a.attisdropped) ORDER BY 1")]


def test_every_tenant_table_is_distributed_by_tenant_in_one_colocation_group(db: Database) -> None:
    tables = tenant_tables(db)
    assert "dom360.messages_default" in tables and "dom360.messages" in tables
    assert any(t.startswith("dom360.messages_20") for t in tables)  # the monthly partitions
    with db.admin() as c:
        dist = {r[0]: r[1:] for r in c.execute(
            "SELECT logicalrelid::regclass::text, partmethod, column_to_column_name(logicalrelid, partkey), "
            "colocationid FROM pg_dist_partition")}
        tenants = c.execute("SELECT partmethod, repmodel FROM pg_dist_partition "
                            "WHERE logicalrelid = 'dom360.tenants'::regclass").fetchone()
    missing = [t for t in tables if t not in dist]
    assert not missing, f"local tenant tables: {missing}"
    assert {dist[t][0] for t in tables} == {"h"}
    assert {dist[t][1] for t in tables} == {"tenant_id"}
    assert len({dist[t][2] for t in tables}) == 1, "more than one colocation group"
    assert tenants == ("n", "t"), "dom360.tenants is a reference table"


def test_a_new_monthly_partition_is_distributed_in_the_group(db: Database) -> None:
    with db.admin() as c:
        c.execute("SELECT dom360.ensure_message_partitions(8)")
        rows = c.execute(
            "SELECT count(DISTINCT d.colocationid), count(*) FILTER (WHERE d.logicalrelid IS NULL) "
            "FROM pg_inherits AS i LEFT JOIN pg_dist_partition AS d ON d.logicalrelid = i.inhrelid "
            "WHERE i.inhparent = 'dom360.messages'::regclass").fetchone()
    assert rows == (1, 0)


def _worker_shard(db: Database, table: str, tenant: object) -> tuple[str, str]:
    """(worker DSN for the app login in this database, shard name) of the tenant's shard of `table`."""
    with db.admin() as c:
        host, port, shard = c.execute(
            "SELECT n.nodename, n.nodeport, s.shard_name FROM ("
            "  SELECT get_shard_id_for_distribution_column(%s, %s) AS shardid) AS x "
            "JOIN pg_dist_placement AS p USING (shardid) JOIN pg_dist_node AS n USING (groupid) "
            "CROSS JOIN LATERAL (SELECT shard_name(%s::regclass, x.shardid) AS shard_name) AS s",
            [table, tenant, table]).fetchone()
    dsn = conninfo.make_conninfo(db.admin_dsn, host=host, port=str(port), user=APP_LOGIN, password=LOGIN_PASSWORD)
    return dsn, shard


def test_rls_holds_on_a_shard_read_directly_on_its_worker(db: Database) -> None:
    t = seed(db, "acme")
    dsn, shard = _worker_shard(db, "dom360.conversations", t.id)
    with psycopg.connect(dsn) as c:
        assert c.execute(f"SELECT count(*) FROM {shard}").fetchone() == (0,)  # no tenant: no rows
        c.execute("SELECT set_config('app.tenant_id', %s, true)", [str(t.id)])
        assert c.execute(f"SELECT count(*) FROM {shard}").fetchone() == (1,)  # the tenant's: its row
    with db.admin() as c:  # the shard does hold the row
        assert c.execute("SELECT count(*) FROM dom360.conversations WHERE tenant_id = %s", [t.id]).fetchone() == (1,)


def test_set_tenant_reaches_the_workers(db: Database) -> None:
    a, b = seed(db, "acme"), seed(db, "globex")
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [a.id])
        # a statement on every shard: each worker applies the shards' own policies with the propagated setting
        assert c.execute("SELECT count(*), count(DISTINCT tenant_id) FROM dom360.conversations").fetchone() == (1, 1)
        assert c.execute("SELECT tenant_id FROM dom360.conversations").fetchone() == (a.id,)
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [b.id])
        assert c.execute("SELECT tenant_id FROM dom360.inboxes").fetchall() == [(b.id,)]
    with db.app() as c, c.transaction():  # no tenant: nothing, on any shard
        assert c.execute("SELECT count(*) FROM dom360.conversations").fetchone() == (0,)


def test_chat_path_runs_every_statement_on_one_shard(db: Database) -> None:
    t = seed(db, "acme")
    seed(db, "globex")
    with db.app() as c, c.transaction():
        c.execute("SET LOCAL citus.multi_task_query_log_level = 'error'")
        c.execute("SELECT dom360.set_tenant(%s)", [t.id])
        conv = scalar(c, "SELECT dom360.get_or_create_conversation(%s, 'cust-9')", [t.inbox])
        first = c.execute("SELECT * FROM dom360.append_message(%s, 'user', 'hi', 3, 0, NULL, NULL, 'req-1')",
                          [conv]).fetchone()
        again = c.execute("SELECT * FROM dom360.append_message(%s, 'user', 'hi', 3, 0, NULL, NULL, 'req-1')",
                          [conv]).fetchone()
        second = c.execute("SELECT * FROM dom360.append_message(%s, 'assistant', 'hello', 0, 5)", [conv]).fetchone()
        assert again == first and first[1] == 1 and second[1] == 2  # idempotent, gapless
        assert sorted(r[1] for r in c.execute("SELECT * FROM dom360.recent_messages(%s)", [conv])) == [1, 2]
        assert c.execute("SELECT tenant_id FROM dom360.get_tenant_config()").fetchone() == (t.id,)
        usage = c.execute("SELECT sum(messages_count), sum(total_tokens) FROM dom360.tenant_usage()").fetchone()
        assert usage == (2, 8)


def test_a_multi_shard_statement_does_raise_under_the_same_setting(db: Database) -> None:
    """The chat-path test can fail: a statement without the tenant bound fans out and raises."""
    t = seed(db, "acme")
    with db.app() as c, c.transaction():
        c.execute("SET LOCAL citus.multi_task_query_log_level = 'error'")
        c.execute("SELECT dom360.set_tenant(%s)", [t.id])
        with pytest.raises(psycopg.Error, match="multi-task|multiple shards|tasks"):
            c.execute("SELECT count(*) FROM dom360.messages WHERE tenant_id = dom360.current_tenant_id()")


def test_audit_rows_name_the_table_once(db: Database) -> None:
    t = seed(db, "acme")
    with db.admin() as c:
        rows = c.execute("SELECT table_name, operation FROM dom360.audit_log WHERE tenant_id = %s "
                         "AND table_name IN ('tenants', 'users') AND row_key <> '{}' ORDER BY 1", [t.id]).fetchall()
    assert rows == [("tenants", "INSERT"), ("users", "INSERT")]


def test_app_cannot_choose_message_count_or_message_id(db: Database) -> None:
    """The shards grant INSERT on every column (Citus sends the defaults): the coordinator still refuses."""
    t = seed(db, "acme")
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [t.id])
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("INSERT INTO dom360.conversations (inbox_id, external_id, message_count) VALUES (%s, 'x', 7)",
                      [t.inbox])
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [t.id])
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("INSERT INTO dom360.messages (id, conversation_id, role, content) VALUES (1, %s, 'user', 'x')",
                      [t.conversation])


def _doctor(db: Database) -> list[tuple[str, str]]:
    from dom360db import citus, config, doctor, sqlfiles

    params = citus.with_citus(config.DEFAULTS, db.admin_dsn)
    assert params["citus"] is True
    with psycopg.connect(db.admin_dsn, autocommit=True) as c:
        return [(f.check, f.object) for f in doctor.run(c, params, sqlfiles.load(params))]


def test_doctor_is_healthy_then_names_a_local_table_and_a_missing_setting(db: Database) -> None:
    assert _doctor(db) == []
    with db.admin() as c:
        c.execute("CREATE TABLE dom360.stray (tenant_id uuid)")
        c.execute(f'ALTER DATABASE "{db.name}" RESET citus.propagate_set_commands')
    found = _doctor(db)
    assert ("citus_distribution", "dom360.stray") in found
    assert ("citus_settings", "setting citus.propagate_set_commands") in found


def test_tenant_isolate_gives_the_tenant_its_own_shards_and_the_chat_path_still_works(db: Database) -> None:
    from click.testing import CliRunner

    from dom360db import cli

    t = seed(db, "acme")
    other = seed(db, "globex")
    result = CliRunner().invoke(cli.cli, ["tenant", "isolate", "acme", "--dsn", db.admin_dsn])
    assert result.exit_code == 0, result.output
    with db.admin() as c:
        shards = c.execute(
            "SELECT count(DISTINCT s.shardid) FILTER (WHERE s.shardminvalue = s.shardmaxvalue), count(DISTINCT p.logicalrelid) "
            "FROM pg_dist_partition AS p JOIN pg_dist_shard AS s USING (logicalrelid) "
            "WHERE s.shardid = get_shard_id_for_distribution_column(p.logicalrelid, %s) AND p.partmethod = 'h'",
            [t.id]).fetchone()
        hashed = c.execute("SELECT count(*) FROM pg_dist_partition AS p JOIN pg_class AS c ON c.oid = p.logicalrelid "
                           "WHERE c.relnamespace = 'dom360'::regnamespace AND p.partmethod = 'h'").fetchone()[0]
    assert shards == (hashed, hashed)  # a shard of its own in every tenant table, partitions included
    for tenant in (t, other):  # the new shards accept the app's writes (sql/citus/shard_grants.sql re-applied)
        with db.app() as c, c.transaction():
            c.execute("SET LOCAL citus.multi_task_query_log_level = 'error'")
            c.execute("SELECT dom360.set_tenant(%s)", [tenant.id])
            conv = scalar(c, "SELECT dom360.get_or_create_conversation(%s, 'after-isolate')", [tenant.inbox])
            assert c.execute("SELECT message_index FROM dom360.append_message(%s, 'user', 'x')", [conv]).fetchone() == (1,)
    again = CliRunner().invoke(cli.cli, ["tenant", "isolate", "acme", "--dsn", db.admin_dsn])
    assert again.exit_code == 0 and "already" in again.output
    missing = CliRunner().invoke(cli.cli, ["tenant", "isolate", "nobody", "--dsn", db.admin_dsn])
    assert missing.exit_code == 1 and "no tenant with slug 'nobody'" in str(missing.exception)


def test_an_existing_single_server_database_moves_onto_the_cluster(server) -> None:  # type: ignore[no-untyped-def]
    """docs/citus.md, "Moving an existing database": the single-server database (here on the coordinator,
    without the extension: a plain PostgreSQL database) gets the extension, the workers, then `migrate`."""
    from support import migrate_database

    name = f"dom360_move_{uuid.uuid4().hex[:8]}"
    Server("citus", server.admin_dsn).create_database(name)  # the coordinator only, no extension
    try:
        db = Database(server, name)
        migrate_database(db.admin_dsn)
        server.ensure_logins()
        with db.admin() as c:
            assert c.execute("SELECT count(*) FROM pg_extension WHERE extname = 'citus'").fetchone() == (0,)
        t = seed(db, "acme")
        with db.app() as c, c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [t.id])
            for i in range(3):
                c.execute("SELECT dom360.append_message(%s, 'user', %s)", [t.conversation, f"m{i}"])
        with db.admin() as c:
            before = c.execute("SELECT (SELECT count(*) FROM dom360.audit_log), (SELECT count(*) FROM dom360.messages), "
                               "(SELECT message_count FROM dom360.conversations WHERE id = %s)", [t.conversation]).fetchone()
        # the steps of the page: the database and the extension on every worker, the extension here, the nodes
        for dsn in server.nodes()[1:]:
            Server("citus", dsn).create_database(name)
            with psycopg.connect(with_db(dsn, name), autocommit=True) as c:
                c.execute("CREATE EXTENSION citus")
        coordinator = conninfo.conninfo_to_dict(server.admin_dsn)
        with db.admin() as c:
            c.execute("CREATE EXTENSION citus")
            c.execute("SELECT citus_set_coordinator_host(%s, %s)", [coordinator["host"], int(coordinator["port"])])
            for dsn in server.nodes()[1:]:
                node = conninfo.conninfo_to_dict(dsn)
                c.execute("SELECT citus_add_node(%s, %s)", [node["host"], int(node["port"])])
        migrate_database(db.admin_dsn)
        with db.admin() as c:
            local = c.execute("SELECT count(*) FROM pg_class AS c WHERE c.relnamespace = 'dom360'::regnamespace "
                              "AND c.relkind IN ('r', 'p') AND NOT EXISTS (SELECT FROM pg_dist_partition AS d "
                              "WHERE d.logicalrelid = c.oid)").fetchone()
            assert local == (0,)
            after = c.execute("SELECT (SELECT count(*) FROM dom360.audit_log), (SELECT count(*) FROM dom360.messages), "
                              "(SELECT message_count FROM dom360.conversations WHERE id = %s)", [t.conversation]).fetchone()
            assert after == before  # the rows copied once, the triggers not fired again by the copy
        with db.app() as c, c.transaction():
            c.execute("SET LOCAL citus.multi_task_query_log_level = 'error'")
            c.execute("SELECT dom360.set_tenant(%s)", [t.id])
            assert [r[0] for r in c.execute("SELECT content FROM dom360.recent_messages(%s) ORDER BY message_index",
                                            [t.conversation])] == ["m0", "m1", "m2"]
            assert c.execute("SELECT message_index FROM dom360.append_message(%s, 'user', 'm3')",
                             [t.conversation]).fetchone() == (4,)  # the numbering goes on, gapless
        with db.admin() as c:
            shell = c.execute("SELECT count(*) FROM pg_class AS c JOIN pg_dist_partition AS d ON d.logicalrelid = c.oid "
                              "WHERE c.relname = 'messages'").fetchone()
            assert shell == (1,)
    finally:
        server.drop_database(name)


def test_a_later_versioned_file_adding_a_column_an_index_and_a_tenant_table_works(db: Database) -> None:
    from dom360db import citus, config, migrate, sqlfiles

    t = seed(db, "acme")
    params = citus.with_citus(config.DEFAULTS, db.admin_dsn)
    later = sqlfiles.SqlFile("versioned", "schema/9990_later.sql", 9990, "later", (
        "SET LOCAL ROLE dom360_owner;\n"
        "ALTER TABLE dom360.conversations ADD COLUMN priority integer NOT NULL DEFAULT 0;\n"
        "CREATE INDEX conversations_priority ON dom360.conversations (tenant_id, priority);\n"
        "CREATE TABLE dom360.notes (\n"
        "    tenant_id uuid NOT NULL DEFAULT dom360.current_tenant_id() REFERENCES dom360.tenants (id),\n"
        "    id bigserial, body text NOT NULL, PRIMARY KEY (tenant_id, id));\n"
        "ALTER TABLE dom360.notes ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;\n"
        "CREATE POLICY tenant_isolation ON dom360.notes USING (tenant_id = dom360.current_tenant_id());\n"
        "GRANT SELECT, INSERT ON dom360.notes TO dom360_app;\n"
        "GRANT USAGE ON SEQUENCE dom360.notes_id_seq TO dom360_app;\n"))
    migrate.migrate(db.admin_dsn, [*sqlfiles.load(params), later], params=params, lock_timeout_s=60)
    with db.admin() as c:
        dist = c.execute("SELECT d.partmethod, d.colocationid = (SELECT colocationid FROM pg_dist_partition "
                         "WHERE logicalrelid = 'dom360.messages'::regclass) FROM pg_dist_partition AS d "
                         "WHERE d.logicalrelid = 'dom360.notes'::regclass").fetchone()
    assert dist == ("h", True)
    with db.app() as c, c.transaction():
        c.execute("SET LOCAL citus.multi_task_query_log_level = 'error'")
        c.execute("SELECT dom360.set_tenant(%s)", [t.id])
        c.execute("INSERT INTO dom360.notes (tenant_id, body) VALUES (%s, 'n')", [t.id])
        assert c.execute("SELECT priority FROM dom360.conversations WHERE tenant_id = %s", [t.id]).fetchone() == (0,)
        conv = scalar(c, "SELECT dom360.get_or_create_conversation(%s, 'later')", [t.inbox])
        assert c.execute("SELECT message_index FROM dom360.append_message(%s, 'user', 'x')", [conv]).fetchone() == (1,)
    with db.app() as c, c.transaction():  # no tenant: no rows of the new table
        assert c.execute("SELECT count(*) FROM dom360.notes").fetchone() == (0,)


def test_migrate_refuses_up_front_what_it_cannot_do(db: Database) -> None:
    from dom360db import citus, config, migrate, sqlfiles
    from dom360db.errors import Dom360Error

    with pytest.raises(Dom360Error, match="rendered for a single server but the target has the citus extension"):
        migrate.migrate(db.admin_dsn, sqlfiles.load(config.DEFAULTS), lock_timeout_s=60)
    params = citus.with_citus(config.DEFAULTS, db.app_dsn)
    with pytest.raises(Dom360Error, match="^Citus: migrate must connect to the coordinator as a superuser") as refused:
        citus.prepare(db.app_dsn, params)  # migrate's first step on Citus
    assert "\n" not in str(refused.value)
