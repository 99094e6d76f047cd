"""Property: whatever the app does, in whichever tenant, nothing crosses a tenant boundary.

Random tenants x random operations, each in its own transaction as the app role with a random tenant set
by dom360.set_tenant() first (or none at all: unset, or '' as an ended transaction leaves it):
- every row a SELECT or a RETURNING clause yields belongs to the transaction's tenant (for `tenants`:
  is its own row), and a SELECT yields all of them; with no tenant, no row at all;
- writes land in the transaction's tenant only: an explicit foreign tenant_id is refused (row-level
  security: InsufficientPrivilege), as is moving a row to another tenant; a conversation cannot point at
  another tenant's inbox (ForeignKeyViolation); UPDATE/DELETE aimed at another tenant's rows or tenant id
  affect exactly the own rows they name (normally none); with no tenant, every write fails or affects 0 rows;
- after every operation the superuser's view agrees with a model: per tenant and table, the set of row
  ids is the model's (seeded rows plus what the test created, minus what it deleted), and every tenant
  other than the transaction's is unchanged, row for row and column for column.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import errors, sql
from psycopg.types.json import Jsonb

from support import Database, seed

TENANTS = 3
TABLES = ("tenants", "users", "account_vars", "inboxes", "agents", "conversations", "audit_log")
WRITABLE = ("users", "inboxes", "agents", "conversations")  # INSERT, UPDATE, and DELETE through a function
DELETE_FUNCTIONS = {"users": "delete_user", "inboxes": "delete_inbox", "agents": "delete_agent",
                    "conversations": "delete_conversation"}
UPDATABLE = (*WRITABLE, "account_vars")
#: Restoring the seeded state, children first (delete) and parents first (insert).
RESET_ORDER = ("conversations", "agents", "users", "inboxes", "account_vars", "audit_log")
#: Per updatable table, a column the app may change and a value for it.
CHANGE: dict[str, tuple[str, object]] = {
    "users": ("name", "Mallory"),
    "inboxes": ("name", "taken over"),
    "agents": ("name", "taken over"),
    "conversations": ("agent_type", "COPILOT"),
    "account_vars": ("rag_top_k", 42),
}
#: Without a tenant the tenant_id default is NULL: refused by NOT NULL or by the policy's WITH CHECK.
NO_TENANT_INSERT = (errors.NotNullViolation, errors.InsufficientPrivilege)
#: Targets of UPDATE/DELETE: every visible row, one own row, another tenant's row ids, another tenant's id.
TARGETS = ("all", "own", "foreign_ids", "foreign_tenant")

JsonRow = dict[str, Any]
Snapshot = dict[str, dict[uuid.UUID, list[JsonRow]]]  # table -> owning tenant -> rows, in a canonical order


@dataclass(frozen=True)
class Op:
    """One transaction of the app: `kind` on `table` as tenant number `tenant` (None: no tenant set)."""

    kind: str
    table: str
    tenant: int | None
    other: int  # the other tenant the operation aims at (never `tenant`)
    target: str = "all"  # update, delete, move, repoint: which rows (see TARGETS)
    pick: int = 0  # chooses among candidate rows, modulo their number
    blank: bool = False  # no tenant: app.tenant_id = '' rather than unset
    returning: bool = True  # writes: with RETURNING (which applies the SELECT policy to the written rows too)


#: kind -> tables it applies to.
KINDS: dict[str, Sequence[str]] = {
    "select": TABLES,  # SELECT *: only and all own rows
    "probe": TABLES,  # SELECT WHERE key = another tenant: nothing
    "insert": WRITABLE,  # default tenant_id: lands in the own tenant
    "insert_foreign": WRITABLE,  # explicit foreign tenant_id: refused
    "upsert_foreign": UPDATABLE,  # INSERT .. ON CONFLICT DO UPDATE onto a foreign key: refused
    "upsert_collide": WRITABLE,  # same, another tenant's row id under the own tenant: a new own row
    "foreign_inbox": ("conversations",),  # a conversation in another tenant's inbox: ForeignKeyViolation
    "update": UPDATABLE,
    "delete": WRITABLE,  # through dom360.delete_<row>() (no DELETE privilege: docs/security.md)
    "move": UPDATABLE,  # SET tenant_id = another tenant: refused
    "repoint": ("conversations",),  # SET inbox_id = another tenant's inbox: ForeignKeyViolation
}


@st.composite
def operations(draw: st.DrawFn, tables: Sequence[str] = TABLES, tenants: Sequence[int] = range(TENANTS)) -> Op:
    """One operation, preferably on `tables` and as one of `tenants` (or, one time in four, no tenant)."""
    kind = draw(st.sampled_from(sorted(KINDS)))
    tenant = None if draw(st.integers(0, 3)) == 0 else draw(st.sampled_from(tenants))
    return Op(
        kind=kind,
        table=draw(st.sampled_from([t for t in KINDS[kind] if t in tables] or KINDS[kind])),
        tenant=tenant,
        other=draw(st.sampled_from([i for i in range(TENANTS) if i != tenant])),
        target=draw(st.sampled_from(TARGETS)),
        pick=draw(st.integers(0, 7)),
        blank=draw(st.booleans()),
        returning=draw(st.booleans()),
    )


@st.composite
def programs(draw: st.DrawFn) -> list[Op]:
    """A sequence of operations, mostly on a few tables and as a few tenants, so that they build on each other."""
    tables = draw(st.lists(st.sampled_from(TABLES), min_size=1, max_size=2, unique=True))
    tenants = draw(st.lists(st.sampled_from(range(TENANTS)), min_size=1, max_size=2, unique=True))
    return draw(st.lists(operations(tables, tenants), min_size=1, max_size=16))


def table_ident(table: str) -> sql.Composed:
    return sql.SQL("dom360.{}").format(sql.Identifier(table))


def owner_column(table: str) -> str:
    return "id" if table == "tenants" else "tenant_id"


def row_key_column(table: str) -> str:
    """The column that tells one tenant's rows apart (account_vars has one row per tenant)."""
    return "tenant_id" if table == "account_vars" else "id"


