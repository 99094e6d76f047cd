-- Queries of `dom360db tenant …` (dom360db.tenant_export, tenant_import, tenant_erase). Identifiers in
-- {braces} are filled with psycopg.sql (Identifier, Literal); values are bind parameters, except in COPY,
-- which takes none (the tenant id is then a sql.Literal).

-- name: tenant_tables --
-- The tables that hold tenant data, in load order, with their keys and columns.
SELECT table_name, load_order, tenant_column, key_columns, columns, generated_columns
  FROM dom360.tenant_tables();

-- name: lookup_tenants --
-- Tenants by slug or id (any status).
SELECT id, slug, name, status FROM dom360.lookup_tenants(%(slug)s, %(id)s);

-- name: portable_session --
-- Text forms that do not depend on the session: timestamps in UTC, ISO dates.
SELECT pg_catalog.set_config('TimeZone', 'UTC', true), pg_catalog.set_config('DateStyle', 'ISO, YMD', true),
       pg_catalog.set_config('IntervalStyle', 'iso_8601', true), pg_catalog.set_config('extra_float_digits', '3', true);

-- name: schema_versions --
-- The versioned migrations applied to this database.
SELECT coalesce(array_agg(DISTINCT version ORDER BY version), '{}')
  FROM dom360db_meta.applied_files WHERE kind = 'versioned';

-- name: count_rows --
-- Rows of one tenant in one table (less the rows skipped, as copy_out).
SELECT count(*) FROM dom360.{table} AS d WHERE d.{tenant_column} = %(tenant_id)s AND NOT {skip};

-- name: message_months --
-- The months holding the tenant's messages.
SELECT coalesce(array_agg(m.month ORDER BY m.month), '{}')
  FROM (SELECT DISTINCT pg_catalog.date_trunc('month', d.created_at AT TIME ZONE 'UTC')::date AS month
          FROM dom360.messages AS d WHERE d.tenant_id = %(tenant_id)s) AS m;

-- name: copy_out --
-- Copy one table's rows of the tenant out, one JSON object per line.
-- One JSON object per line: CSV mode whose quote and delimiter are control characters, which JSON text
-- always escapes, so each line is the JSON text unchanged (the text format would double its backslashes).
-- {columns} is d.* unless secrets are decrypted (dom360.decrypt_sensitive_field, with app.encryption_key set).
-- The rows skipped: none (false), or for the audit log the records of moves (`move` below: in the manifest).
COPY (SELECT pg_catalog.row_to_json(x)::text
        FROM (SELECT {columns} FROM dom360.{table} AS d WHERE d.{tenant_column} = {tenant_id} AND NOT {skip}) AS x
       ORDER BY {key})
  TO STDOUT WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02');

-- name: set_key --
-- The encryption key of this transaction: a bind parameter, never in a statement's text.
SELECT pg_catalog.set_config('app.encryption_key', %(key)s, true);

-- name: audit --
-- A lifecycle operation (EXPORT, IMPORT), as the audit trigger records its actor: the SET ROLE role, else the login.
-- Returns the row as an export writes it (with portable_session set), for the manifest's lifecycle list.
INSERT INTO dom360.audit_log AS l (tenant_id, actor, table_name, operation, row_key, changes)
VALUES (%(tenant_id)s,
        CASE WHEN pg_catalog.current_setting('role') = 'none' THEN session_user::text ELSE pg_catalog.current_setting('role') END,
        'tenants', %(operation)s, pg_catalog.jsonb_build_object('id', %(tenant_id)s::uuid), %(changes)s)
RETURNING pg_catalog.row_to_json(l)::text;

-- name: move --
-- The predicate of a move record (EXPORT, IMPORT) in the audit log: a fragment for copy_out's {skip} and moves.
d.operation IN ('EXPORT', 'IMPORT')

