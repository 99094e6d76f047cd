"""`dom360db gen types --lang ts`: TypeScript declarations of the app-facing SQL API, from the live catalog.

For every function the app role may EXECUTE (the guards require_tenant/raise_no_tenant aside): its arguments
(optional when they have a default), its result (rows for a RETURNS TABLE function, else a value), its
COMMENT as documentation, and the error contract (SQLSTATE -> error code, the same table as the Python client's
exceptions). Nullability of result columns comes from the Python client's row classes (dom360db/client/rows.py,
checked against the catalog by the tests); a function without one gets every column `| null`.

int8 is the one type JavaScript numbers cannot hold: the declarations take a mode, `Int8<'string'>` (exact, what
`pg` gives by default) or `Int8<'bigint'>` (BigInt), matched by callFunction's `bigint` option at run time.
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row

from dom360db.client.errors import CONTRACT, NO_TENANT_MESSAGE, Dom360ClientError, TenantNotSet
from dom360db.client.rows import NULLABLE_SCALARS, ROWS, AgentType, Role, Stage
from dom360db.queries import query

#: App-executable functions that are not API: the guard every function calls first.
INTERNAL = {"require_tenant", "raise_no_tenant"}

TS_TYPES = {
    "uuid": "string", "text": "string", "varchar": "string", "int2": "number", "int4": "number", "int8": "Int8<M>",
    "numeric": "string", "float4": "number", "float8": "number", "bool": "boolean", "date": "string",
    "timestamptz": "Date", "timestamp": "Date", "jsonb": "Json", "json": "Json", "_text": "string[]", "void": "void",
    "interval": "string", "regclass": "string",
}


#: Arguments whose SQL type is text but whose values the schema restricts (the same Literal types as the Python
#: client's): declared as unions of those values.
ARG_VALUES: dict[str, object] = {"p_role": Role, "p_agent_type": AgentType, "p_stage": Stage}


#: Argument lists that several functions take, declared once under a name (arguments: name, SQL type, optional).
NAMED_ARGS: dict[tuple[tuple[str, str, bool], ...], tuple[str, str]] = {
    (("p_from", "date", True), ("p_to", "date", True)):
        ("DateRange", "UTC days from p_from to p_to, inclusive; null or absent: unbounded."),
}


#: Required arguments for which NULL means something (every optional argument also takes null).
NULL_MEANS = {("set_account_secret", "p_plaintext"): "removes the secret", ("encrypt_sensitive_field", "p_plaintext"): "NULL",
              ("decrypt_sensitive_field", "p_ciphertext"): "NULL", ("chat_turn", "p_tenant_id"): "the transaction's tenant"}


@dataclass(frozen=True)
class Arg:
    name: str
    pg_type: str
    optional: bool


@dataclass(frozen=True)
class Function:
    name: str
    comment: str
    args: list[Arg]
    columns: list[tuple[str, str]]  # RETURNS TABLE / OUT columns, or a returned table row's; empty for a scalar
    return_type: str
    returns_set: bool


def load(conn: psycopg.Connection, role: str) -> list[Function]:
    """The app role's functions, from the catalog."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query("gen_types.app_functions"), {"role": role}).fetchall()
    out = []
    for r in rows:
        if r["name"] in INTERNAL:
            continue
        names, modes, types = r["arg_names"], r["arg_modes"] or ["i"] * len(r["arg_types"]), r["arg_types"]
        inputs = [(n, t) for n, m, t in zip(names or [""] * len(types), modes, types, strict=True) if m in ("i", "b", "v")]
        columns = [(n, t) for n, m, t in zip(names or [""] * len(types), modes, types, strict=True) if m in ("t", "o", "b")]
        if not columns:  # RETURNS SETOF a table's row type
            columns = list(zip(r["row_names"], r["row_types"], strict=True))
        first_optional = len(inputs) - r["ndefaults"]
        args = [Arg(n, t, i >= first_optional) for i, (n, t) in enumerate(inputs)]
        out.append(Function(r["name"], r["comment"] or "", args, columns, r["return_type"], r["returns_set"]))
    return out


