import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../wsticket.js";
import { makeEnv, ticketOf, flush } from "../testing/fakes.js";

const TRANSPORTS = ["query", "subprotocol", "cookie", "first-message"];

// Opens ws as the server would for the given transport.
function accept(ws, transport) {
  ws.serverOpen(transport === "subprotocol" ? "wsticket" : "");
  if (transport === "first-message") ws.serverMessage('{"type":"auth_ok"}');
}

for (const transport of TRANSPORTS) {
  test(`${transport}: a fresh ticket is minted for every connect and reconnect, none reused`, async () => {
    const env = makeEnv();
    const sock = env.record(connect(env.options({ transport })));
    for (let i = 1; i <= 5; i++) {
      const ws = await env.nextSocket(i);
      assert.equal(env.calls.length, i, "one mint per socket");
      accept(ws, transport);
      assert.equal(sock.readyState, 1);
      ws.serverClose(1001, "going away"); // the server drops the connection
      assert.equal(sock.readyState, 0);
      await env.clock.advance(30_000);
    }
    assert.equal(env.of("open").length, 5);
    assert.equal(env.of("close").length, 0, "intermediate closes emit reconnecting, not close");
    assert.equal(env.of("reconnecting").length, 5);
    if (transport === "cookie") {
      assert.equal(env.tickets.length, 0);
      assert.ok(env.sockets.every((ws) => ticketOf(ws) === undefined));
    } else {
      const used = env.sockets.slice(0, 5).map(ticketOf);
      assert.deepEqual(used, env.tickets.slice(0, 5));
      assert.equal(new Set(used).size, 5, "no ticket reused");
    }
    sock.close();
  });
}

test("backoff: full jitter within [0, cap], cap doubling from initialDelayMs up to maxDelayMs", async () => {
  const env = makeEnv({ random: () => 0.999999 });
  const sock = env.record(connect(env.options({ reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } })));
  for (let i = 1; i <= 7; i++) {
    (await env.nextSocket(i)).serverRefuse();
    await env.clock.advance(1000);
  }
  const delays = env.of("reconnecting").map((e) => e.delayMs);
  const caps = [100, 200, 400, 800, 1000, 1000, 1000];
  assert.deepEqual(env.of("reconnecting").map((e) => e.attempt), [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(delays, [99, 199, 399, 799, 999, 999, 999]);
  delays.forEach((d, i) => assert.ok(d >= 0 && d <= caps[i]));
  for (let i = 1; i < 5; i++) assert.ok(delays[i] > delays[i - 1], "delays grow until the cap");
  assert.deepEqual(env.delays, delays, "the timer waits exactly the announced delay");
  sock.close();
});

test("backoff: jitter is drawn from random() over the whole range", async () => {
  const seq = [0, 0.5, 0.25, 0.75, 0.1, 0.9];
  let i = 0;
  const env = makeEnv({ random: () => seq[i++ % seq.length] });
  const sock = env.record(connect(env.options({ reconnect: { initialDelayMs: 1000, maxDelayMs: 8000 } })));
  for (let n = 1; n <= 6; n++) {
    (await env.nextSocket(n)).serverRefuse();
    await env.clock.advance(8000);
  }
  const caps = [1000, 2000, 4000, 8000, 8000, 8000];
  assert.deepEqual(env.of("reconnecting").map((e) => e.delayMs), seq.map((r, k) => Math.floor(r * caps[k])));
  sock.close();
});

test("backoff: defaults are 500 ms initial and 30 s cap", async () => {
  const env = makeEnv({ random: () => 0.999999 });
  const sock = env.record(connect(env.options()));
  for (let n = 1; n <= 8; n++) {
    (await env.nextSocket(n)).serverRefuse();
    await env.clock.advance(30_000);
  }
  assert.deepEqual(env.of("reconnecting").map((e) => e.delayMs), [499, 999, 1999, 3999, 7999, 15999, 29999, 29999]);
  sock.close();
});

test("a connection that stayed open for stableAfterMs resets the backoff", async () => {
  const env = makeEnv({ random: () => 0.999999 });
  const sock = env.record(connect(env.options({ reconnect: { initialDelayMs: 100, maxDelayMs: 10_000 } })));
  (await env.nextSocket(1)).serverRefuse();
  await env.clock.advance(10_000);
  (await env.nextSocket(2)).serverRefuse();
  await env.clock.advance(10_000);
  const ws3 = await env.nextSocket(3);
  ws3.serverOpen();
  await env.clock.advance(5000); // the default stableAfterMs
  ws3.serverClose(1006, "", false);
  assert.deepEqual(env.of("reconnecting").map((e) => [e.attempt, e.delayMs]), [[1, 99], [2, 199], [1, 99]]);
  sock.close();
});

test("quick open-close cycles keep growing the backoff (stableAfterMs)", async () => {
  const env = makeEnv({ random: () => 0.999999 });
  const sock = env.record(connect(env.options({ reconnect: { initialDelayMs: 100, maxDelayMs: 100_000, stableAfterMs: 3000 } })));
  for (let n = 1; n <= 6; n++) {
    const ws = await env.nextSocket(n);
    ws.serverOpen();
    await env.clock.advance(2999); // open, but not for stableAfterMs
    ws.serverClose(1000, "bye");
    await env.clock.advance(100_000);
  }
  assert.equal(env.of("open").length, 6);
  assert.deepEqual(env.of("reconnecting").map((e) => [e.attempt, e.delayMs]), [
    [1, 99], [2, 199], [3, 399], [4, 799], [5, 1599], [6, 3199],
  ]);
  // Open exactly stableAfterMs: the next drop is attempt 1 again.
  const ws = await env.nextSocket(7);
  ws.serverOpen();
  await env.clock.advance(3000);
  ws.serverClose(1000, "bye");
  assert.deepEqual(env.of("reconnecting").at(-1).attempt, 1);
  sock.close();
});

test("maxAttempts counts quick open-close cycles: they do not refill the attempts", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options({ reconnect: { maxAttempts: 2 } })));
  for (let n = 1; n <= 3; n++) {
    const ws = await env.nextSocket(n);
    ws.serverOpen();
    ws.serverClose(1000, "bye");
    await env.clock.advance(60_000);
  }
  assert.equal(env.sockets.length, 3);
  assert.deepEqual(env.of("close").map((e) => e.code), [1000]);
  assert.equal(sock.readyState, 3);
});