-- name: moves --
-- The tenant's move records in id order: the manifest's lifecycle list.
-- The audit rows that record a move of the tenant (EXPORT, IMPORT: the predicate `move` just above) rather than
-- a change of its rows, in id order, as an export writes a row: the manifest's lifecycle list, not in
-- audit_log.jsonl, so that export → import → export gives the same data files.
SELECT pg_catalog.row_to_json(d)::text FROM dom360.audit_log AS d
 WHERE d.tenant_id = %(tenant_id)s AND {move}
 ORDER BY d.id;

-- name: audit_rows_exist --
-- Whether the audit log already has rows of this tenant.
SELECT EXISTS (SELECT FROM dom360.audit_log AS l WHERE l.tenant_id = %(tenant_id)s);

-- name: stage_docs --
-- The temporary table a tenant file is copied into.
CREATE TEMP TABLE IF NOT EXISTS lifecycle_docs (doc jsonb NOT NULL) ON COMMIT DROP;

-- name: copy_in --
-- Copy one tenant file's JSON lines into the staging table.
COPY pg_temp.lifecycle_docs (doc) FROM STDIN WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02');

-- name: stage_table --
-- Stage one table's rows, typed, from the copied documents.
CREATE TEMP TABLE {stage} ON COMMIT DROP AS
SELECT r.* FROM pg_temp.lifecycle_docs AS d CROSS JOIN LATERAL pg_catalog.jsonb_populate_record(NULL::dom360.{table}, d.doc) AS r;

-- name: analyze_stage --
-- Temporary tables get no statistics by themselves: without them each step below may scan all staged messages.
ANALYZE pg_temp.{stage};

-- name: index_stage_messages --
-- Index the staged messages by conversation.
CREATE INDEX ON pg_temp.stage_messages (conversation_id, message_index);

-- name: clear_docs --
-- Empty the document staging table for the next file.
TRUNCATE pg_temp.lifecycle_docs;

-- name: insert_staged --
-- {values}: s.<column>, or dom360.encrypt_sensitive_field(s.<column>) for a secret exported decrypted.
INSERT INTO dom360.{table} ({columns}) OVERRIDING SYSTEM VALUE
SELECT {values} FROM pg_temp.{stage} AS s ORDER BY {key};

-- name: conversation_waves --
-- Split the staged conversations into waves that can be inserted open, then closed.
-- At most one conversation per (tenant, inbox, customer) may be open, and messages are only appended to an
-- open one: conversations are loaded in waves, the n-th conversation of each customer and inbox in wave n,
-- each opened, given its messages, then set to its exported state (closed, counters, times). The one that is
-- open in the export comes last in its group.
-- A wave is loaded in steps of about %(step)s messages (whole conversations), one progress tick each.
CREATE TEMP TABLE lifecycle_waves ON COMMIT DROP AS
SELECT w.id, w.wave, w.messages,
       ((pg_catalog.sum(w.messages) OVER (PARTITION BY w.wave ORDER BY w.id) - 1) / %(step)s)::integer AS step
  FROM (SELECT s.id, GREATEST(s.message_count, 1) AS messages,
               pg_catalog.row_number() OVER (PARTITION BY s.inbox_id, s.external_id
                                             ORDER BY s.status = 'open', s.created_at, s.id)::integer AS wave
          FROM pg_temp.stage_conversations AS s) AS w;

-- name: index_waves --
-- Index the conversation waves.
CREATE INDEX ON pg_temp.lifecycle_waves (wave, step);

-- name: analyze_waves --
-- Statistics for the conversation waves.
ANALYZE pg_temp.lifecycle_waves;

-- name: wave_steps --
-- The steps of each wave and the messages in them.
SELECT w.wave, w.step, pg_catalog.sum(w.messages)::bigint FROM pg_temp.lifecycle_waves AS w
 GROUP BY w.wave, w.step ORDER BY w.wave, w.step;

-- name: open_wave --
-- Insert one wave of conversations, open.
INSERT INTO dom360.conversations ({columns})
SELECT {values} FROM pg_temp.stage_conversations AS s JOIN pg_temp.lifecycle_waves AS w USING (id)
 WHERE w.wave = %(wave)s AND w.step = %(step)s ORDER BY s.id;