def _ts(pg_type: str) -> str:
    try:
        return TS_TYPES[pg_type]
    except KeyError:
        raise ValueError(f"no TypeScript type for PostgreSQL type {pg_type!r}: add it to gen_types.TS_TYPES") from None


def _nullable_columns(fn: Function) -> set[str]:
    cls = ROWS.get(fn.name)
    if cls is None:
        return {n for n, _ in fn.columns}
    hints = typing.get_type_hints(cls)
    return {n for n, h in hints.items() if type(None) in typing.get_args(h)}


def _doc(text: str, indent: str) -> list[str]:
    if not text:
        return []
    return [f"{indent}/** {text.replace('*/', '* /')} */"]


def _arg_key(fn: Function) -> tuple[tuple[str, str, bool], ...]:
    return tuple((a.name, a.pg_type, a.optional) for a in fn.args)


def _arg_lines(fn: Function) -> list[str]:
    """The fields of a function's Args (two-space indent)."""
    lines = []
    for a in fn.args:
        opt = "?" if a.optional else ""
        null = " | null" if a.optional or (fn.name, a.name) in NULL_MEANS else ""
        values = typing.get_args(ARG_VALUES[a.name]) if a.name in ARG_VALUES else ()
        ts = " | ".join(json.dumps(v) for v in values) if values else _ts(a.pg_type)
        lines.append(f"  {a.name}{opt}: {ts}{null};")
    return lines


def _named_args(functions: list[Function]) -> list[str]:
    """The declarations of the NAMED_ARGS that some function takes (each once)."""
    lines: list[str] = []
    for key, (name, doc) in NAMED_ARGS.items():
        fn = next((f for f in functions if _arg_key(f) == key), None)
        if fn is not None:
            lines += [*_doc(doc, ""), f"export interface {name} {{", *_arg_lines(fn), "}", ""]
    return lines


def _row_interfaces(functions: list[Function]) -> tuple[dict[str, str], list[str]]:
    """One exported interface per Python row class (dom360db/client/rows.py), named as it, for the functions that
    have one: it extends the interface of the class's Python base when that is a row class too and its fields are
    among this one's (chat_turn's row is a recent_messages row with its conversation id). Returns each function's
    `Returns` type and the declarations."""
    fields: dict[type, list[str]] = {}
    returns: dict[str, str] = {}
    for fn in functions:
        cls = ROWS.get(fn.name)
        if cls is None or not fn.columns:
            continue
        nullable = _nullable_columns(fn)
        fields[cls] = [f"  {name}: {_ts(t)}{' | null' if name in nullable else ''};" for name, t in fn.columns]
        returns[fn.name] = f"{cls.__name__}<M>[]"
    lines: list[str] = []
    for cls in sorted(fields, key=lambda c: c.__name__):
        own, extends = fields[cls], ""
        base = next((b for b in cls.__mro__[1:] if b in fields), None)
        if base is not None and set(fields[base]) <= set(own):
            own, extends = [f for f in own if f not in fields[base]], f" extends {base.__name__}<M>"
        lines += _doc(f"A row of {', '.join(f'{n}()' for n, c in ROWS.items() if c is cls)} "
                      f"(dom360db.client.rows.{cls.__name__}).", "")
        lines += [f"export interface {cls.__name__}<M extends BigintMode = 'string'>{extends} {{", *own, "}", ""]
    return returns, lines


def _codes() -> tuple[dict[str, str], list[str]]:
    mapping = {state: cls.code for state, cls in CONTRACT.items()}
    codes = sorted({cls.code for cls in (*CONTRACT.values(), TenantNotSet, Dom360ClientError)})
    return mapping, codes