test("a refused upgrade (error then close 1006) is a failed attempt with exactly one error event", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options()));
  (await env.nextSocket(1)).serverRefuse();
  assert.equal(env.of("error").length, 1);
  assert.equal(env.of("error")[0].error.kind, "socket");
  assert.equal(env.of("reconnecting").length, 1);
  assert.equal(env.of("open").length, 0);
  assert.equal(env.of("close").length, 0);
  sock.close();
});

test("a close before open without an error event is a failed attempt too", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options()));
  (await env.nextSocket(1)).serverClose(1006, "", false);
  assert.equal(env.of("error").length, 1);
  assert.equal(env.of("error")[0].error.kind, "closed");
  assert.equal(env.of("error")[0].error.code, 1006);
  assert.equal(env.of("reconnecting").length, 1);
  sock.close();
});

test("maxAttempts: stops after that many reconnect attempts and emits close once", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options({ reconnect: { maxAttempts: 2 } })));
  for (let n = 1; n <= 3; n++) {
    (await env.nextSocket(n)).serverClose(4401 + n, "no", false);
    await env.clock.advance(60_000);
  }
  assert.equal(env.sockets.length, 3, "the first attempt plus two reconnects");
  assert.equal(env.calls.length, 3);
  assert.equal(env.of("reconnecting").length, 2);
  const closes = env.of("close");
  assert.equal(closes.length, 1);
  assert.deepEqual([closes[0].code, closes[0].reason, closes[0].wasClean], [4404, "no", false]);
  assert.equal(sock.readyState, 3);
});

test("reconnect:false: a dropped connection closes the wrapper with the server's close", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options({ reconnect: false })));
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  ws.serverClose(1001, "bye", true);
  assert.equal(env.of("reconnecting").length, 0);
  assert.deepEqual(env.of("close").map((e) => [e.code, e.reason, e.wasClean]), [[1001, "bye", true]]);
  await env.clock.advance(60_000);
  assert.equal(env.calls.length, 1);
  assert.equal(sock.readyState, 3);
});

test("5xx, 429, 408 and network errors from the ticket endpoint back off and retry", async () => {
  const env = makeEnv();
  env.plan.push(503, 500, 429, new TypeError("Failed to fetch"), 408);
  const sock = env.record(connect(env.options()));
  for (let n = 0; n < 5; n++) {
    await flush();
    await env.clock.advance(60_000);
  }
  const ws = await env.nextSocket(1);
  assert.equal(env.calls.length, 6);
  assert.equal(env.sockets.length, 1, "no socket without a ticket");
  assert.deepEqual(env.of("error").map((e) => [e.error.kind, e.error.status]), [
    ["ticket", 503], ["ticket", 500], ["ticket", 429], ["ticket", undefined], ["ticket", 408],
  ]);
  assert.deepEqual(env.of("reconnecting").map((e) => e.attempt), [1, 2, 3, 4, 5]);
  ws.serverOpen();
  assert.equal(env.of("open").length, 1);
  sock.close();
});

test("an answer without a ticket is a failed attempt", async () => {
  const env = makeEnv();
  env.plan.push(new Response("not json", { status: 201 }), new Response('{"ticket":""}', { status: 201 }));
  const sock = env.record(connect(env.options()));
  await flush();
  await env.clock.advance(60_000);
  await env.clock.advance(60_000);
  await env.nextSocket(1);
  assert.equal(env.of("error").length, 2);
  assert.ok(env.of("error").every((e) => e.error.kind === "ticket"));
  sock.close();
});

