"""`dom360db doctor`: the security posture of a live database, as findings a DBA can act on.

Every check is a query in `doctor.sql` returning one row per finding; the migration state (pending or
edited files) is checked here against the package's own files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from dom360db import migrate
from dom360db.queries import named_queries
from dom360db.sqlfiles import SqlFile

CHECKS_FILE = "doctor.sql"


@dataclass(frozen=True)
class Finding:
    check: str
    object: str
    problem: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def check_names() -> list[str]:
    return list(named_queries(CHECKS_FILE)) + ["migrations"]


def run(conn: psycopg.Connection, params: Mapping[str, Any], files: Sequence[SqlFile]) -> list[Finding]:
    """Every finding, check by check (an empty list means a healthy database)."""
    findings: list[Finding] = []
    if conn.execute("SELECT to_regnamespace('dom360') IS NULL").fetchone()[0]:  # type: ignore[index]
        return [Finding("schema", "schema dom360", "does not exist", "run dom360db migrate")]
    for name, sql in named_queries(CHECKS_FILE).items():
        findings += [Finding(name, *row) for row in conn.execute(sql, dict(params))]
    for st in migrate.status(files, migrate.applied_files(conn)):
        if st.state == "pending":
            findings.append(Finding("migrations", st.path, "not applied", "dom360db migrate"))
        elif st.state == "changed":
            fix = "dom360db migrate" if st.kind == "repeatable" else "restore the file as applied; change via a new file"
            findings.append(Finding("migrations", st.path, f"{st.kind} file differs from what was applied", fix))
    return findings
