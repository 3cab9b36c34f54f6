import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, WsTicketError, CLOSE_UNAUTHENTICATED } from "../wsticket.js";
import { makeEnv, flush, JWT } from "../testing/fakes.js";

test("401 from the ticket endpoint: onAuthError once, no socket, close 4401, no more mints", async () => {
  const env = makeEnv();
  env.plan.push(401);
  const seen = [];
  const sock = env.record(connect(env.options({ onAuthError: (err) => seen.push({ err, state: sock.readyState }) })));
  await flush();
  assert.equal(seen.length, 1);
  const { err } = seen[0];
  assert.ok(err instanceof WsTicketError);
  assert.equal(err.kind, "auth");
  assert.equal(err.status, 401);
  assert.ok(!err.message.includes(JWT));
  assert.equal(seen[0].state, 3, "stopped before onAuthError runs");
  assert.equal(env.sockets.length, 0);
  const closes = env.of("close");
  assert.equal(closes.length, 1);
  assert.equal(closes[0].code, CLOSE_UNAUTHENTICATED);
  assert.equal(closes[0].code, 4401);
  assert.equal(closes[0].wasClean, false);
  assert.equal(env.of("reconnecting").length, 0);
  assert.equal(env.clock.pending(), 0);
  await env.clock.advance(600_000);
  assert.equal(env.calls.length, 1);
  assert.equal(seen.length, 1);
  assert.equal(sock.readyState, 3);
  sock.close(); // harmless
  assert.equal(env.of("close").length, 1);
});

test("401 on a reconnect (the login expired): stops the same way", async () => {
  const env = makeEnv();
  let calls = 0;
  const sock = env.record(connect(env.options({ onAuthError: () => calls++ })));
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  env.plan.push(401);
  ws.serverClose(1006, "", false);
  assert.equal(env.of("reconnecting").length, 1);
  await env.clock.advance(60_000);
  assert.equal(calls, 1);
  assert.equal(env.calls.length, 2);
  assert.equal(env.sockets.length, 1);
  assert.deepEqual(env.of("close").map((e) => e.code), [4401]);
  await env.clock.advance(600_000);
  assert.equal(env.calls.length, 2);
  assert.equal(calls, 1);
  assert.equal(sock.readyState, 3);
});

test("401 without onAuthError still stops and emits close 4401", async () => {
  const env = makeEnv();
  env.plan.push(401);
  const sock = env.record(connect(env.options()));
  await flush();
  assert.deepEqual(env.of("close").map((e) => e.code), [4401]);
  assert.equal(sock.readyState, 3);
});

test("getAuthHeader is asked before every mint, so a refreshed login is used", async () => {
  const env = makeEnv();
  let n = 0;
  const sock = connect(env.options({ getAuthHeader: async () => `Bearer jwt-${++n}` }));
  const ws1 = await env.nextSocket(1);
  ws1.serverOpen();
  ws1.serverClose(1001);
  await env.clock.advance(60_000);
  await env.nextSocket(2);
  assert.deepEqual(env.calls.map((c) => c.init.headers.Authorization), ["Bearer jwt-1", "Bearer jwt-2"]);
  sock.close();
});
