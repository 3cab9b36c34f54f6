// Drives wsticket's browser client (clientlib/js) under Node against a Go
// server of the wsmiddleware tests, and prints what happened as one JSON
// line. Usage: node --experimental-websocket jsclient.mjs <base-url>
// <transport> <ms to stay connected>. It prints "open" on its own line
// when the socket first opens, so the Go side can act (revoke).
import { connect } from "../../clientlib/js/wsticket.js";

const [base, transport, stayMs] = process.argv.slice(2);
const events = { opens: 0, closes: [], reconnecting: 0, errors: [], authErrors: [], echoes: 0 };
const url = base.replace(/^http/, "ws") + (transport === "first-message" ? "/ws/fm" : "/ws");
const sock = connect({
  ticketUrl: base + "/ticket",
  url,
  transport,
  reconnect: { initialDelayMs: 50, maxDelayMs: 200, serviceRestartFloorMs: 0, tryAgainLaterFloorMs: 0 },
  onAuthError: (err) => events.authErrors.push(err.kind),
});
let done;
const finished = new Promise((resolve) => { done = resolve; });
sock.addEventListener("open", () => {
  events.opens++;
  if (events.opens === 1) console.log("open");
});
sock.addEventListener("message", (ev) => {
  if (ev.data === "alice: ping") events.echoes++;
});
sock.addEventListener("reconnecting", () => events.reconnecting++);
sock.addEventListener("error", (ev) => events.errors.push(ev.error.kind));
sock.addEventListener("close", (ev) => {
  events.closes.push(ev.code);
  done();
});
setTimeout(() => {
  if (sock.readyState === 1) sock.send("ping");
  setTimeout(() => {
    sock.close(1000);
    setTimeout(done, 2000); // the close event, normally, comes first
  }, 500);
}, Number(stayMs));
await finished;
console.log(JSON.stringify(events));
process.exit(0);
