import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../wsticket.js";
import { makeEnv, AUTH, flush, json } from "../testing/fakes.js";

test("mint request: POST, JSON, Authorization from getAuthHeader, credentials include, audience", async () => {
  const env = makeEnv();
  let asked = 0;
  const sock = connect(env.options({ getAuthHeader: async () => { asked++; return AUTH; } }));
  const ws = await env.nextSocket(1);
  assert.equal(env.calls.length, 1);
  const { url, init, body } = env.calls[0];
  assert.equal(url, "http://127.0.0.1:8080/v1/tickets");
  assert.equal(init.method, "POST");
  assert.equal(init.credentials, "include");
  assert.deepEqual(init.headers, { "Content-Type": "application/json", Authorization: AUTH });
  assert.deepEqual(body, { audience: "demo" });
  assert.equal(asked, 1);
  ws.serverOpen();
  sock.close();
});

test("mint request without getAuthHeader, or when it returns null, has no Authorization header", async () => {
  for (const getAuthHeader of [undefined, () => null, async () => null]) {
    const env = makeEnv();
    const sock = connect(env.options({ getAuthHeader, audience: undefined }));
    await env.nextSocket(1);
    assert.deepEqual(env.calls[0].init.headers, { "Content-Type": "application/json" });
    assert.deepEqual(env.calls[0].body, {});
    sock.close();
  }
});

test("query transport: ?ticket=<encoded ticket>, application protocols untouched", async () => {
  const env = makeEnv();
  env.plan.push(json(201, { ticket: "wst_a+b/c=", expires_at: "x", expires_in: 30 }));
  const sock = env.record(connect(env.options({ protocols: ["chat.v1"] })));
  const ws = await env.nextSocket(1);
  assert.deepEqual(ws.args, ["ws://127.0.0.1:8080/demo/ws?ticket=wst_a%2Bb%2Fc%3D", ["chat.v1"]]);
  assert.equal(sock.readyState, 0);
  ws.serverOpen("chat.v1");
  assert.equal(sock.readyState, 1);
  assert.equal(sock.protocol, "chat.v1");
  assert.equal(env.of("open").length, 1);
  sock.close();
});

test("query transport: & when the URL has a query; custom parameter name", async () => {
  const env = makeEnv();
  const sock = connect(env.options({ url: "wss://h.example/ws?room=1", queryParam: "t" }));
  const ws = await env.nextSocket(1);
  assert.equal(ws.url, `wss://h.example/ws?room=1&t=${encodeURIComponent(env.tickets[0])}`);
  assert.deepEqual(ws.protocols, []);
  sock.close();
});

test("query transport: a URL that already carries the parameter is refused", () => {
  const env = makeEnv();
  assert.throws(() => connect(env.options({ url: "ws://h/ws?ticket=old" })), TypeError);
  assert.equal(env.calls.length, 0);
});

test("subprotocol transport: application protocols, the companion and exactly one secret entry", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options({ transport: "subprotocol", protocols: ["chat.v1", "chat.v2"] })));
  const ws = await env.nextSocket(1);
  assert.equal(ws.url, "ws://127.0.0.1:8080/demo/ws", "no ticket in the URL");
  assert.deepEqual(ws.protocols, ["chat.v1", "chat.v2", "wsticket", `wsticket.${env.tickets[0]}`]);
  assert.equal(ws.protocols.filter((p) => p.startsWith("wsticket.")).length, 1);
  ws.serverOpen("wsticket");
  assert.equal(sock.protocol, "wsticket");
  assert.equal(sock.readyState, 1);
  sock.close();
});

test("subprotocol transport: default protocols are just the companion and the secret", async () => {
  const env = makeEnv();
  const sock = connect(env.options({ transport: "subprotocol" }));
  const ws = await env.nextSocket(1);
  assert.deepEqual(ws.protocols, ["wsticket", `wsticket.${env.tickets[0]}`]);
  sock.close();
});

test("subprotocol transport: a server echoing the secret entry is refused and never exposed", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options({ transport: "subprotocol" })));
  const ws = await env.nextSocket(1);
  const secret = ws.protocols.at(-1);
  ws.serverOpen(secret);
  await flush();
  assert.equal(env.of("open").length, 0);
  assert.equal(sock.protocol, "");
  assert.notEqual(sock.protocol, secret);
  assert.equal(ws.closeCalls.length, 1, "the client closed the socket");
  const [err] = env.of("error");
  assert.equal(err.error.kind, "protocol");
  assert.ok(!err.error.message.includes(env.tickets[0]));
  const closes = env.of("close");
  assert.equal(closes.length, 1);
  assert.equal(closes[0].code, 1002);
  assert.equal(sock.readyState, 3);
  await env.clock.advance(60_000);
  assert.equal(env.calls.length, 1, "no further tickets are minted for a broken server");
  assert.throws(() => sock.send("x"), /not open/);
});

test("subprotocol transport: protocols containing wsticket entries are refused", () => {
  const env = makeEnv();
  for (const protocols of [["wsticket"], ["wsticket.abc"], ["a", "a"], ["bad value"]]) {
    assert.throws(() => connect(env.options({ transport: "subprotocol", protocols })), TypeError);
  }
});

test("cookie transport: mints with cookie:true, no ticket in the URL or the protocols", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options({ transport: "cookie", protocols: ["chat.v1"] })));
  const ws = await env.nextSocket(1);
  assert.deepEqual(env.calls[0].body, { audience: "demo", cookie: true });
  assert.equal(env.calls[0].init.credentials, "include");
  assert.deepEqual(ws.args, ["ws://127.0.0.1:8080/demo/ws", ["chat.v1"]]);
  ws.serverOpen("chat.v1");
  assert.equal(env.of("open").length, 1);
  sock.close();
});

