SET LOCAL ROLE {{ owner_role | ident }};

-- Agent response time, one row per turn. A turn starts at the first user message after the previous
-- assistant message of the conversation (or its start) and ends at the next assistant message: two user
-- messages before one answer are one turn, measured from the first (the customer waited since then); an
-- assistant message with no user message before it (a greeting, a follow-up) starts no turn; a user
-- message never answered is a turn with answered_at NULL. Order is message_index (the conversation's
-- order), times are created_at; system and tool messages neither start nor end a turn.
--
-- How: number each user/assistant message by how many assistant messages precede it in its conversation;
-- the messages sharing that number are the user messages of one turn and, last, the assistant message
-- that ends it. The conversation's agent type is read as it is now (NULL: the tenant's default).
-- Cost: a tenant filter reaches the messages scan (tenant_id is a window partition and grouping column);
-- a time filter on asked_at does not, so a reader filtered on one tenant reads that tenant's messages.
CREATE VIEW dom360.analytics_response_turns WITH (security_invoker = true) AS
WITH numbered AS (
    SELECT m.tenant_id, m.conversation_id, m.inbox_id, m.role, m.created_at,
           count(*) FILTER (WHERE m.role = 'assistant')
               OVER (PARTITION BY m.tenant_id, m.conversation_id ORDER BY m.message_index)
           - CASE WHEN m.role = 'assistant' THEN 1 ELSE 0 END AS turn
      FROM dom360.messages AS m
     WHERE m.role IN ('user', 'assistant')
), turns AS (
    SELECT n.tenant_id, n.conversation_id, n.inbox_id, n.turn,
           min(n.created_at) FILTER (WHERE n.role = 'user')      AS asked_at,
           min(n.created_at) FILTER (WHERE n.role = 'assistant') AS answered_at,
           count(*) FILTER (WHERE n.role = 'user')                AS user_messages
      FROM numbered AS n
     GROUP BY n.tenant_id, n.conversation_id, n.inbox_id, n.turn
    HAVING count(*) FILTER (WHERE n.role = 'user') > 0
)
SELECT t.tenant_id,
       t.conversation_id,
       t.inbox_id,
       COALESCE(c.agent_type, a.default_agent_type)                             AS agent_type,
       t.turn + 1                                                               AS turn,
       t.user_messages,
       t.asked_at,
       t.answered_at,
       EXTRACT(EPOCH FROM t.answered_at - t.asked_at)::double precision         AS response_seconds
  FROM turns AS t
  JOIN dom360.conversations AS c ON c.tenant_id = t.tenant_id AND c.id = t.conversation_id
  LEFT JOIN dom360.account_vars AS a ON a.tenant_id = t.tenant_id;

COMMENT ON VIEW dom360.analytics_response_turns IS 'Agent response time per turn: from the first user message after the previous assistant message to the next assistant message of the same conversation (answered_at and response_seconds NULL while unanswered). security_invoker; for the analytics role.';
COMMENT ON COLUMN dom360.analytics_response_turns.turn IS '1, 2, 3… among the conversation''s answered and unanswered turns (counted from its assistant messages, so a greeting before the first question advances it).';
COMMENT ON COLUMN dom360.analytics_response_turns.user_messages IS 'User messages in the turn (several before one answer count once, from the first).';
