"""`dom360db doctor`: the security posture of a live database, as findings a DBA can act on.

Every check is a query in `sql/queries/doctor.sql` returning one row per finding; the migration state (pending or
edited files) is checked here against the package's own files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from dom360db import catalog, citus, migrate
from dom360db.connect import error_line, scalar
from dom360db.queries import named_queries
from dom360db.report import table
from dom360db.sqlfiles import SqlFile

CHECKS_FILE = "doctor"


@dataclass(frozen=True)
class Finding:
    check: str
    object: str
    problem: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def check_names() -> list[str]:
    return list(named_queries(CHECKS_FILE)) + ["migrations", "schema_drift"]


def run(conn: psycopg.Connection, params: Mapping[str, Any], files: Sequence[SqlFile]) -> list[Finding]:
    """Every finding, check by check (an empty list means a healthy database).

    The migration state comes first: with files pending (a database not yet upgraded), a check that
    needs an object those files create is reported as not run, and the catalog is not compared with a
    fresh install (the pending files are the difference). Otherwise every difference between the live
    catalog and sql/catalog.txt is a `schema_drift` finding (a half-upgraded or hand-altered database).
    """
    findings: list[Finding] = []
    if scalar(conn, "SELECT to_regnamespace('dom360') IS NULL"):
        return [Finding("schema", "schema dom360", "does not exist", "run dom360db migrate")]
    states = migrate.status(files, migrate.applied_files(conn))
    behind = any(st.state in ("pending", "changed") for st in states)
    for name, sql in named_queries(CHECKS_FILE).items():
        try:
            with conn.transaction():
                rows = conn.execute(sql, dict(params)).fetchall()
        except psycopg.Error as exc:
            fix = "dom360db migrate (files are pending)" if behind else "dom360db migrate --reapply; then re-run doctor"
            findings.append(Finding(name, "check", f"could not run: {error_line(exc)}", fix))
            continue
        findings += [Finding(name, *row) for row in rows]
    for st in states:
        if st.state == "pending":
            findings.append(Finding("migrations", st.path, "not applied", "dom360db migrate"))
        elif st.state == "changed":
            fix = "dom360db migrate" if st.kind == "repeatable" else "restore the file as applied; change via a new file"
            findings.append(Finding("migrations", st.path, f"{st.kind} file differs from what was applied", fix))
    if not behind:
        findings += drift(conn, params)
    if params.get("citus"):
        findings += citus.doctor(conn, params)
    return findings


def drift(conn: psycopg.Connection, params: Mapping[str, Any]) -> list[Finding]:
    """Every difference between the live catalog and a fresh install's (sql/catalog.txt)."""
    expected = catalog.read_snapshot()
    if expected is None or not catalog.comparable(params):
        return []  # an installed package always has the snapshot; other shape parameters: not comparable
    fix = ("dom360db migrate --reapply restores functions and policies; for tables, columns, constraints and "
           "indexes compare with `dom360db catalog` and correct it in a new versioned file")
    return [Finding("schema_drift", f"{d.kind} {d.name}", d.problem, fix)
            for d in catalog.diff(expected, catalog.describe(conn, params))]


def findings_table(findings: Sequence[Finding]) -> str:
    return table(["check", "object", "problem"], [[f.check, f.object, f.problem] for f in findings])


def render(findings: Sequence[Finding], where: str) -> str:
    """`dom360db doctor`: the findings and their fixes, or the healthy line naming the database `where`."""
    if not findings:
        return f"healthy: {len(check_names())} checks passed on {where}"
    return findings_table(findings) + "\n\nfixes:\n" + "\n".join(f"  {f.object}: {f.fix}" for f in findings)
