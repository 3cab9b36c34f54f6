// MiniWebSocket: just enough of a WebSocket client (RFC 6455) over
// node:http for Node versions without a global WebSocket: the opening
// handshake with subprotocols, masked text frames out, unfragmented text
// and binary frames in, ping, and the closing handshake. It implements the
// WebSocketLike interface of wsticket.d.ts. No Origin header is sent, as
// with any non-browser client.
import http from "node:http";
import crypto from "node:crypto";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export class MiniWebSocket {
  constructor(url, protocols) {
    this.url = url;
    this.protocol = "";
    this.binaryType = "blob";
    this.readyState = 0;
    this.onopen = this.onmessage = this.onerror = this.onclose = null;
    const u = new URL(url);
    if (u.protocol !== "ws:") throw new SyntaxError("MiniWebSocket: ws:// URLs only");
    const key = crypto.randomBytes(16).toString("base64");
    const headers = {
      Connection: "Upgrade",
      Upgrade: "websocket",
      "Sec-WebSocket-Version": "13",
      "Sec-WebSocket-Key": key,
    };
    const offered = protocols === undefined ? [] : [].concat(protocols);
    if (offered.length) headers["Sec-WebSocket-Protocol"] = offered.join(", ");
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers });
    this.req = req;
    req.on("upgrade", (res, socket, head) => {
      if (this.readyState !== 0) {
        socket.destroy(); // closed while connecting
        return;
      }
      const accept = crypto.createHash("sha1").update(key + GUID).digest("base64");
      const protocol = res.headers["sec-websocket-protocol"] ?? "";
      if (res.headers["sec-websocket-accept"] !== accept || (protocol && !offered.includes(protocol))) {
        socket.destroy();
        return this.#fail();
      }
      this.protocol = protocol;
      this.socket = socket;
      this.buf = head;
      this.readyState = 1;
      socket.on("data", (d) => {
        this.buf = Buffer.concat([this.buf, d]);
        this.#parse();
      });
      socket.on("close", () => this.#closed(1006, ""));
      socket.on("error", () => {});
      this.onopen?.({ type: "open" });
      this.#parse();
    });
    req.on("response", (res) => {
      res.resume(); // refused: a browser reports error, then close 1006
      this.#fail();
    });
    req.on("error", () => this.#fail());
    req.end();
  }

  send(data) {
    if (this.readyState !== 1) throw new Error("MiniWebSocket: not open");
    this.#frame(1, Buffer.from(String(data), "utf8"));
  }

  close(code = 1000, reason = "") {
    if (this.readyState >= 2) return;
    if (this.readyState === 0) {
      this.req.destroy(); // as a browser: error, then close 1006
      return;
    }
    this.readyState = 2;
    const p = Buffer.alloc(2 + Buffer.byteLength(reason));
    p.writeUInt16BE(code, 0);
    p.write(reason, 2);
    this.#frame(8, p);
  }

  #frame(opcode, payload) {
    let head;
    if (payload.length < 126) {
      head = Buffer.from([0x80 | opcode, 0x80 | payload.length]);
    } else if (payload.length < 65536) {
      head = Buffer.alloc(4);
      head[1] = 0x80 | 126;
      head.writeUInt16BE(payload.length, 2);
    } else {
      head = Buffer.alloc(10);
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    head[0] = 0x80 | opcode;
    const mask = crypto.randomBytes(4);
    const body = Buffer.from(payload);
    for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
    this.socket.write(Buffer.concat([head, mask, body]));
  }

  #parse() {
    while (this.readyState !== 3 && this.buf.length >= 2) {
      const b = this.buf;
      if ((b[0] & 0x80) === 0 || (b[1] & 0x80) !== 0) {
        // Fragmented, or masked by the server: not for this client.
        this.socket.destroy();
        return this.#fail();
      }
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (b.length < off + len) return;
      const opcode = b[0] & 0x0f;
      const payload = b.subarray(off, off + len);
      this.buf = b.subarray(off + len);
      if (opcode === 1) this.onmessage?.({ type: "message", data: payload.toString("utf8") });
      else if (opcode === 2) this.onmessage?.({ type: "message", data: Buffer.from(payload) });
      else if (opcode === 9) this.#frame(10, payload);
      else if (opcode === 8) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        const reason = payload.length > 2 ? payload.subarray(2).toString("utf8") : "";
        if (this.readyState === 1) {
          this.readyState = 2;
          this.#frame(8, payload.subarray(0, 2));
        }
        this.socket.end();
        this.#closed(code, reason);
      }
    }
  }

  #fail() {
    if (this.readyState === 3) return;
    this.onerror?.({ type: "error" });
    this.#closed(1006, "");
  }

  #closed(code, reason) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ type: "close", code, reason, wasClean: code !== 1006 });
  }
}
