"""The versioned files that shipped, with their checksums: `sql/shipped.json`.

A versioned file is forward-only: once a release carries it, databases record its checksum and every
later release must carry the very same text. `sql/shipped.json` lists every versioned file of every
release since the first upgrade baseline, each with
- `sha256`: of the file's template text (what an edit changes, whatever the parameters), and
- `rendered_sha256`: of its text rendered with the default parameters (what `migrate` records),
- `release`: the git revision of the first release that carried it.

`tests/test_shipped.py` fails when a listed file is edited, renamed or removed. A release adds its new
versioned files with one command (it never changes an entry already listed):

    python -m dom360db.shipped add --release <git revision>      # or: make ship RELEASE=<rev>

`migrate` uses the list to tell a database migrated before the baseline (an applied checksum that no
release since the baseline shipped) from a local edit, and refuses it with the way out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from dom360db.config import DEFAULTS
from dom360db.errors import Dom360Error
from dom360db.sqlfiles import SqlFile, load, sql_root

SHIPPED_FILE = "shipped.json"
#: The first release from which upgrades are supported (and tested: tests/test_upgrade.py).
BASELINE = "f588098"


@dataclass(frozen=True)
class Shipped:
    path: str
    sha256: str
    rendered_sha256: str
    release: str


def shipped_path(root: Path | None = None) -> Path:
    return (root or sql_root()) / SHIPPED_FILE


def template_sha256(path: str, root: Path | None = None) -> str:
    return hashlib.sha256(((root or sql_root()) / path).read_bytes()).hexdigest()


def listed(root: Path | None = None) -> dict[str, Shipped]:
    """Every shipped versioned file, by path (empty when the list does not exist)."""
    p = shipped_path(root)
    if not p.is_file():
        return {}
    data = json.loads(p.read_text(encoding="utf-8"))
    return {path: Shipped(path, e["sha256"], e["rendered_sha256"], e["release"]) for path, e in data["files"].items()}


def problems(root: Path | None = None) -> list[str]:
    """One line per shipped file that is no longer exactly as it shipped."""
    root = root or sql_root()
    out = []
    for s in listed(root).values():
        if not (root / s.path).is_file():
            out.append(f"{s.path} shipped in {s.release} but is gone: restore it (versioned files are forward-only)")
        elif template_sha256(s.path, root) != s.sha256:
            out.append(f"{s.path} was edited after it shipped in {s.release}: revert the edit (git checkout "
                       f"{s.release} -- sql/{s.path}) and put the change in a new versioned file")
    return out


def unlisted(files: list[SqlFile], root: Path | None = None) -> list[SqlFile]:
    """Versioned files not shipped yet (added since the last release)."""
    known = listed(root)
    return [f for f in files if f.kind == "versioned" and f.path not in known]


def predates_baseline(f: SqlFile, applied_checksum: str, root: Path | None = None) -> bool:
    """True when a database recorded, for a shipped file that is intact here, a checksum of another text
    than the shipped one under the default parameters: it was migrated by a version before the baseline."""
    s = listed(root).get(f.path)
    return (s is not None and template_sha256(f.path, root) == s.sha256
            and f.checksum == s.rendered_sha256 and applied_checksum != s.rendered_sha256)


def add(release: str, root: Path | None = None) -> list[str]:
    """List every versioned file not listed yet as shipped in `release`; never changes a listed entry."""
    root = root or sql_root()
    bad = problems(root)
    if bad:
        raise Dom360Error(bad[0])
    p = shipped_path(root)
    data = json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {
        "comment": "Versioned files shipped by a release: never edit them (see dom360db/shipped.py).",
        "baseline": release, "files": {}}
    new = unlisted(load(DEFAULTS, root), root)
    for f in new:
        data["files"][f.path] = {"sha256": template_sha256(f.path, root), "rendered_sha256": f.checksum, "release": release}
    data["files"] = dict(sorted(data["files"].items()))
    p.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return [f.path for f in new]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dom360db.shipped", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("add", help="list the versioned files not listed yet as shipped in RELEASE")
    a.add_argument("--release", required=True, help="git revision of the release")
    sub.add_parser("check", help="exit 1 when a shipped file was edited or removed")
    args = parser.parse_args(argv)
    try:
        if args.command == "add":
            added = add(args.release)
            print(f"{len(added)} file(s) added to sql/{SHIPPED_FILE}" + "".join(f"\n  {p}" for p in added))
            return 0
        bad = problems()
        for line in bad:
            print(f"dom360db: error: {line}", file=sys.stderr)
        return 1 if bad else 0
    except Dom360Error as exc:
        print(f"dom360db: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