test("cookie transport: a ticket in the answer (an old server) is ignored, never placed anywhere", async () => {
  const env = makeEnv();
  const leaked = "wst_LEAKED_should_not_travel";
  env.plan.push(json(201, { ticket: leaked, expires_at: "x", expires_in: 30 }));
  const sock = connect(env.options({ transport: "cookie" }));
  const ws = await env.nextSocket(1);
  assert.ok(!JSON.stringify(ws.args).includes(leaked));
  ws.serverOpen();
  assert.deepEqual(ws.sent, []);
  sock.close();
});

test("first-message transport: exact auth frame; open only after auth_ok; earlier messages dropped", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options({ transport: "first-message", protocols: ["chat.v1"] })));
  const ws = await env.nextSocket(1);
  assert.deepEqual(ws.args, ["ws://127.0.0.1:8080/demo/ws", ["chat.v1"]]);
  ws.serverOpen("chat.v1");
  assert.deepEqual(ws.sent, [JSON.stringify({ type: "auth", ticket: env.tickets[0] })]);
  assert.equal(ws.sent[0], `{"type":"auth","ticket":"${env.tickets[0]}"}`);
  assert.equal(sock.readyState, 0);
  assert.throws(() => sock.send("too early"), /not open/);
  ws.serverMessage("hello before auth");
  ws.serverMessage('{"type":"other"}');
  ws.serverMessage("not json {");
  ws.serverMessage(new ArrayBuffer(4));
  assert.equal(env.of("open").length, 0);
  assert.equal(env.of("message").length, 0);
  ws.serverMessage('{"type":"auth_ok"}');
  assert.equal(env.of("open").length, 1);
  assert.equal(sock.readyState, 1);
  assert.equal(sock.protocol, "chat.v1");
  ws.serverMessage("after");
  assert.deepEqual(env.of("message").map((e) => e.data), ["after"]);
  sock.send("hi");
  assert.deepEqual(ws.sent.slice(1), ["hi"]);
  assert.equal(env.clock.pending(), 0, "the auth timer is cleared");
  sock.close();
});

test("first-message transport: a 4401 close is a failed attempt; the retry uses a new ticket", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options({ transport: "first-message" })));
  const ws1 = await env.nextSocket(1);
  ws1.serverOpen();
  ws1.serverClose(4401, "ticket rejected");
  assert.equal(env.of("close").length, 0);
  const [err] = env.of("error");
  assert.equal(err.error.kind, "closed");
  assert.equal(err.error.code, 4401);
  assert.equal(env.of("reconnecting").length, 1);
  await env.clock.advance(1000);
  const ws2 = await env.nextSocket(2);
  ws2.serverOpen();
  const t1 = JSON.parse(ws1.sent[0]).ticket;
  const t2 = JSON.parse(ws2.sent[0]).ticket;
  assert.notEqual(t1, t2);
  assert.deepEqual([t1, t2], env.tickets);
  ws2.serverMessage('{"type":"auth_ok"}');
  assert.equal(env.of("open").length, 1);
  sock.close();
});

test("first-message transport: a 4408 close is a failed attempt too", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options({ transport: "first-message" })));
  const ws1 = await env.nextSocket(1);
  ws1.serverOpen();
  ws1.serverClose(4408, "auth deadline");
  assert.equal(env.of("reconnecting").length, 1);
  await env.clock.advance(1000);
  await env.nextSocket(2);
  assert.equal(env.calls.length, 2);
  sock.close();
});

test("first-message transport: no auth_ok within the timeout closes and retries with a new ticket", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options({ transport: "first-message", firstMessageTimeoutMs: 2000 })));
  const ws1 = await env.nextSocket(1);
  ws1.serverOpen();
  assert.deepEqual(env.delays, [2000]);
  await env.clock.advance(1999);
  assert.equal(ws1.closeCalls.length, 0);
  await env.clock.advance(1);
  assert.equal(ws1.closeCalls.length, 1, "the client closed the silent socket");
  assert.equal(env.of("error")[0].error.kind, "timeout");
  assert.equal(env.of("reconnecting").length, 1);
  await env.clock.advance(1000);
  const ws2 = await env.nextSocket(2);
  ws2.serverOpen();
  assert.notEqual(JSON.parse(ws2.sent[0]).ticket, JSON.parse(ws1.sent[0]).ticket);
  ws2.serverMessage('{"type":"auth_ok"}');
  assert.equal(sock.readyState, 1);
  assert.equal(env.of("open").length, 1);
  sock.close();
});

test("first-message transport: default timeout is 5000 ms", async () => {
  const env = makeEnv();
  const sock = connect(env.options({ transport: "first-message" }));
  (await env.nextSocket(1)).serverOpen();
  assert.deepEqual(env.delays, [5000]);
  sock.close();
});

test("binaryType is applied to every underlying socket", async () => {
  const env = makeEnv();
  const sock = connect(env.options());
  sock.binaryType = "arraybuffer";
  const ws = await env.nextSocket(1);
  assert.equal(ws.binaryType, "arraybuffer");
  sock.close();
});

test("option validation", () => {
  const env = makeEnv();
  assert.throws(() => connect(), TypeError);
  assert.throws(() => connect(env.options({ ticketUrl: "" })), TypeError);
  assert.throws(() => connect(env.options({ url: "http://h/ws" })), TypeError);
  assert.throws(() => connect(env.options({ url: "ws://h/ws#frag" })), TypeError);
  assert.throws(() => connect(env.options({ transport: "header" })), TypeError);
  assert.throws(() => connect(env.options({ reconnect: { maxDelayMs: -1 } })), TypeError);
  assert.throws(() => connect(env.options({ WebSocket: undefined })), TypeError, "Node 20 has no global WebSocket");
  assert.equal(env.calls.length, 0);
});
