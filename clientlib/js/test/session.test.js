// Session lifetime (issue 10): in-band re-authentication and the close
// codes that end or delay a session.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  connect,
  WsTicketError,
  CLOSE_UNAUTHENTICATED,
  CLOSE_REVOKED,
  CLOSE_SESSION_EXPIRED,
  CLOSE_SERVICE_RESTART,
  CLOSE_TRY_AGAIN_LATER,
} from "../wsticket.js";
import { makeEnv, flush, json } from "../testing/fakes.js";

const REAUTH = '{"type":"reauth","expires_at":"2030-01-01T00:05:00Z"}';
const AUTH_OK = '{"type":"auth_ok","expires_at":"2030-01-01T01:05:00Z"}';

function accept(ws, transport) {
  ws.serverOpen(transport === "subprotocol" ? "wsticket" : "");
  if (transport === "first-message") ws.serverMessage('{"type":"auth_ok"}');
}

// The auth frames the client sent on ws after the connection opened.
const reauthFrames = (ws, transport) => ws.sent.slice(transport === "first-message" ? 1 : 0);

test("close-code constants", () => {
  assert.equal(CLOSE_UNAUTHENTICATED, 4401);
  assert.equal(CLOSE_REVOKED, 1008);
  assert.equal(CLOSE_SESSION_EXPIRED, 4440);
  assert.equal(CLOSE_SERVICE_RESTART, 1012);
  assert.equal(CLOSE_TRY_AGAIN_LATER, 1013);
});

for (const transport of ["query", "subprotocol", "first-message"]) {
  test(`${transport}: reauth is answered with a fresh ticket on the same socket, and the app sees no control frame`, async () => {
    const env = makeEnv();
    const sock = env.record(connect(env.options({ transport })));
    const ws = await env.nextSocket(1);
    accept(ws, transport);
    const opens = env.of("open").length;
    ws.serverMessage(REAUTH);
    await flush();
    assert.equal(env.calls.length, 2, "one mint for the reauth");
    assert.deepEqual(env.calls[1].init.headers, env.calls[0].init.headers, "the same mint request as a connect");
    assert.deepEqual(env.calls[1].body, env.calls[0].body);
    assert.equal(env.calls[1].init.method, "POST");
    assert.equal(env.tickets.length, 2);
    assert.notEqual(env.tickets[1], env.tickets[0]);
    assert.deepEqual(reauthFrames(ws, transport), [`{"type":"auth","ticket":"${env.tickets[1]}"}`]);
    ws.serverMessage(AUTH_OK);
    await flush();
    assert.equal(env.sockets.length, 1, "the socket stays open");
    assert.equal(sock.readyState, 1);
    assert.equal(env.of("open").length, opens, "no second open");
    assert.equal(env.of("message").length, 0, "reauth and auth_ok never reach the app");
    assert.equal(env.of("reconnecting").length + env.of("close").length + env.of("error").length, 0);
    sock.close();
  });
}

test("only JSON text frames typed exactly reauth or auth_ok are intercepted; anything else is delivered as is", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options()));
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  const bin = new ArrayBuffer(8);
  const passed = [
    "hello",
    '{"type":"other","note":"reauth"}',
    '{"type":"reauth"', // not JSON
    "reauth",
    '"reauth"',
    '["reauth"]',
    '{"type":"REAUTH"}',
    '{"type":" auth_ok"}',
    '{"kind":"auth_ok"}',
    '{"type":["reauth"]}',
    "null",
    bin,
  ];
  for (const m of passed) ws.serverMessage(m);
  ws.serverMessage(AUTH_OK);
  ws.serverMessage(' {"type": "auth_ok"} ');
  await flush();
  const got = env.of("message").map((e) => e.data);
  assert.deepEqual(got, passed);
  assert.equal(got.at(-1), bin, "binary data is the same object");
  assert.equal(env.calls.length, 1, "nothing above was a reauth");
  assert.deepEqual(ws.sent, []);
  sock.close();
});

