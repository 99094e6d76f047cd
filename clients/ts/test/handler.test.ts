// Run by tests/test_ts_client.py against a real server: DOM360_TEST_APP_DSN (a login granted dom360_app),
// DOM360_TEST_TENANT and DOM360_TEST_INBOX (a tenant and one of its inboxes), DOM360_TEST_OTHER_INBOX (another
// tenant's inbox).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import { chatTurnHandler, type Res } from '../examples/chat-handler.js';
import { callFunction, Dom360Error, withTenant } from '../src/pg.js';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const pool = new pg.Pool({ connectionString: env('DOM360_TEST_APP_DSN'), max: 2 });
const tenantId = env('DOM360_TEST_TENANT');
const inboxId = env('DOM360_TEST_INBOX');
after(() => pool.end());

function response(): Res & { code: number; body: any } {
  const r = { code: 0, body: undefined as any,
    status(code: number) { r.code = code; return r; },
    json(body: unknown) { r.body = body; return r; } };
  return r;
}

test('a chat turn through the Express-style handler', async () => {
  const handler = chatTurnHandler(pool);
  const first = response();
  await handler({ params: { tenantId, inboxId }, body: { customer: 'node-1', role: 'user', content: 'Olá', requestId: 'n-1' } }, first);
  assert.equal(first.code, 201, JSON.stringify(first.body));
  assert.equal(first.body.messageIndex, 1);
  assert.equal(typeof first.body.messageId, 'string');
  const second = response();
  await handler({ params: { tenantId, inboxId }, body: { customer: 'node-1', role: 'assistant', content: 'Oi!' } }, second);
  assert.equal(second.code, 201);
  assert.deepEqual(second.body.history.map((m: { content: string }) => m.content), ['Oi!', 'Olá']);
  assert.equal(second.body.conversationId, first.body.conversationId);
  const retry = response();  // the same request id again: the first message, nothing new
  await handler({ params: { tenantId, inboxId }, body: { customer: 'node-1', role: 'user', content: 'Olá', requestId: 'n-1' } }, retry);
  assert.equal(retry.body.messageId, first.body.messageId);
});

test('refusals become the contract codes and HTTP statuses', async () => {
  const handler = chatTurnHandler(pool);
  const bad = response();
  await handler({ params: { tenantId, inboxId }, body: { customer: 'x', role: 'bot' as 'user', content: 'x' } }, bad);
  assert.deepEqual([bad.code, bad.body.error], [400, 'INVALID_INPUT']);
  const other = response();
  await handler({ params: { tenantId, inboxId: env('DOM360_TEST_OTHER_INBOX') }, body: { customer: 'x', role: 'user', content: 'x' } }, other);
  assert.deepEqual([other.code, other.body.error], [404, 'NOT_FOUND']);
  await assert.rejects(callFunction(pool, 'tenant_usage', {}), (e: unknown) =>
    e instanceof Dom360Error && e.code === 'TENANT_NOT_SET' && e.sqlstate === '42501');
});

test('withTenant rolls back and passes the application\'s own errors through', async () => {
  const mine = new Error('not a database error');
  await assert.rejects(withTenant(pool, tenantId, async (client) => {
    await callFunction(client, 'get_or_create_conversation', { p_inbox_id: inboxId, p_external_id: 'rolled-back' });
    throw mine;
  }), (e: unknown) => e === mine);
  const left = await withTenant(pool, tenantId, (client) =>
    client.query("SELECT count(*)::int AS n FROM dom360.conversations WHERE external_id = 'rolled-back'"));
  assert.equal(left.rows[0].n, 0);
  const unreachable = new pg.Pool({ connectionString: 'postgresql://x@127.0.0.1:1/x' });
  await assert.rejects(callFunction(unreachable, 'tenant_usage', {}), (e: unknown) =>
    e instanceof Dom360Error && e.code === 'UNAVAILABLE' && e.sqlstate === undefined);
  await unreachable.end();
});

test('bigint mode and typed rows inside a tenant transaction', async () => {
  await withTenant(pool, tenantId, async (client) => {
    const conv = await callFunction(client, 'get_or_create_conversation', { p_inbox_id: inboxId, p_external_id: 'node-1' });
    assert.equal(typeof conv, 'string');
    const asString = await callFunction(client, 'recent_messages', { p_conversation_id: conv, p_limit: 1 });
    const asBigint = await callFunction(client, 'recent_messages', { p_conversation_id: conv, p_limit: 1 }, { bigint: 'bigint' });
    const s: string = asString[0]!.message_id;        // the types follow the mode
    const b: bigint = asBigint[0]!.message_id;
    assert.equal(BigInt(s), b);
    assert.ok(asString[0]!.created_at instanceof Date);
    const usage = await callFunction(client, 'tenant_usage_daily', {});
    assert.match(usage[0]!.day, /^\d{4}-\d{2}-\d{2}$/);  // a date stays a calendar day
    assert.equal(await callFunction(client, 'set_account_secret', { p_name: 'webhook_secret', p_plaintext: 'wh', p_key: 'k'.repeat(40) }), undefined);
    await callFunction(client, 'set_account_secret', { p_name: 'webhook_secret', p_plaintext: null });  // NULL removes it
    const [config] = await callFunction(client, 'get_tenant_config', {});
    assert.deepEqual(config!.secrets_present, []);
  });
});
