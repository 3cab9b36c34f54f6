// Runs checks.mjs from Node with the installed @wsticket/client and
// prints the results as JSON. Node's own WebSocket when it has one, else
// MiniWebSocket (Node 18 and 20 have none without a flag).
import { run } from "./checks.mjs";
import { MiniWebSocket } from "./miniws.mjs";

const WebSocket = globalThis.WebSocket ?? MiniWebSocket;
const results = await run({
  ticketd: process.env.TICKETD,
  jwt: process.env.WSTICKET_JWT,
  WebSocket,
  // Cookies need a browser; first-message and the others work anywhere.
  transports: ["query", "subprotocol", "first-message"],
});
console.log(JSON.stringify({ page: "node " + process.version, webSocket: WebSocket === MiniWebSocket ? "miniws" : "node", results }));