def typescript(functions: list[Function]) -> str:
    """The whole declarations file (deterministic: sorted by function name)."""
    lines = [
        "// Generated by `dom360db gen types --lang ts` from the catalog of a migrated database: do not edit.",
        "// Regenerate: dom360db gen types --lang ts -o clients/ts/src/dom360.ts (a test fails when it is stale).",
        "",
        "/** A jsonb value. */",
        "export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };",
        "",
        "/** How int8 (bigint) values arrive: 'string' (exact; pg's default) or 'bigint' (JavaScript BigInt).",
        " *  Chosen per call with callFunction's `bigint` option, which installs the matching parser. */",
        "export type BigintMode = 'string' | 'bigint';",
        "export type Int8<M extends BigintMode> = M extends 'bigint' ? bigint : string;",
        "",
    ]
    row_types, interfaces = _row_interfaces(functions)
    lines += _named_args(functions) + interfaces
    lines += [
        "/** date arrives as 'YYYY-MM-DD' (never a Date at local midnight), numeric as a string (exact),",
        " *  timestamptz as a Date. */",
        "export interface Dom360Functions<M extends BigintMode = 'string'> {",
    ]
    meta: dict[str, dict[str, object]] = {}
    for fn in functions:
        lines += _doc(fn.comment, "  ")
        lines.append(f"  {fn.name}: {{")
        if _arg_key(fn) in NAMED_ARGS:
            lines.append(f"    Args: {NAMED_ARGS[_arg_key(fn)][0]};")
        elif fn.args:
            lines += ["    Args: {", *(f"    {line}" for line in _arg_lines(fn)), "    };"]
        else:
            lines.append("    Args: Record<string, never>;")
        if fn.name in row_types:
            lines.append(f"    Returns: {row_types[fn.name]};")
            kind = "rows"
        elif fn.columns:
            nullable = _nullable_columns(fn)
            lines.append("    Returns: {")
            for name, t in fn.columns:
                lines.append(f"      {name}: {_ts(t)}{' | null' if name in nullable else ''};")
            lines.append("    }[];")
            kind = "rows"
        elif fn.return_type == "void":
            lines.append("    Returns: void;")
            kind = "void"
        else:
            base = _ts(fn.return_type)
            null = " | null" if fn.name in NULLABLE_SCALARS else ""
            lines.append(f"    Returns: {base}{null}{'[]' if fn.returns_set else ''};")
            kind = "values" if fn.returns_set else "value"
        lines.append("  };")
        meta[fn.name] = {"args": [[a.name, a.pg_type] for a in fn.args], "returns": kind}
    lines += ["}", "", "export type FunctionName = keyof Dom360Functions;", ""]
    lines += ["/** Argument names and SQL types in order, and the kind of result (used by callFunction). */",
              "export const FUNCTIONS = {"]
    for name, m in meta.items():
        lines.append(f"  {name}: {json.dumps(m, separators=(', ', ': '))},")
    lines += ["} as const satisfies Record<FunctionName, { args: readonly (readonly [string, string])[]; "
              "returns: 'rows' | 'value' | 'values' | 'void' }>;", ""]
    mapping, codes = _codes()
    lines += ["/** Error codes of the contract (docs/backend.md): the same classes as the Python client's exceptions. */",
              f"export type Dom360ErrorCode = {' | '.join(json.dumps(c) for c in codes)};",
              "",
              "/** SQLSTATE (exact, else its two-character class) -> error code; anything else is DATABASE_ERROR. */",
              "export const SQLSTATE_ERROR_CODES: Readonly<Record<string, Dom360ErrorCode>> = {"]
    for state, code in mapping.items():
        lines.append(f"  {json.dumps(state)}: {json.dumps(code)},")
    lines += ["};", "",
              "/** 42501 with this message is TENANT_NOT_SET (every app-facing function, when no tenant is set). */",
              f"export const NO_TENANT_MESSAGE = {json.dumps(NO_TENANT_MESSAGE)};", ""]
    return "\n".join(lines)


def generate(conn: psycopg.Connection, lang: str, role: str) -> str:
    if lang != "ts":
        raise ValueError(f"unknown language {lang!r}")
    return typescript(load(conn, role))
