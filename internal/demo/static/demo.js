// The wsticket demo page. It never prints, stores or sends a ticket
// anywhere but to ticketd's WebSocket endpoints.
import { connect } from "./wsticket.js";

const jwt = document.querySelector('meta[name="wsticket-jwt"]').content;
const audience = document.querySelector('meta[name="wsticket-audience"]').content;
const wsBase = (location.protocol === "https:" ? "wss://" : "ws://") + location.host;
const ticketUrl = "/v1/tickets";
const getAuthHeader = async () => "Bearer " + jwt;
const logEl = document.getElementById("log");

function log(text, cls = "") {
  const line = document.createElement("div");
  line.className = cls;
  line.textContent = new Date().toLocaleTimeString() + "  " + text;
  logEl.append(line);
  logEl.scrollTop = logEl.scrollHeight;
}

function endpoint(base, transport) {
  return base + (transport === "first-message" ? "/ws/first-message" : "/ws");
}

// --- The interactive part -------------------------------------------------

let sock = null;

function open(transport) {
  if (sock) sock.close(1000, "switching transport");
  log(`asking ticketd for a ticket, then connecting via ${transport}…`, "info");
  const s = connect({
    ticketUrl, audience, transport, getAuthHeader,
    url: endpoint(wsBase + "/demo", transport),
    reconnect: { initialDelayMs: 250, maxDelayMs: 5000 },
    onAuthError: () => log("ticketd refused the login JWT (401): stopped", "bad"),
  });
  sock = s;
  s.addEventListener("open", () => log(`open via ${transport}; the server echoed protocol "${s.protocol || ""}"`, "ok"));
  s.addEventListener("message", (e) => log(`echo: ${e.data}`));
  s.addEventListener("reconnecting", (e) => log(`connection lost; reconnecting with a fresh ticket in ${e.delayMs} ms (attempt ${e.attempt})`, "info"));
  s.addEventListener("close", (e) => log(`closed (${closeText(e)})`, "info"));
  s.addEventListener("error", () => log("socket error", "bad"));
}

// mint asks ticketd for a ticket directly (the client library does this for
// every connect; the attack demos need the raw ticket).
async function mint(aud, cookie = false) {
  const resp = await fetch(ticketUrl, {
    method: "POST", credentials: "include",
    headers: { "Content-Type": "application/json", Authorization: "Bearer " + jwt },
    body: JSON.stringify({ audience: aud, cookie }),
  });
  if (resp.status !== 201) throw new Error(`ticketd answered ${resp.status}`);
  return (await resp.json()).ticket;
}

// tryOpen opens a raw WebSocket and reports whether the upgrade succeeded,
// the protocol the server echoed, and whether one message echoed back.
function tryOpen(url, protocols = []) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocols);
    const timer = setTimeout(() => { ws.close(); resolve({ opened: false, code: "timeout" }); }, 8000);
    let opened = false;
    ws.onopen = () => { opened = true; ws.send("ping"); };
    ws.onmessage = (e) => {
      clearTimeout(timer);
      const protocol = ws.protocol;
      ws.close(1000);
      resolve({ opened: true, protocol, echoed: e.data === "ping" });
    };
    ws.onclose = (e) => { if (!opened) { clearTimeout(timer); resolve({ opened: false, code: e.code }); } };
  });
}

async function replay() {
  const t = await mint(audience);
  const url = wsBase + "/demo/ws?ticket=" + encodeURIComponent(t);
  const first = await tryOpen(url);
  log(`first use of a ticket: ${first.opened ? "admitted" : "refused"}`, first.opened ? "ok" : "bad");
  const second = await tryOpen(url);
  log(`replay of the same ticket: ${second.opened ? "ADMITTED (bug!)" : "refused before the upgrade"}`, second.opened ? "bad" : "ok");
  return { first, second };
}

async function otherAudience() {
  const t = await mint("not-" + audience);
  const r = await tryOpen(wsBase + "/demo/ws?ticket=" + encodeURIComponent(t));
  log(`ticket minted for another audience: ${r.opened ? "ADMITTED (bug!)" : "refused (and burned)"}`, r.opened ? "bad" : "ok");
  return r;
}

async function drop() {
  const r = await (await fetch("/demo/drop", { method: "POST" })).json();
  log(`server dropped ${r.dropped} socket(s)`, "info");
  return r.dropped;
}

// --- Revocation reaching live sockets ----------------------------------------

// REVOKE_SKEW_MS is wsmiddleware.RevokerOptions.ClockSkew's default: a
// revocation also closes sockets whose tickets were minted up to this long
// after it (for clock differences between ticketd replicas), so the fresh
// ticket that proves the user is not banned is minted once it has passed.
const REVOKE_SKEW_MS = 1000;
// REVOKE_CLOSE_MS bounds how long a revoked socket may stay open, counted
// from the start of the revoke call.
const REVOKE_CLOSE_MS = 2000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

// revokeMe revokes this page's user through the demo's dev-only route.
async function revokeMe() {
  const resp = await fetch("/demo/revoke", { method: "POST" });
  if (resp.status !== 200) throw new Error(`/demo/revoke answered ${resp.status}`);
  return (await resp.json()).revoked;
}