-- name: wave_messages --
-- Insert the staged messages of one wave step.
-- Through the messages trigger, in the conversation's order: it numbers them again (checked afterwards
-- against the export), fills inbox_id and counts them (counters replaced by the exported ones afterwards).
INSERT INTO dom360.messages ({columns})
SELECT {values} FROM pg_temp.stage_messages AS s JOIN pg_temp.lifecycle_waves AS w ON w.id = s.conversation_id
 WHERE w.wave = %(wave)s AND w.step = %(step)s ORDER BY s.conversation_id, s.message_index;

-- name: close_wave --
-- Give one wave of conversations their final columns.
UPDATE dom360.conversations AS c SET ({columns}) = ({values})
  FROM pg_temp.stage_conversations AS s JOIN pg_temp.lifecycle_waves AS w USING (id)
 WHERE w.wave = %(wave)s AND w.step = %(step)s AND c.tenant_id = s.tenant_id AND c.id = s.id;

-- name: renumbered --
-- Staged messages that did not land exactly as exported (id, index, time, inbox).
SELECT count(*) FROM pg_temp.stage_messages AS s
 WHERE NOT EXISTS (SELECT FROM dom360.messages AS m
                    WHERE m.tenant_id = s.tenant_id AND m.conversation_id = s.conversation_id
                      AND m.message_index = s.message_index AND m.created_at = s.created_at
                      AND m.id = s.id AND m.inbox_id = s.inbox_id);

-- name: drop_counters --
-- Drop the counters the import's inserts wrote (the exported ones win).
DELETE FROM dom360.consumption_inbox_daily_stripes AS s WHERE s.tenant_id = %(tenant_id)s;

-- name: discard_import_audit_rows --
-- Drop the audit rows the import's inserts wrote.
SELECT dom360.discard_import_audit_rows(%(tenant_id)s);

-- name: sequences --
-- Columns filled from a sequence (identity or nextval default) of the tenant tables.
SELECT r.table_name, a.attname::text,
       pg_catalog.pg_get_serial_sequence(pg_catalog.format('dom360.%I', r.table_name), a.attname)
  FROM dom360.tenant_tables() AS r
  JOIN pg_catalog.pg_attribute AS a
    ON a.attrelid = pg_catalog.format('dom360.%I', r.table_name)::regclass AND a.attnum > 0 AND NOT a.attisdropped
 WHERE pg_catalog.pg_get_serial_sequence(pg_catalog.format('dom360.%I', r.table_name), a.attname) IS NOT NULL;

-- name: advance_sequence --
-- Past the imported values, never backwards (the sequence is shared by every tenant of the database).
SELECT pg_catalog.setval(%(sequence)s::regclass,
                         GREATEST(coalesce(pg_catalog.pg_sequence_last_value(%(sequence)s::regclass), 1), x.m))
  FROM (SELECT max(s.{column}) AS m FROM pg_temp.{stage} AS s) AS x
 WHERE x.m IS NOT NULL;

-- name: create_month_partition --
-- Create the messages partition of one month.
SELECT dom360.create_month_partition('dom360.messages'::regclass, %(month)s::date);

-- name: erase_batch --
-- Erase one batch of the tenant's rows.
SELECT table_name, deleted FROM dom360.erase_tenant_batch(%(tenant_id)s, %(batch_size)s);

-- name: erase_finish --
-- Erase the tenant row itself once its data is gone.
SELECT dom360.erase_tenant_finish(%(tenant_id)s);

-- name: refresh_summary --
-- Refresh the consumption summary after an import or erase.
REFRESH MATERIALIZED VIEW CONCURRENTLY dom360.mv_tenant_consumption_summary;

-- name: staged_columns --
-- The columns of a staging table.
SELECT a.attname::text FROM pg_catalog.pg_attribute AS a
 WHERE a.attrelid = %(stage)s::regclass AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum;
