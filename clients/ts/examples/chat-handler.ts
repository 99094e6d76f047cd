// An Express-style handler for one chat turn (docs/backend.md). Express's req/res satisfy the two small
// interfaces below, so `app.post('/tenants/:tenantId/inboxes/:inboxId/turns', chatTurnHandler(pool))` works
// as is; the tests call it with stand-ins against a real server.
import type pg from 'pg';
import { callFunction, toDom360Error, type Dom360ErrorCode } from '../src/pg.js';

export interface Req {
  params: { tenantId: string; inboxId: string };
  body: { customer: string; role: 'user' | 'assistant'; content: string; requestId?: string; inputTokens?: number };
}
export interface Res {
  status(code: number): Res;
  json(body: unknown): unknown;
}

/** HTTP status per error code of the contract. */
export const HTTP_STATUS: Record<Dom360ErrorCode, number> = {
  TENANT_NOT_SET: 500, PERMISSION_DENIED: 403, NOT_FOUND: 404, INVALID_INPUT: 400, CONFLICT: 409,
  WRONG_KEY: 500, RETRYABLE: 503, UNAVAILABLE: 503, DATABASE_ERROR: 500,
};

export function chatTurnHandler(pool: pg.Pool) {
  return async (req: Req, res: Res): Promise<void> => {
    try {
      // one statement in autocommit: the turn's transaction, and its tenant setting, end with it (one round trip)
      const rows = await callFunction(pool, 'chat_turn', {
        p_tenant_id: req.params.tenantId,
        p_inbox_id: req.params.inboxId,
        p_external_id: req.body.customer,
        p_role: req.body.role,
        p_content: req.body.content,
        p_input_tokens: req.body.inputTokens ?? 0,
        p_request_id: req.body.requestId ?? null,
        p_history_limit: 20,
      });
      const [stored] = rows;                       // the message just stored comes first
      res.status(201).json({
        conversationId: stored?.conversation_id,
        messageId: stored?.message_id,             // int8: a string (exact) by default
        messageIndex: stored?.message_index,
        history: rows.map((m) => ({ role: m.role, content: m.content, at: m.created_at.toISOString() })),
      });
    } catch (err) {
      const e = toDom360Error(err);
      res.status(HTTP_STATUS[e.code]).json({ error: e.code, message: e.message });
    }
  };
}