def canonical(rows: list[JsonRow]) -> list[JsonRow]:
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))


#: The RETURNING clause of the writes (the object itself: World.run finds it at the end of a statement).
RETURNING_ROW = sql.SQL(" RETURNING to_jsonb(t)")


def returning(op: Op) -> sql.SQL:
    return RETURNING_ROW if op.returning else sql.SQL("")


def absent(pick: int) -> uuid.UUID:
    """An id no seeded row has (gen_random_uuid() makes version-4 ids) and values() never gives."""
    return uuid.UUID(int=(1 << 64) + pick)


def choose(candidates: Sequence[uuid.UUID], pick: int) -> uuid.UUID | None:
    return candidates[pick % len(candidates)] if candidates else None


class World:
    """Seeded tenants, an app and an admin connection, and the model of who owns which rows."""

    def __init__(self, db: Database) -> None:
        self.tenant_ids = [seed(db, f"prop-{chr(ord('a') + i)}").id for i in range(TENANTS)]
        self.db = db
        self.admin = db.admin()
        self.app = db.app(autocommit=True)
        self.baseline = self.snapshot()
        for table in TABLES:
            assert set(self.baseline[table]) == set(self.tenant_ids), f"{table}: seed() left a tenant without rows"
        self.reset()

    def close(self) -> None:
        self.app.close()
        self.admin.close()

    # --- the admin's view and the model ------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        query = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {}, {}::text, to_jsonb(t) FROM {} AS t").format(
                sql.Literal(table), sql.Identifier(owner_column(table)), table_ident(table))
            for table in TABLES)
        snap: Snapshot = {table: {} for table in TABLES}
        for table, owner, row in self.admin.execute(query):
            snap[table].setdefault(uuid.UUID(owner), []).append(row)
        return {table: {owner: canonical(rows) for owner, rows in owners.items()} for table, owners in snap.items()}

    def reset(self) -> None:
        """Back to the seeded rows (as the superuser, triggers off) and a new app connection (used by every
        transaction of the example, as a pool would), so that each example starts alike."""
        self.app.close()
        self.app = self.db.app(autocommit=True)
        with self.admin.transaction():
            self.admin.execute("SET LOCAL session_replication_role = replica")
            if self.db.server.backend == "citus":  # the reference table's copy on the coordinator is read locally,
                self.admin.execute("SET LOCAL citus.enable_local_execution = off")  # then parallel shard commands
            for table in RESET_ORDER:
                self.admin.execute(sql.SQL("DELETE FROM {}").format(table_ident(table)))
            for table in reversed(RESET_ORDER):
                rows = [row for owner_rows in self.baseline[table].values() for row in owner_rows]
                self.admin.execute(
                    sql.SQL("INSERT INTO {0} OVERRIDING SYSTEM VALUE "
                            "SELECT * FROM jsonb_populate_recordset(NULL::{0}, %s)").format(table_ident(table)),
                    [Jsonb(rows)])
        self.before = self.snapshot()
        assert self.before == self.baseline
        # table -> tenant -> row id -> its inbox (conversations) or None
        self.model: dict[str, dict[uuid.UUID, dict[uuid.UUID, uuid.UUID | None]]] = {
            table: {tid: {uuid.UUID(r["id"]): uuid.UUID(r["inbox_id"]) if table == "conversations" else None
                          for r in self.baseline[table][tid]}
                    for tid in self.tenant_ids}
            for table in WRITABLE}
        self.serial = 0

    def ids(self, table: str, tenant: uuid.UUID | None) -> list[uuid.UUID]:
        """The row keys of `tenant` in `table` according to the model (account_vars: the tenant's id)."""
        if tenant is None:
            return []
        if table == "account_vars":
            return [tenant]
        return sorted(self.model[table][tenant], key=str)

    def check(self, op: Op, tenant: uuid.UUID | None) -> None:
        """After each operation: other tenants untouched, and row ids per tenant and table as modelled."""
        after = self.snapshot()
        for table in TABLES:
            for owner in set(self.before[table]) | set(after[table]):
                if owner != tenant:
                    assert after[table].get(owner, []) == self.before[table].get(owner, []), (
                        f"{op}: rows of tenant {owner} in {table} changed in a transaction of tenant {tenant}")
            assert set(after[table]) <= set(self.tenant_ids), f"{op}: {table} has rows of an unknown tenant"
            for owner in self.tenant_ids:
                rows = after[table].get(owner, [])
                if table in WRITABLE:
                    seen = {uuid.UUID(r["id"]): uuid.UUID(r["inbox_id"]) if table == "conversations" else None
                            for r in rows}
                    assert len(seen) == len(rows) and seen == self.model[table][owner], (
                        f"{op}: {table} of tenant {owner}: admin sees {seen}, model {self.model[table][owner]}")
                elif table == "audit_log":  # append-only: the own tenant's log may only grow
                    old = self.before[table].get(owner, [])
                    assert all(r in rows for r in old), f"{op}: audit rows of tenant {owner} vanished"
                else:
                    assert len(rows) == len(self.baseline[table][owner]), f"{op}: {table} count of {owner} changed"
        self.before = after

    # --- transactions of the app -------------------------------------------------------------------------

    @contextmanager
    def transaction(self, op: Op, tenant: uuid.UUID | None) -> Iterator[None]:
        with self.app.transaction():
            if tenant is not None:
                self.app.execute("SELECT dom360.set_tenant(%s)", [tenant])
            elif op.blank:
                self.app.execute("SELECT set_config('app.tenant_id', '', true)")
            current = self.app.execute("SELECT dom360.current_tenant_id()").fetchone()
            assert current is not None and current[0] == tenant, f"{op}: transaction runs as tenant {current}"
            yield

    def run(self, op: Op, tenant: uuid.UUID | None, stmt: sql.Composable,
            params: Sequence[object] = ()) -> tuple[list[JsonRow], int]:
        """Runs `stmt` (output, if any: to_jsonb of rows of op.table) in a transaction of `tenant`; checks
        that every row returned is the tenant's own. Returns the rows and the number of rows processed."""
        if self.db.server.backend == "citus" and isinstance(stmt, sql.Composed) and list(stmt)[-1] is RETURNING_ROW:
            # Citus refuses non-IMMUTABLE functions in RETURNING (to_jsonb): the same rows, through a CTE
            stmt = sql.SQL("WITH w AS ({}) SELECT to_jsonb(w) FROM w").format(
                sql.Composed([*list(stmt)[:-1], sql.SQL(" RETURNING t.*")]))
        with self.transaction(op, tenant):
            cur = self.app.execute(stmt, params)
            rows = [r[0] for r in cur.fetchall()] if cur.description else []
            assert not cur.description or cur.rowcount == len(rows)
        col = owner_column(op.table)
        foreign = [r for r in rows if tenant is None or r[col] != str(tenant)]
        assert not foreign, f"{op}: a transaction of tenant {tenant} got rows of other tenants: {foreign}"
        return rows, cur.rowcount

    def refused(self, op: Op, tenant: uuid.UUID | None, expected: tuple[type[psycopg.Error], ...],
                stmt: sql.Composable, params: Sequence[object] = ()) -> None:
        try:
            rows, count = self.run(op, tenant, stmt, params)
        except expected:
            return
        names = ", ".join(e.__name__ for e in expected)
        raise AssertionError(f"{op}: expected {names}, but the statement succeeded on {count} rows: {rows}")

    # --- statements --------------------------------------------------------------------------------------

    def values(self, table: str, inbox: uuid.UUID | None, with_id: bool = False) -> dict[str, object]:
        """Fresh values of a new row (unique where the table has unique keys), with an id when asked."""
        self.serial += 1
        row_id: dict[str, object] = {"id": uuid.UUID(int=self.serial)} if with_id and table != "account_vars" else {}
        return row_id | {
            "users": {"email": f"prop{self.serial}@example.com", "name": "Prop"},
            "inboxes": {"name": f"inbox {self.serial}", "channel": "web"},
            "agents": {"agent_type": "SDR", "name": f"agent {self.serial}"},
            "conversations": {"inbox_id": inbox, "external_id": f"prop-{self.serial}"},
            "account_vars": {},
        }[table]

    def insert(self, op: Op, table: str, columns: dict[str, object],
               on_conflict: bool = False) -> tuple[sql.Composed, list[object]]:
        stmt = sql.SQL("INSERT INTO {} AS t ({}) VALUES ({})").format(
            table_ident(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join([sql.Placeholder()] * len(columns)))
        if on_conflict:
            col, value = CHANGE[table]
            key = ["tenant_id"] if table == "account_vars" else ["tenant_id", "id"]
            stmt += sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {} = {}").format(
                sql.SQL(", ").join(map(sql.Identifier, key)), sql.Identifier(col), sql.Literal(value))
        return stmt + returning(op), list(columns.values())

    def where(self, op: Op, tenant: uuid.UUID | None,
              other: uuid.UUID) -> tuple[sql.Composable, list[object], set[uuid.UUID]]:
        """The WHERE clause of op.target, its parameters, and the own row keys it must reach."""
        table, key = op.table, sql.Identifier(row_key_column(op.table))
        own = set(self.ids(table, tenant))
        if op.target == "all":
            return sql.SQL(""), [], own
        if op.target == "own":  # one own row (another tenant's when there is none)
            row = choose(self.ids(table, tenant), op.pick) or choose(self.ids(table, other), op.pick)
            return sql.SQL(" WHERE {} = %s").format(key), [row], own & {row}
        if op.target == "foreign_ids":  # an own row may share its id with a foreign one (upsert_collide)
            ids = self.ids(table, other)
            return sql.SQL(" WHERE {} = ANY(%s)").format(key), [ids], own & set(ids)
        return sql.SQL(" WHERE tenant_id = %s"), [other], set()

    def foreign_inbox(self, op: Op, other: uuid.UUID) -> uuid.UUID:
        return choose(self.ids("inboxes", other), op.pick) or absent(op.pick)

    # --- operations --------------------------------------------------------------------------------------

    def apply(self, op: Op) -> None:
        tenant = None if op.tenant is None else self.tenant_ids[op.tenant]
        other = self.tenant_ids[op.other]
        getattr(self, f"op_{op.kind}")(op, tenant, other)
        self.check(op, tenant)

    def op_select(self, op: Op, tenant: uuid.UUID | None, other: uuid.UUID) -> None:
        rows, _ = self.run(op, tenant, sql.SQL("SELECT to_jsonb(t) FROM {} AS t").format(table_ident(op.table)))
        expected = self.before[op.table].get(tenant, []) if tenant is not None else []
        assert canonical(rows) == expected, f"{op}: the tenant does not see exactly its own rows"

    def op_probe(self, op: Op, tenant: uuid.UUID | None, other: uuid.UUID) -> None:
        stmt = sql.SQL("SELECT to_jsonb(t) FROM {} AS t WHERE {} = %s").format(
            table_ident(op.table), sql.Identifier(owner_column(op.table)))
        assert self.run(op, tenant, stmt, [other]) == ([], 0)

    def add(self, op: Op, tenant: uuid.UUID, columns: dict[str, object], result: tuple[list[JsonRow], int]) -> None:
        """Models the row an INSERT of `columns` wrote (its id: from RETURNING, or given in `columns`)."""
        rows, count = result
        assert count == 1, f"{op}: one row expected, got {count}"
        row_id = uuid.UUID(rows[0]["id"]) if op.returning else columns["id"]
        assert "id" not in columns or row_id == columns["id"]
        self.model[op.table][tenant][row_id] = columns["inbox_id"] if op.table == "conversations" else None  # type: ignore[index]

    def op_insert(self, op: Op, tenant: uuid.UUID | None, other: uuid.UUID) -> None:
        inbox = choose(self.ids("inboxes", tenant), op.pick)
        if op.table == "conversations" and inbox is None:  # no own inbox left: only a foreign one to use
            return self.op_foreign_inbox(op, tenant, other)
        columns = self.values(op.table, inbox, with_id=not op.returning)
        stmt, params = self.insert(op, op.table, columns)
        if tenant is None:
            return self.refused(op, tenant, NO_TENANT_INSERT, stmt, params)
        self.add(op, tenant, columns, self.run(op, tenant, stmt, params))

    def op_insert_foreign(self, op: Op, tenant: uuid.UUID | None, other: uuid.UUID) -> None:
        columns = {"tenant_id": other, **self.values(op.table, self.foreign_inbox(op, other))}
        self.refused(op, tenant, (errors.InsufficientPrivilege,), *self.insert(op, op.table, columns))

    def op_upsert_foreign(self, op: Op, tenant: uuid.UUID | None, other: uuid.UUID) -> None:
        columns: dict[str, object] = {"tenant_id": other}
        if op.table != "account_vars":
            columns["id"] = choose(self.ids(op.table, other), op.pick) or absent(op.pick)
        columns.update(self.values(op.table, self.foreign_inbox(op, other)))
        self.refused(op, tenant, (errors.InsufficientPrivilege,), *self.insert(op, op.table, columns, on_conflict=True))

    def op_upsert_collide(self, op: Op, tenant: uuid.UUID | None, other: uuid.UUID) -> None:
        """Another tenant's row id, the own tenant_id by default: a new own row (or an update of one)."""
        row_id = choose(self.ids(op.table, other), op.pick) or absent(op.pick)
        inbox = choose(self.ids("inboxes", tenant), op.pick)
        columns = {"id": row_id, **self.values(op.table, inbox)}
        stmt, params = self.insert(op, op.table, columns, on_conflict=True)
        if tenant is None:
            return self.refused(op, tenant, NO_TENANT_INSERT, stmt, params)
        if op.table == "conversations" and inbox is None and row_id not in self.model[op.table][tenant]:
            return self.refused(op, tenant, (errors.ForeignKeyViolation,), stmt, params)
        result = self.run(op, tenant, stmt, params)
        if row_id not in self.model[op.table][tenant]:
            self.add(op, tenant, columns, result)
        else:  # the own row of that id was updated
            self.reached(op, result, {row_id})

    def op_foreign_inbox(self, op: Op, tenant: uuid.UUID | None, other: uuid.UUID) -> None:
        inbox = self.foreign_inbox(op, other)
        columns = self.values("conversations", inbox, with_id=not op.returning)
        stmt, params = self.insert(op, "conversations", columns)
        if tenant is None:
            return self.refused(op, tenant, NO_TENANT_INSERT, stmt, params)
        if inbox not in self.model["inboxes"][tenant]:
            return self.refused(op, tenant, (errors.ForeignKeyViolation,), stmt, params)
        self.add(op, tenant, columns, self.run(op, tenant, stmt, params))  # an own inbox that shares a foreign id

    def reached(self, op: Op, result: tuple[list[JsonRow], int], affected: set[uuid.UUID]) -> None:
        rows, count = result
        assert count == len(affected), f"{op}: {count} rows processed, expected the own rows {affected}"
        if op.returning:
            got = {uuid.UUID(r[row_key_column(op.table)]) for r in rows}
            assert got == affected, f"{op}: returned {got}, expected the own rows {affected}"

    def op_update(self, op: Op, tenant: uuid.UUID | None, other: uuid.UUID) -> None:
        where, params, affected = self.where(op, tenant, other)
        col, value = CHANGE[op.table]
        stmt = sql.SQL("UPDATE {} AS t SET {} = %s{}{}").format(
            table_ident(op.table), sql.Identifier(col), where, returning(op))
        self.reached(op, self.run(op, tenant, stmt, [value, *params]), affected)

    def op_delete(self, op: Op, tenant: uuid.UUID | None, other: uuid.UUID) -> None:
        """The delete function called for each id op.target aims at (all own rows, one, another tenant's)."""
        own = set(self.ids(op.table, tenant))
        if op.target == "all":
            ids, affected = sorted(own, key=str), own
        elif op.target == "own":
            row = choose(self.ids(op.table, tenant), op.pick) or choose(self.ids(op.table, other), op.pick)
            ids, affected = [row], own & {row}
        else:  # another tenant's ids (an own row may share one: upsert_collide)
            ids = self.ids(op.table, other)
            affected = own & set(ids)
        stmt = sql.SQL("SELECT to_jsonb(t) FROM unnest(%s::uuid[]) AS k(id) CROSS JOIN LATERAL dom360.{}(k.id) AS t").format(
            sql.Identifier(DELETE_FUNCTIONS[op.table]))
        params = [ids]
        if tenant is None and ids:
            return self.refused(op, tenant, (errors.InsufficientPrivilege,), stmt, params)
        in_use = set(self.model["conversations"][tenant].values()) if tenant is not None else set()
        if op.table == "inboxes" and affected & in_use:
            return self.refused(op, tenant, (errors.ForeignKeyViolation,), stmt, params)
        self.reached(op, self.run(op, tenant, stmt, params), affected)
        for row_id in affected:
            del self.model[op.table][tenant][row_id]  # type: ignore[index]

    def op_move(self, op: Op, tenant: uuid.UUID | None, other: uuid.UUID) -> None:
        where, params, affected = self.where(op, tenant, other)
        stmt = sql.SQL("UPDATE {} AS t SET tenant_id = %s{}{}").format(table_ident(op.table), where, returning(op))
        if self.db.server.backend == "citus":  # Citus' planner refuses a change of the distribution column (0A000)
            if affected:  # unless it sees none (SET tenant_id = x WHERE tenant_id = x): then nothing may move
                return self.refused(op, tenant, (errors.FeatureNotSupported,), stmt, [other, *params])
            try:
                moved = self.run(op, tenant, stmt, [other, *params])
            except errors.FeatureNotSupported:
                return None
            assert moved == ([], 0), f"{op}: moved {moved}"
            return None
        if affected:
            return self.refused(op, tenant, (errors.InsufficientPrivilege,), stmt, [other, *params])
        assert self.run(op, tenant, stmt, [other, *params]) == ([], 0)

    def op_repoint(self, op: Op, tenant: uuid.UUID | None, other: uuid.UUID) -> None:
        where, params, affected = self.where(op, tenant, other)
        inbox = self.foreign_inbox(op, other)
        stmt = sql.SQL("UPDATE {} AS t SET inbox_id = %s{}{}").format(table_ident(op.table), where, returning(op))
        if affected and inbox not in self.model["inboxes"][tenant]:  # type: ignore[index]
            return self.refused(op, tenant, (errors.ForeignKeyViolation,), stmt, [inbox, *params])
        self.reached(op, self.run(op, tenant, stmt, [inbox, *params]), affected)
        for row_id in affected:  # an own inbox that shares its id with a foreign one
            self.model["conversations"][tenant][row_id] = inbox  # type: ignore[index]


def test_random_operations_never_cross_a_tenant_boundary(db: Database) -> None:
    world = World(db)

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(ops=programs())
    def sequences(ops: list[Op]) -> None:
        world.reset()
        for op in ops:
            world.apply(op)

    try:
        sequences()
    finally:
        world.close()