// held connects with the client library (no reconnect) and resolves, once
// one message has echoed, with the open socket: echo(msg) sends and awaits
// the echo, closed resolves with {code, at} when the socket closes.
function held(transport, url, aud) {
  return new Promise((resolve, reject) => {
    const s = connect({ ticketUrl, url, audience: aud, transport, getAuthHeader, reconnect: false });
    let settled = false, waiting = null, onClosed;
    const closed = new Promise((r) => { onClosed = r; });
    const settle = (fn, v) => { if (!settled) { settled = true; clearTimeout(timer); fn(v); } };
    const timer = setTimeout(() => { s.close(); settle(reject, new Error(`${transport}: timed out opening`)); }, 8000);
    const echo = (msg) => new Promise((res, rej) => {
      waiting = { msg, res };
      closed.then((c) => rej(new Error(`${transport}: closed (code ${c.code}) before echoing`)));
      setTimeout(() => rej(new Error(`${transport}: no echo within 8 s`)), 8000);
      try { s.send(msg); } catch (e) { rej(e); }
    });
    s.addEventListener("message", (e) => {
      if (waiting && e.data === waiting.msg) { const w = waiting; waiting = null; w.res(); }
    });
    s.addEventListener("close", (e) => {
      onClosed({ code: e.code, at: performance.now() });
      settle(reject, new Error(`${transport}: closed before it echoed (${closeText(e)})`));
    });
    s.addEventListener("open", () => {
      echo("hello " + transport).then(
        () => settle(resolve, { echo, closed, close: () => s.close(1000) }),
        (e) => settle(reject, e));
    });
  });
}

// revocation opens a socket to base over each transport, revokes the
// user, and expects every socket closed with 1008 within REVOKE_CLOSE_MS
// of the revoke call; then, once the clock-skew window has passed, a
// ticket minted after the revocation must connect and echo: revoking kills
// the user's tickets and sockets, it does not ban the user.
async function revocation(base, aud, transports = ["query", "first-message"]) {
  const socks = {};
  try {
    for (const t of transports) socks[t] = await held(t, endpoint(base, t), aud);
    log(`${base}: open via ${transports.join(" and ")}; revoking user…`, "info");
    const t0 = performance.now();
    const revoked = await revokeMe();
    const revokedAt = performance.now();
    log(`revoked: ticketd killed ${revoked} outstanding ticket(s); the call took ${Math.round(revokedAt - t0)} ms`, "info");
    const closes = {};
    for (const t of transports) {
      const c = await Promise.race([socks[t].closed, sleep(t0 + REVOKE_CLOSE_MS - performance.now()).then(() => null)]);
      if (!c) throw new Error(`${t}: still open ${REVOKE_CLOSE_MS} ms after the revoke call`);
      if (c.code !== 1008) throw new Error(`${t}: closed with code ${c.code}, want 1008`);
      closes[t] = { code: c.code, ms: Math.round(c.at - t0) };
      log(`${t} socket closed with 1008, ${closes[t].ms} ms after the revoke call`, "ok");
    }
    await sleep(revokedAt + REVOKE_SKEW_MS + 200 - performance.now());
    try {
      const fresh = await held("query", endpoint(base, "query"), aud);
      try {
        await sleep(250);
        await fresh.echo("after the revocation");
      } finally {
        fresh.close();
      }
    } catch (e) {
      throw new Error(`a ticket minted after the revocation: ${(e && e.message) || e}`);
    }
    log("a ticket minted after the revocation connects and echoes: the user is not banned", "ok");
    return { revoke_ms: Math.round(revokedAt - t0), revoked_tickets: revoked, closes, fresh: "connected and echoed" };
  } finally {
    for (const s of Object.values(socks)) s.close();
  }
}

for (const b of document.querySelectorAll("button[data-transport]")) {
  b.addEventListener("click", () => open(b.dataset.transport));
}
document.getElementById("disconnect").addEventListener("click", () => { if (sock) sock.close(1000, "bye"); sock = null; });
document.getElementById("send").addEventListener("click", () => {
  if (!sock || sock.readyState !== 1) return log("not connected", "bad");
  sock.send(document.getElementById("message").value);
});
document.getElementById("replay").addEventListener("click", () => replay().catch((e) => log(String(e), "bad")));
document.getElementById("audience").addEventListener("click", () => otherAudience().catch((e) => log(String(e), "bad")));
document.getElementById("drop").addEventListener("click", () => drop().catch((e) => log(String(e), "bad")));
document.getElementById("revoke").addEventListener("click", () => revocation(wsBase + "/demo", audience).catch((e) => log(String(e), "bad")));
document.getElementById("selftest").addEventListener("click", () => selftest({}));

// --- The self-test: every scenario, with results ---------------------------
// ?selftest=<collector>&echo=<ws base of examples/echo>&foreign=<page URL>
// runs it automatically and POSTs the results to <collector>/results; the
// real-browser tests drive the page this way.

const TRANSPORTS = ["query", "subprotocol", "cookie", "first-message"];