test("getAuthHeader is asked again for a reauth, so a refreshed login is used", async () => {
  const env = makeEnv();
  let n = 0;
  const sock = env.record(connect(env.options({ getAuthHeader: async () => `Bearer jwt-${++n}` })));
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  ws.serverMessage(REAUTH);
  await flush();
  assert.equal(n, 2);
  assert.deepEqual(env.calls.map((c) => c.init.headers.Authorization), ["Bearer jwt-1", "Bearer jwt-2"]);
  assert.deepEqual(ws.sent, [`{"type":"auth","ticket":"${env.tickets[1]}"}`]);
  sock.close();
});

test("a second reauth while the first is minting is answered once", async () => {
  const env = makeEnv();
  let release;
  const sock = env.record(connect(env.options()));
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  env.plan.push(() => new Promise((r) => { release = r; }));
  ws.serverMessage(REAUTH);
  ws.serverMessage(REAUTH);
  await flush();
  assert.equal(env.calls.length, 2);
  release(json(201, { ticket: "wst_slow", expires_at: "x", expires_in: 30 }));
  await flush();
  assert.deepEqual(ws.sent, ['{"type":"auth","ticket":"wst_slow"}']);
  ws.serverMessage(REAUTH); // a later one mints again
  await flush();
  assert.equal(env.calls.length, 3);
  assert.equal(ws.sent.length, 2);
  sock.close();
});

test("a socket that closes while its reauth ticket is minted never gets it, nor does the next socket", async () => {
  const env = makeEnv();
  let release;
  const sock = env.record(connect(env.options()));
  const ws1 = await env.nextSocket(1);
  ws1.serverOpen();
  env.plan.push(() => new Promise((r) => { release = r; }));
  ws1.serverMessage(REAUTH);
  await flush();
  const signal = env.calls[1].init.signal;
  ws1.serverClose(1001, "going away");
  assert.equal(signal.aborted, true, "the reauth mint is aborted");
  release(json(201, { ticket: "wst_stale", expires_at: "x", expires_in: 30 }));
  await env.clock.advance(60_000);
  const ws2 = await env.nextSocket(2);
  ws2.serverOpen();
  await flush();
  assert.deepEqual(ws1.sent, []);
  assert.deepEqual(ws2.sent, []);
  sock.close();
});

test("reauth answered 401 by the ticket endpoint: onAuthError, the socket is closed, no reconnect", async () => {
  const env = makeEnv();
  const seen = [];
  const sock = env.record(connect(env.options({ onAuthError: (e) => seen.push(e) })));
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  env.plan.push(401);
  ws.serverMessage(REAUTH);
  await flush();
  assert.equal(seen.length, 1);
  assert.equal(seen[0].kind, "auth");
  assert.equal(seen[0].status, 401);
  assert.deepEqual(ws.sent, []);
  assert.equal(ws.closeCalls.length, 1, "the client closed the socket");
  assert.deepEqual(env.of("close").map((e) => e.code), [CLOSE_UNAUTHENTICATED]);
  await env.clock.advance(600_000);
  assert.equal(env.sockets.length, 1);
  assert.equal(env.calls.length, 2);
  assert.equal(sock.readyState, 3);
});

test("reauth mint failing transiently: one error event, the socket stays open, a repeated reauth answers", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options()));
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  env.plan.push(503);
  ws.serverMessage(REAUTH);
  await flush();
  assert.deepEqual(env.of("error").map((e) => [e.error.kind, e.error.status]), [["ticket", 503]]);
  assert.equal(sock.readyState, 1);
  assert.equal(env.of("reconnecting").length, 0);
  assert.deepEqual(ws.sent, []);
  ws.serverMessage(REAUTH);
  await flush();
  assert.deepEqual(ws.sent, [`{"type":"auth","ticket":"${env.tickets[1]}"}`]);
  sock.close();
});

test("cookie transport: reauth is intercepted but not answered (script never holds the ticket)", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options({ transport: "cookie" })));
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  ws.serverMessage(REAUTH);
  await flush();
  assert.equal(env.calls.length, 1);
  assert.deepEqual(ws.sent, []);
  assert.equal(env.of("message").length, 0);
  // The expiry close then renews by reconnecting with a new cookie ticket.
  ws.serverClose(CLOSE_SESSION_EXPIRED, "session expired");
  await env.clock.advance(0);
  await env.nextSocket(2);
  assert.deepEqual(env.calls[1].body, { audience: "demo", cookie: true });
  sock.close();
});

