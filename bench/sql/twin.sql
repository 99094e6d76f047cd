-- name: drop_table --
-- The twin of an earlier run (--reuse).
DROP TABLE IF EXISTS {twin}.messages

-- name: drop_sequence --
-- Its sequence.
DROP SEQUENCE IF EXISTS {twin}.messages_id_seq

-- name: sequence --
-- The twin's own id sequence.
CREATE SEQUENCE {twin}.messages_id_seq AS bigint

-- name: table --
-- Same columns, defaults, CHECKs, generated column and indexes (PK, (tenant_id, created_at DESC), the partial GIN
-- index); LIKE copies neither triggers, nor foreign keys, nor row-level security.
CREATE TABLE {twin}.messages (LIKE dom360.messages INCLUDING ALL) PARTITION BY RANGE (created_at)

-- name: defaults --
-- Its id from its own sequence; the tenant is always given (no default from the tenant context).
ALTER TABLE {twin}.messages
      ALTER COLUMN id SET DEFAULT nextval('{twin}.messages_id_seq'),
      ALTER COLUMN tenant_id DROP DEFAULT

-- name: sequence_owner --
-- The sequence goes with the table.
ALTER SEQUENCE {twin}.messages_id_seq OWNED BY {twin}.messages.id

-- name: comment --
-- What the twin is.
COMMENT ON TABLE {twin}.messages IS 'bench (a): dom360.messages without trigger, foreign keys or row-level security.'
