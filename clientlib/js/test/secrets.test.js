import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import * as mod from "../wsticket.js";
import { makeEnv, flush, JWT, AUTH } from "../testing/fakes.js";

const { connect } = mod;
const here = (p) => new URL(p, import.meta.url);
const METHODS = ["log", "info", "warn", "error", "debug", "trace", "dir", "dirxml", "table", "group", "groupCollapsed", "assert", "count", "timeLog"];

const REAUTH = '{"type":"reauth","expires_at":"2030-01-01T00:05:00Z"}';
const AUTH_OK = '{"type":"auth_ok","expires_at":"2030-01-01T01:05:00Z"}';

// Runs every transport through success, in-band re-authentication (answered
// and failed), a service restart, a session expiry and its renewal, server
// drops, refusals, timeouts, endpoint failures and a final 401, then the
// session-ending closes (revoked, re-auth rejected, expired again),
// collecting what escaped the client.
async function fullRun() {
  const escaped = [];
  const secrets = [JWT, AUTH];
  for (const transport of ["query", "subprotocol", "cookie", "first-message"]) {
    const env = makeEnv();
    const sock = env.record(connect(env.options({ transport, protocols: ["chat.v1"], onAuthError: (e) => escaped.push(e) })));
    const accept = (ws) => {
      ws.serverOpen(transport === "subprotocol" ? "wsticket" : "chat.v1");
      if (transport === "first-message") ws.serverMessage('{"type":"auth_ok"}');
    };
    let k = 0;
    let ws = await env.nextSocket(++k);
    accept(ws);
    sock.send("hello");
    ws.serverMessage("hello");
    ws.serverMessage(REAUTH); // answered with a fresh ticket
    await flush();
    ws.serverMessage(AUTH_OK);
    env.plan.push(503);
    ws.serverMessage(REAUTH); // its mint fails
    await flush();
    if (transport !== "cookie") {
      assert.equal(ws.sent.filter((m) => m.includes(env.tickets[1])).length, 1, `${transport}: a reauth ticket was sent`);
    }
    ws.serverClose(1012, "restart");
    await env.clock.advance(60_000);
    ws = await env.nextSocket(++k);
    accept(ws);
    ws.serverClose(4440, "session expired"); // renewed once
    await env.clock.advance(60_000);
    ws = await env.nextSocket(++k);
    accept(ws);
    await env.clock.advance(10_000); // stable
    ws.serverClose(1006, "", false); // dropped
    await env.clock.advance(60_000);
    (await env.nextSocket(++k)).serverRefuse(); // refused upgrade
    await env.clock.advance(60_000);
    ws = await env.nextSocket(++k);
    if (transport === "first-message") {
      ws.serverOpen();
      ws.serverClose(4401, "ticket rejected");
      await env.clock.advance(60_000);
      (await env.nextSocket(++k)).serverOpen();
      await env.clock.advance(60_000); // auth timeout
      ws = await env.nextSocket(++k);
    }
    accept(ws);
    env.plan.push(503, new TypeError("Failed to fetch"), 401);
    ws.serverClose(1001, "restart");
    for (let i = 0; i < 4; i++) await env.clock.advance(60_000);
    assert.equal(sock.readyState, 3, `${transport}: stopped after the 401`);
    escaped.push(...env.events, sock.protocol, sock.url);
    secrets.push(...env.tickets);
    // The closes that end a session, each after an answered reauth.
    for (const [code, reason, again] of [[1008, "revoked"], [4401, "rejected"], [4440, "session expired", true]]) {
      const e3 = makeEnv();
      const s3 = e3.record(connect(e3.options({ transport, onAuthError: (e) => escaped.push(e) })));
      let w = await e3.nextSocket(1);
      accept(w);
      w.serverMessage(REAUTH);
      await flush();
      w.serverClose(code, reason);
      if (again) {
        await e3.clock.advance(0);
        w = await e3.nextSocket(2);
        accept(w);
        w.serverClose(code, reason);
      }
      await e3.clock.advance(60_000);
      assert.equal(s3.readyState, 3, `${transport}: ${code} ends the session`);
      escaped.push(...e3.events);
      secrets.push(...e3.tickets);
    }
    if (transport === "subprotocol") {
      // A server echoing the secret entry.
      const env2 = makeEnv();
      const s2 = env2.record(connect(env2.options({ transport })));
      const w = await env2.nextSocket(1);
      w.serverOpen(w.protocols.at(-1));
      await flush();
      escaped.push(...env2.events, s2.protocol);
      secrets.push(...env2.tickets);
    }
  }
  return { escaped, secrets };
}

function text(x) {
  if (x instanceof Error) return `${x.name} ${x.message} ${x.stack} ${text(x.cause)} ${JSON.stringify(x)}`;
  if (x && typeof x === "object") {
    const { target, error, ...rest } = x;
    return `${JSON.stringify(rest)} ${error ? text(error) : ""} ${target ? JSON.stringify(target) : ""}`;
  }
  return String(x);
}

test("no console output and no ticket or credential in any event, error or property across a full run", async (t) => {
  const calls = [];
  for (const m of METHODS) t.mock.method(console, m, (...args) => calls.push([m, ...args]));
  const { escaped, secrets } = await fullRun();
  assert.ok(secrets.length > 10, "tickets were minted");
  assert.ok(escaped.length > 30, "events were recorded");
  const dump = escaped.map(text).join("\n");
  for (const s of secrets) assert.ok(!dump.includes(s), "a secret escaped into an event, error or property");
  const consoleDump = calls.map((c) => c.map(text).join(" ")).join("\n");
  for (const s of secrets) assert.ok(!consoleDump.includes(s), "a secret reached the console");
  assert.deepEqual(calls, [], "the client writes nothing to the console");
});

test("the module source has no console calls", async () => {
  const src = await readFile(here("../wsticket.js"), "utf8");
  assert.doesNotMatch(src, /\bconsole\s*[.[]/);
});

test("the .d.ts declares exactly the module's runtime exports", async () => {
  const dts = await readFile(here("../wsticket.d.ts"), "utf8");
  const declared = [...dts.matchAll(/^export declare (?:function|const|class) (\w+)/gm)].map((m) => m[1]).sort();
  assert.deepEqual(declared, Object.keys(mod).sort());
  assert.equal(mod.CLOSE_UNAUTHENTICATED, 4401);
});

test("package.json is ready for npm", async () => {
  const pkg = JSON.parse(await readFile(here("../package.json"), "utf8"));
  assert.equal(pkg.name, "@wsticket/client");
  assert.equal(pkg.type, "module");
  assert.equal(pkg.types, "./wsticket.d.ts");
  assert.deepEqual(pkg.exports["."], { types: "./wsticket.d.ts", default: "./wsticket.js" });
  assert.deepEqual(pkg.scripts, { test: "node --test test/" });
  for (const f of ["wsticket.js", "wsticket.d.ts"]) assert.ok(pkg.files.includes(f));
  assert.equal(pkg.dependencies, undefined);
  assert.equal(pkg.devDependencies, undefined);
});