// viaClient connects with the client library, echoes one message, and
// resolves with the protocol the server echoed.
function viaClient(transport, url, aud) {
  return new Promise((resolve, reject) => {
    const s = connect({ ticketUrl, url, audience: aud, transport, getAuthHeader, reconnect: false });
    const timer = setTimeout(() => { s.close(); reject(new Error("timed out")); }, 8000);
    let opened = false;
    s.addEventListener("open", () => { opened = true; s.send("hello " + transport); });
    s.addEventListener("message", (e) => {
      clearTimeout(timer);
      const protocol = s.protocol;
      s.close(1000);
      if (e.data !== "hello " + transport) reject(new Error("wrong echo"));
      else resolve({ protocol });
    });
    s.addEventListener("close", (e) => { if (!opened) { clearTimeout(timer); reject(new Error("refused, close code " + e.code)); } });
  });
}

function checkProtocol(transport, protocol) {
  if (protocol && protocol.startsWith("wsticket.")) throw new Error("the server echoed the secret entry");
  if (transport === "subprotocol" && protocol !== "wsticket") throw new Error(`echoed protocol "${protocol}", want "wsticket"`);
  return { protocol };
}

async function reconnects() {
  return new Promise((resolve, reject) => {
    let opens = 0, reconnecting = 0;
    const s = connect({
      ticketUrl, audience, transport: "query", getAuthHeader,
      url: wsBase + "/demo/ws", reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
    });
    const timer = setTimeout(() => { s.close(); reject(new Error(`timed out after ${opens} opens`)); }, 15000);
    s.addEventListener("reconnecting", () => { reconnecting++; });
    s.addEventListener("open", () => {
      opens++;
      if (opens === 1) drop();
      else s.send("after reconnect");
    });
    s.addEventListener("message", (e) => {
      if (opens >= 2 && e.data === "after reconnect") {
        clearTimeout(timer);
        s.close(1000);
        resolve({ opens, reconnecting });
      }
    });
  });
}

async function selftest({ collector, echoBase, foreign }) {
  const results = [];
  const check = async (name, fn) => {
    try {
      results.push({ name, ok: true, detail: await fn() });
      log(`PASS ${name}`, "ok");
    } catch (e) {
      results.push({ name, ok: false, detail: String((e && e.message) || e) });
      log(`FAIL ${name}: ${(e && e.message) || e}`, "bad");
    }
  };
  const refused = async (promise) => {
    const r = await promise;
    if (r.opened) throw new Error("admitted");
    return r;
  };
  for (const t of TRANSPORTS) {
    await check(`demo/${t}`, async () => checkProtocol(t, (await viaClient(t, endpoint(wsBase + "/demo", t), audience)).protocol));
  }
  if (echoBase) {
    for (const t of TRANSPORTS) {
      await check(`echo/${t}`, async () => checkProtocol(t, (await viaClient(t, endpoint(echoBase, t), "echo")).protocol));
    }
  }
  await check("replay refused", async () => {
    const { first, second } = await replay();
    if (!first.opened || !first.echoed) throw new Error("the first use was refused");
    if (second.opened) throw new Error("the replay was admitted");
    return { second_close: second.code };
  });
  await check("wrong audience refused", () => refused(otherAudience()));
  if (echoBase) {
    await check("demo ticket refused at echo", async () => refused(tryOpen(echoBase + "/ws?ticket=" + encodeURIComponent(await mint(audience)))));
    await check("echo ticket refused at demo", async () => refused(tryOpen(wsBase + "/demo/ws?ticket=" + encodeURIComponent(await mint("echo")))));
  }
  await check("reconnects with a fresh ticket", reconnects);
  // Last: a revocation also closes sockets opened within the skew window
  // after it; each check waits that out before it returns.
  await check("demo/revocation closes the socket", () => revocation(wsBase + "/demo", audience));
  if (echoBase) {
    // examples/echo follows ticketd's gRPC revocation stream.
    await check("echo/revocation closes the socket", () => revocation(echoBase, "echo"));
  }
  log(`self-test: ${results.filter((r) => r.ok).length} of ${results.length} passed`, "info");
  if (collector) {
    await fetch(collector + "/results", { method: "POST", mode: "no-cors", body: JSON.stringify({ page: "demo", userAgent: navigator.userAgent, results }) });
  }
  if (foreign) {
    // Leave a fresh cookie ticket in the browser, then visit a page of
    // another origin that tries to open a socket with it (CSWSH).
    await mint(audience, true);
    location.href = foreign + "?target=" + encodeURIComponent(wsBase + "/demo/ws");
  }
  return results;
}

const params = new URLSearchParams(location.search);
if (params.has("selftest")) {
  selftest({ collector: params.get("selftest"), echoBase: params.get("echo"), foreign: params.get("foreign") });
} else {
  log("ready: pick a transport", "info");
}

// closeText describes a close event: its code and, when the server gave
// one, its reason (such as 1008 "ticket revoked").
function closeText(e) {
  return e.reason ? `code ${e.code}, reason ${JSON.stringify(e.reason)}` : `code ${e.code}`;
}
