// A tiny local stand-in for INNGEST_BASE_URL (API + event API) that records
// every request it gets.
//
//   POST /fn/register   -> 200 {"ok":true,"modified":true}
//   POST /e/<key>       -> 200 {"ids":["evt-1"],"status":200}   (one id per event sent)
//   anything else       -> 404 {"error":"not found"}
//
// As a module: `const s = await startStandIn(port?)` -> { url, port, requests,
// setRegisterReply(status, body) (pass null to restore the default), close() }.
// As a CLI: `node stand-in.mjs [port]` prints {"port": n} then one JSON line per request.

import http from "node:http";
import { pathToFileURL } from "node:url";

export function startStandIn(port = 0, onRequest = () => {}) {
  const requests = [];
  // Override for /fn/register (null = the default 200 reply); see setRegisterReply.
  let registerReply = null;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const record = {
        method: req.method,
        url: req.url,
        headers: req.headers,
        body,
      };
      requests.push(record);
      onRequest(record);

      const path = (req.url || "").split("?")[0];
      let status = 404;
      let reply = { error: "not found" };
      if (req.method === "POST" && path === "/fn/register") {
        status = registerReply?.status ?? 200;
        reply = registerReply?.body ?? { ok: true, modified: true };
      } else if (req.method === "POST" && path.startsWith("/e/")) {
        let n = 1;
        try {
          const parsed = JSON.parse(body);
          if (Array.isArray(parsed)) n = parsed.length;
        } catch {}
        status = 200;
        reply = {
          ids: Array.from({ length: n }, (_, i) => `evt-${i + 1}`),
          status: 200,
        };
      }
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(typeof reply === "string" ? reply : JSON.stringify(reply));
    });
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => {
      const { port: p } = server.address();
      resolve({
        port: p,
        url: `http://127.0.0.1:${p}`,
        requests,
        setRegisterReply: (status, body) => {
          registerReply = status == null ? null : { status, body };
        },
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const s = await startStandIn(Number(process.argv[2] || 0), (r) =>
    process.stdout.write(JSON.stringify(r) + "\n"),
  );
  process.stdout.write(`{"port": ${s.port}}\n`);
}