for (const transport of ["query", "first-message"]) {
  test(`${transport}: 1008 "revoked" stops: zero reconnects, onAuthError once, close 1008`, async () => {
    const env = makeEnv();
    const seen = [];
    const sock = env.record(connect(env.options({ transport, onAuthError: (e) => seen.push([e, sock.readyState]) })));
    const ws = await env.nextSocket(1);
    accept(ws, transport);
    ws.serverClose(1008, "revoked");
    await env.clock.advance(600_000);
    assert.equal(env.sockets.length, 1, "no reconnect");
    assert.equal(env.calls.length, 1, "no mint");
    assert.equal(env.of("reconnecting").length, 0);
    assert.equal(env.clock.pending(), 0);
    assert.equal(seen.length, 1);
    assert.ok(seen[0][0] instanceof WsTicketError);
    assert.equal(seen[0][0].kind, "revoked");
    assert.equal(seen[0][0].code, 1008);
    assert.equal(seen[0][1], 3, "stopped before onAuthError runs");
    assert.deepEqual(env.of("close").map((e) => [e.code, e.reason]), [[1008, "revoked"]]);
    assert.equal(sock.readyState, 3);
  });
}

test('1008 "revoked" before first-message auth_ok stops too', async () => {
  const env = makeEnv();
  let calls = 0;
  const sock = env.record(connect(env.options({ transport: "first-message", onAuthError: () => calls++ })));
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  ws.serverClose(1008, "revoked");
  await env.clock.advance(600_000);
  assert.equal(calls, 1);
  assert.equal(env.sockets.length, 1);
  assert.equal(sock.readyState, 3);
});

test("1008 with another reason is an ordinary drop: reconnects with backoff, no onAuthError", async () => {
  const env = makeEnv();
  let calls = 0;
  const sock = env.record(connect(env.options({ onAuthError: () => calls++ })));
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  ws.serverClose(1008, "message too big");
  await env.clock.advance(60_000);
  await env.nextSocket(2);
  assert.equal(calls, 0);
  sock.close();
});

test("4401 on an open connection (re-auth rejected): no reconnect, onAuthError, close 4401", async () => {
  const env = makeEnv();
  const seen = [];
  const sock = env.record(connect(env.options({ onAuthError: (e) => seen.push(e) })));
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  ws.serverMessage(REAUTH);
  await flush();
  ws.serverClose(4401, "ticket rejected");
  await env.clock.advance(600_000);
  assert.equal(env.sockets.length, 1);
  assert.equal(env.calls.length, 2, "the connect and the reauth, nothing after");
  assert.deepEqual(seen.map((e) => [e.kind, e.code]), [["rejected", 4401]]);
  assert.deepEqual(env.of("close").map((e) => [e.code, e.reason]), [[4401, "ticket rejected"]]);
  assert.equal(env.of("reconnecting").length, 0);
  assert.equal(sock.readyState, 3);
});

test("session expiry (4440) with a renewable login: one immediate reconnect with a refreshed login", async () => {
  const env = makeEnv();
  let n = 0;
  let authErrors = 0;
  const sock = env.record(connect(env.options({ getAuthHeader: async () => `Bearer jwt-${++n}`, onAuthError: () => authErrors++ })));
  const ws1 = await env.nextSocket(1);
  ws1.serverOpen();
  await env.clock.advance(60_000);
  ws1.serverClose(CLOSE_SESSION_EXPIRED, "session expired");
  assert.deepEqual(env.of("reconnecting").map((e) => e.delayMs), [0], "renewed at once, no backoff");
  await env.clock.advance(0);
  const ws2 = await env.nextSocket(2);
  assert.deepEqual(env.calls.map((c) => c.init.headers.Authorization), ["Bearer jwt-1", "Bearer jwt-2"]);
  ws2.serverOpen();
  await env.clock.advance(600_000);
  assert.equal(env.sockets.length, 2, "exactly one reconnect");
  assert.equal(env.calls.length, 2);
  assert.equal(authErrors, 0);
  assert.equal(env.of("close").length, 0);
  assert.equal(sock.readyState, 1);
  // The renewed connection was stable: a later expiry renews again.
  ws2.serverClose(CLOSE_SESSION_EXPIRED, "session expired");
  await env.clock.advance(0);
  await env.nextSocket(3);
  assert.equal(authErrors, 0);
  sock.close();
});

