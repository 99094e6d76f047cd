"""The Python examples of docs/backend.md run against the real server, and `mypy --strict` accepts the client
and a program using it (and refuses a wrong one: the types have teeth)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support import Database, seed

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "python"


def mypy(*paths: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", *map(str, paths)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)


def test_mypy_strict_accepts_the_client_and_the_samples() -> None:
    out = mypy(REPO / "dom360db" / "client", EXAMPLES / "typed_sample.py", EXAMPLES / "fastapi_app.py")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict_refuses_a_wrong_call(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import uuid\nfrom dom360db.client import Dom360\n\n"
                   "def f(db: Dom360, tenant: uuid.UUID) -> None:\n"
                   "    with db.tenant(tenant) as t:\n"
                   "        m = t.append_message(tenant, 'bot', 'x')\n"
                   "        s: str = m.message_id\n")
    out = mypy(bad)
    assert out.returncode == 1
    assert "\"append_message\" of \"TenantTx\" has incompatible type \"Literal['bot']\"" in out.stdout, out.stdout
    assert 'expression has type "int", variable has type "str"' in out.stdout, out.stdout


def test_typed_sample_runs(db: Database) -> None:
    acme = seed(db, "acme")
    out = subprocess.run([sys.executable, str(EXAMPLES / "typed_sample.py"), db.app_dsn, str(acme.id), str(acme.inbox)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "refused: dom360.messages: token counts must be non-negative" in out.stdout
    assert "no tenant: 42501" in out.stdout
    assert out.stdout.splitlines()[-1] == "2 15"  # the chat turn is message 2; 12 + 3 tokens


def test_fastapi_example(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    sys.path.insert(0, str(EXAMPLES))
    try:
        import fastapi_app
    finally:
        sys.path.remove(str(EXAMPLES))
    acme, other = seed(db, "acme"), seed(db, "other")
    monkeypatch.setenv("DATABASE_URL", db.app_dsn)
    with TestClient(fastapi_app.app) as http:
        url = f"/tenants/{acme.id}/inboxes/{acme.inbox}/turns"
        first = http.post(url, json={"customer": "web-1", "role": "user", "content": "Olá", "input_tokens": 7})
        assert first.status_code == 201, first.text
        second = http.post(url, json={"customer": "web-1", "role": "assistant", "content": "Oi!"})
        assert second.json()["message_index"] == 2
        assert [m["content"] for m in second.json()["history"]] == ["Oi!", "Olá"]
        assert http.get(f"/tenants/{acme.id}/usage").json()[0]["total_tokens"] == 7
        # the contract as HTTP statuses
        assert http.post(f"/tenants/{acme.id}/inboxes/{other.inbox}/turns",
                         json={"customer": "x", "role": "user", "content": "x"}).status_code == 404
        bad = http.post(url, json={"customer": "x", "role": "user", "content": "x" * 70000})
        assert (bad.status_code, bad.json()["error"]) == (400, "InvalidInput")
        assert http.get(f"/tenants/{other.id}/usage").json() == []  # only its own rows