test("a throwing getAuthHeader is a failed attempt", async () => {
  const env = makeEnv();
  let n = 0;
  const sock = env.record(connect(env.options({ getAuthHeader: () => { if (n++ === 0) throw new Error("storage"); return "Bearer x"; } })));
  await flush();
  assert.equal(env.calls.length, 0);
  assert.equal(env.of("error")[0].error.kind, "ticket");
  await env.clock.advance(60_000);
  await env.nextSocket(1);
  sock.close();
});

test("user close() on an open socket: closes it, emits close once, never reconnects", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options()));
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  sock.close(1000, "done");
  assert.equal(sock.readyState, 2);
  assert.deepEqual(ws.closeCalls, [[1000, "done"]]);
  await flush();
  assert.equal(sock.readyState, 3);
  assert.deepEqual(env.of("close").map((e) => [e.code, e.reason]), [[1000, "done"]]);
  await env.clock.advance(600_000);
  assert.equal(env.calls.length, 1);
  assert.equal(env.of("reconnecting").length, 0);
  sock.close(); // idempotent
  assert.equal(env.of("close").length, 1);
  assert.throws(() => sock.close(1001), RangeError);
});

test("user close() while waiting to reconnect: immediate close, timer cancelled", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options()));
  (await env.nextSocket(1)).serverRefuse();
  assert.equal(env.clock.pending(), 1);
  sock.close();
  assert.equal(env.clock.pending(), 0);
  assert.equal(sock.readyState, 3);
  assert.deepEqual(env.of("close").map((e) => e.code), [1005]);
  await env.clock.advance(600_000);
  assert.equal(env.calls.length, 1);
});

test("user close() while a ticket is being minted: the ticket is never used", async () => {
  const env = makeEnv();
  let release;
  env.plan.push(() => new Promise((r) => { release = r; }));
  const sock = env.record(connect(env.options()));
  await flush();
  assert.equal(env.calls.length, 1);
  assert.ok(env.calls[0].init.signal, "the request is abortable");
  sock.close(4000, "leaving");
  assert.equal(env.calls[0].init.signal.aborted, true);
  release(new Response(JSON.stringify({ ticket: "wst_late" }), { status: 201 }));
  await flush();
  assert.equal(env.sockets.length, 0);
  assert.deepEqual(env.of("close").map((e) => [e.code, e.reason]), [[4000, "leaving"]]);
});

test("user close() from a reconnecting listener stops at once", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options()));
  sock.addEventListener("reconnecting", () => sock.close());
  (await env.nextSocket(1)).serverRefuse();
  assert.equal(env.clock.pending(), 0);
  assert.equal(env.of("close").length, 1);
  await env.clock.advance(600_000);
  assert.equal(env.calls.length, 1);
});

test("user close() during first-message authentication closes the socket without retrying", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options({ transport: "first-message" })));
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  sock.close();
  await flush();
  assert.equal(env.of("close").length, 1);
  assert.equal(env.clock.pending(), 0, "the auth timer is cleared");
  await env.clock.advance(600_000);
  assert.equal(env.calls.length, 1);
});

test("removeEventListener stops delivery", async () => {
  const env = makeEnv();
  const sock = connect(env.options());
  const got = [];
  const fn = (e) => got.push(e.data);
  sock.addEventListener("message", fn);
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  ws.serverMessage("a");
  sock.removeEventListener("message", fn);
  ws.serverMessage("b");
  assert.deepEqual(got, ["a"]);
  sock.close();
});

test("an error without a following close (some implementations) still ends the attempt", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options()));
  const ws1 = await env.nextSocket(1);
  ws1.onerror({ type: "error" }); // and no close event ever
  assert.equal(env.of("error").length, 1);
  assert.equal(env.of("reconnecting").length, 1);
  await env.clock.advance(60_000);
  const ws2 = await env.nextSocket(2);
  ws2.serverOpen();
  sock.close();
  ws2.onerror?.({ type: "error" }); // closing, and the close never comes
  assert.equal(sock.readyState, 3);
  assert.equal(env.of("close").length, 1);
});

test("an error on an open connection reconnects; reconnect:false ends with 1006", async () => {
  const env = makeEnv();
  const sock = env.record(connect(env.options({ reconnect: false })));
  const ws = await env.nextSocket(1);
  ws.serverOpen();
  ws.serverRefuse(); // error, then close 1006
  assert.equal(env.of("error").length, 1);
  assert.deepEqual(env.of("close").map((e) => [e.code, e.wasClean]), [[1006, false]]);
  assert.equal(sock.readyState, 3);
});

for (const status of [400, 403, 404]) {
  test(`a ${status} from the ticket endpoint stops the client: error "refused", close ${4000 + status}, no more mints`, async () => {
    const env = makeEnv();
    env.plan.push(status);
    const sock = env.record(connect(env.options()));
    await flush();
    await env.clock.advance(120_000);
    assert.equal(env.calls.length, 1, "asked once, never again");
    assert.equal(env.sockets.length, 0);
    assert.deepEqual(env.of("error").map((e) => [e.error.kind, e.error.status]), [["refused", status]]);
    assert.deepEqual(env.of("close").map((e) => e.code), [4000 + status]);
    assert.equal(env.of("reconnecting").length, 0);
    assert.equal(sock.readyState, 3);
  });
}