test("session expiry whose renewal mint answers 401: onAuthError, close 4401, no loop", async () => {
  const env = makeEnv();
  const seen = [];
  const sock = env.record(connect(env.options({ onAuthError: (e) => seen.push(e) })));
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  env.plan.push(401);
  ws.serverClose(CLOSE_SESSION_EXPIRED, "session expired");
  await env.clock.advance(600_000);
  assert.equal(env.calls.length, 2, "one renewal mint");
  assert.equal(env.sockets.length, 1);
  assert.deepEqual(seen.map((e) => [e.kind, e.status]), [["auth", 401]]);
  assert.deepEqual(env.of("close").map((e) => e.code), [CLOSE_UNAUTHENTICATED]);
  assert.equal(sock.readyState, 3);
});

test("session expiring again right after its renewal stops (kind expired) instead of looping", async () => {
  const env = makeEnv();
  const seen = [];
  const sock = env.record(connect(env.options({ onAuthError: (e) => seen.push(e) })));
  const ws1 = await env.nextSocket(1);
  ws1.serverOpen();
  ws1.serverClose(CLOSE_SESSION_EXPIRED, "session expired");
  await env.clock.advance(0);
  const ws2 = await env.nextSocket(2);
  ws2.serverOpen();
  ws2.serverClose(CLOSE_SESSION_EXPIRED, "session expired"); // the "refreshed" login was the stale one
  await env.clock.advance(600_000);
  assert.equal(env.sockets.length, 2, "one renewal only");
  assert.equal(env.calls.length, 2);
  assert.deepEqual(seen.map((e) => [e.kind, e.code]), [["expired", 4440]]);
  assert.deepEqual(env.of("close").map((e) => [e.code, e.reason]), [[4440, "session expired"]]);
  assert.equal(sock.readyState, 3);
});

test("an auth_ok after a reauth ends the renewal: a later session expiry renews again", async () => {
  const env = makeEnv();
  let authErrors = 0;
  const sock = env.record(connect(env.options({ onAuthError: () => authErrors++ })));
  const ws1 = await env.nextSocket(1);
  ws1.serverOpen();
  ws1.serverClose(CLOSE_SESSION_EXPIRED, "session expired");
  await env.clock.advance(0);
  const ws2 = await env.nextSocket(2);
  ws2.serverOpen();
  ws2.serverMessage(REAUTH);
  await flush();
  ws2.serverMessage(AUTH_OK);
  ws2.serverClose(CLOSE_SESSION_EXPIRED, "session expired");
  await env.clock.advance(0);
  await env.nextSocket(3);
  assert.equal(authErrors, 0);
  sock.close();
});

test("reconnect:false: a session expiry is not renewed", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options({ reconnect: false })));
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  ws.serverClose(CLOSE_SESSION_EXPIRED, "session expired");
  await env.clock.advance(60_000);
  assert.equal(env.sockets.length, 1);
  assert.deepEqual(env.of("close").map((e) => e.code), [4440]);
  assert.equal(sock.readyState, 3);
});

