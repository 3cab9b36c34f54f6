// The checks TestBrowserClientPackage runs with the installed
// @wsticket/client, from Node (node.mjs) and from a page in Chromium
// (page.html): the same code, importing the package by its name.
import * as wsticket from "@wsticket/client";

// The names wsticket.d.ts declares as values.
const exported = [
  "connect",
  "WsTicketError",
  "CLOSE_UNAUTHENTICATED",
  "CLOSE_REVOKED",
  "CLOSE_SESSION_EXPIRED",
  "CLOSE_SERVICE_RESTART",
  "CLOSE_TRY_AGAIN_LATER",
];

// run connects to ticketd --dev's demo echo endpoint once per transport
// and returns one result per check: {name, ok, detail}.
//   ticketd: "http://127.0.0.1:port"; jwt: the --dev login JWT;
//   WebSocket: the implementation to use; transports: which to try.
export async function run({ ticketd, jwt, WebSocket, transports }) {
  const results = [];
  const check = async (name, fn) => {
    try {
      const detail = await fn();
      results.push({ name, ok: true, detail: detail ?? null });
    } catch (e) {
      results.push({ name, ok: false, detail: String(e && e.stack ? e.stack : e) });
    }
  };

  await check("exports", () => {
    const missing = exported.filter((n) => !(n in wsticket));
    if (missing.length) throw new Error("missing exports: " + missing.join(", "));
    if (typeof wsticket.connect !== "function") throw new Error("connect is no function");
    return Object.keys(wsticket).sort();
  });

  const ws = ticketd.replace(/^http/, "ws");
  for (const transport of transports) {
    await check("echo over " + transport, () =>
      echo({
        ticketUrl: ticketd + "/v1/tickets",
        url: ws + (transport === "first-message" ? "/demo/ws/first-message" : "/demo/ws"),
        audience: "demo",
        transport,
        getAuthHeader: () => "Bearer " + jwt,
        reconnect: false,
        WebSocket,
      }),
    );
  }

  // A login ticketd refuses: the client reports it as an auth error and
  // stops. The mint is real: ticketd answered 401.
  await check("refused login", () =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no onAuthError within 10s")), 10000);
      wsticket.connect({
        ticketUrl: ticketd + "/v1/tickets",
        url: ws + "/demo/ws",
        audience: "demo",
        getAuthHeader: () => "Bearer not-a-jwt",
        reconnect: false,
        WebSocket,
        onAuthError: (err) => {
          clearTimeout(timer);
          if (!(err instanceof wsticket.WsTicketError) || err.kind !== "auth" || err.status !== 401) {
            reject(new Error(`onAuthError(${err && err.kind}, ${err && err.status}), want kind auth, status 401`));
            return;
          }
          resolve({ kind: err.kind, status: err.status });
        },
      });
    }),
  );
  return results;
}

// echo opens a socket, sends a message, waits for the demo to echo it,
// and closes: it resolves with what the connection looked like.
function echo(opts) {
  return new Promise((resolve, reject) => {
    const text = "hello over " + opts.transport;
    const sock = wsticket.connect(opts);
    const timer = setTimeout(() => fail("no echo within 10s"), 10000);
    let done = false;
    const fail = (what) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(what));
      sock.close();
    };
    sock.addEventListener("open", () => sock.send(text));
    sock.addEventListener("error", (e) => fail(`error ${e.error && e.error.kind}: ${e.error && e.error.message}`));
    sock.addEventListener("close", (e) => fail(`closed with ${e.code} ${e.reason} before the echo`));
    sock.addEventListener("message", (e) => {
      if (e.data !== text) return fail(`echoed ${JSON.stringify(e.data)}, want ${JSON.stringify(text)}`);
      const protocol = sock.protocol;
      if (protocol.startsWith("wsticket.")) return fail("the secret subprotocol entry is exposed");
      done = true;
      clearTimeout(timer);
      resolve({ protocol, url: sock.url });
      sock.close();
    });
  });
}