for (const [code, floor, option] of [[1012, 1000, "serviceRestartFloorMs"], [1013, 2000, "tryAgainLaterFloorMs"]]) {
  test(`${code}: reconnects after at least ${floor} ms plus jitter, never immediately`, async () => {
    const seq = [0, 0.5, 0.999999];
    let i = 0;
    const env = makeEnv({ random: () => seq[i++ % seq.length] });
    const sock = env.record(connect(env.options({ reconnect: { initialDelayMs: 100, maxDelayMs: 10_000 } })));
    for (let n = 1; n <= 3; n++) {
      const ws = await env.nextSocket(n);
      ws.serverOpen();
      ws.serverClose(code, "");
      await env.clock.advance(floor - 1);
      assert.equal(env.calls.length, n, "nothing before the floor");
      await env.clock.advance(10_000);
    }
    const delays = env.of("reconnecting").map((e) => e.delayMs);
    // floor + full jitter over the growing cap (100, 200, 400).
    assert.deepEqual(delays, [floor + 0, floor + 100, floor + 399]);
    assert.ok(delays.every((d) => d >= floor));
    assert.deepEqual(env.delays.filter((d) => d >= floor), delays);
    sock.close();
  });

  test(`${code}: the floor is configurable (reconnect.${option}) and applies before open too`, async () => {
    const env = makeEnv({ random: () => 0.5 });
    const sock = env.record(connect(env.options({ transport: "first-message", reconnect: { initialDelayMs: 100, [option]: 7000 } })));
    const ws = await env.nextSocket(1);
    ws.serverOpen();
    ws.serverClose(code, "");
    assert.equal(env.of("error")[0].error.code, code);
    assert.deepEqual(env.of("reconnecting").map((e) => e.delayMs), [7050]);
    sock.close();
  });
}

test("429 with Retry-After: the next attempt waits at least that long, plus jitter", async () => {
  const env = makeEnv({ random: () => 0.5 });
  env.plan.push(json(429, { error: { code: "rate_limited" } }, { "Retry-After": "3" }));
  const sock = env.record(connect(env.options({ reconnect: { initialDelayMs: 100 } })));
  await flush();
  const [err] = env.of("error");
  assert.equal(err.error.status, 429);
  assert.equal(err.error.retryAfterMs, 3000);
  assert.deepEqual(env.of("reconnecting").map((e) => e.delayMs), [3050]);
  await env.clock.advance(3049);
  assert.equal(env.calls.length, 1, "not before Retry-After");
  await env.clock.advance(1);
  await env.nextSocket(1);
  assert.equal(env.calls.length, 2);
  sock.close();
});

test("503 backs off; with Retry-After that is the floor; an unusable Retry-After is ignored", async () => {
  const env = makeEnv({ random: () => 0.5 });
  env.plan.push(
    json(503, {}, { "Retry-After": "10" }),
    json(503, {}, { "Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT" }),
    json(503, {}, { "Retry-After": "-5" }),
    503,
  );
  const sock = env.record(connect(env.options({ reconnect: { initialDelayMs: 100 } })));
  for (let n = 0; n < 4; n++) {
    await flush();
    await env.clock.advance(20_000);
  }
  await env.nextSocket(1);
  assert.deepEqual(env.of("reconnecting").map((e) => e.delayMs), [10_050, 100, 200, 400]);
  sock.close();
});

test("the new reconnect options are validated like the others", () => {
  const env = makeEnv();
  for (const name of ["stableAfterMs", "serviceRestartFloorMs", "tryAgainLaterFloorMs"]) {
    assert.throws(() => connect(env.options({ reconnect: { [name]: -1 } })), TypeError, name);
    assert.throws(() => connect(env.options({ reconnect: { [name]: "5" } })), TypeError, name);
  }
  assert.equal(env.calls.length, 0);
});

test("first-message: 4440 before auth_ok is a failed attempt that renews once, then stops", async () => {
  const env = makeEnv();
  const seen = [];
  const sock = env.record(connect(env.options({ transport: "first-message", onAuthError: (e) => seen.push(e) })));
  const ws1 = await env.nextSocket(1);
  ws1.serverOpen();
  ws1.serverClose(CLOSE_SESSION_EXPIRED, "session expired");
  assert.deepEqual(env.of("error").map((e) => [e.error.kind, e.error.code]), [["closed", 4440]]);
  assert.deepEqual(env.of("reconnecting").map((e) => e.delayMs), [0]);
  await env.clock.advance(0);
  const ws2 = await env.nextSocket(2);
  ws2.serverOpen();
  ws2.serverClose(CLOSE_SESSION_EXPIRED, "session expired");
  await env.clock.advance(600_000);
  assert.equal(env.sockets.length, 2);
  assert.deepEqual(seen.map((e) => e.kind), ["expired"]);
  assert.equal(sock.readyState, 3);
});
