#!/usr/bin/env node
/**
 * A round-robin HTTP load balancer in front of several server processes, for the
 * several-instances load test (scripts/load-instances.sh, loadtests/instances.ts). It stands in
 * for what a deployment puts there (nginx, HAProxy, a cloud load balancer) so the test needs no
 * other software; it is not meant to serve production traffic.
 *
 *   node scripts/balancer.mjs --port 8080 \
 *     --upstream http://127.0.0.1:3001 --upstream http://127.0.0.1:3002
 *
 * Each request goes to the next upstream in turn, whatever client or connection it came on, with
 * its method, path, headers and body; the answer streams back with one header added,
 * `x-upstream: <index>` (0-based, in the order of --upstream), so a test can tell which instance
 * answered. An unreachable upstream is a 502 problem+json (`code: "bad_gateway"`); the request is
 * not retried on another upstream, since a POST may already have been processed.
 *
 * `--port 0` picks a free port. Prints one line once it listens, and on SIGTERM or SIGINT stops
 * accepting, lets requests in flight finish, prints the requests per upstream, and exits 0.
 */
import { Agent, createServer, request } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8080" },
    host: { type: "string", default: "127.0.0.1" },
    upstream: { type: "string", multiple: true, default: [] },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535 || values.upstream.length === 0) {
  process.stderr.write(
    "usage: node scripts/balancer.mjs --port N --upstream http://HOST:PORT [--upstream ...]\n",
  );
  process.exit(2);
}

const upstreams = values.upstream.map((url, index) => ({
  index,
  url: new URL(url),
  // Keep-alive, as a real balancer keeps its upstream connections: without it every request
  // would pay a TCP handshake and the test would measure the balancer.
  agent: new Agent({ keepAlive: true }),
  served: 0,
  failed: 0,
}));

// Hop-by-hop headers (RFC 9110, section 7.6.1) describe one connection and are not forwarded;
// Node sets its own for each side (keep-alive to the upstream, chunking where needed).
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
const endToEnd = (headers) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));

let next = 0;

const server = createServer((clientRequest, clientResponse) => {
  const upstream = upstreams[next];
  next = (next + 1) % upstreams.length;
  const headers = endToEnd(clientRequest.headers);
  // The server sees the balancer's address as the peer; with TRUST_PROXY=1 it takes the
  // client's from here, as behind any proxy.
  const peer = clientRequest.socket.remoteAddress ?? "";
  headers["x-forwarded-for"] = headers["x-forwarded-for"]
    ? `${headers["x-forwarded-for"]}, ${peer}`
    : peer;

  const upstreamRequest = request(
    {
      protocol: upstream.url.protocol,
      hostname: upstream.url.hostname,
      port: upstream.url.port,
      method: clientRequest.method,
      path: clientRequest.url,
      headers,
      agent: upstream.agent,
    },
    (upstreamResponse) => {
      upstream.served++;
      clientResponse.writeHead(upstreamResponse.statusCode ?? 502, {
        ...endToEnd(upstreamResponse.headers),
        "x-upstream": String(upstream.index),
      });
      upstreamResponse.pipe(clientResponse);
      // An upstream that dies mid-body: end the client's connection too, rather than leave a
      // response that looks complete.
      upstreamResponse.on("error", () => clientResponse.destroy());
    },
  );

  upstreamRequest.on("error", (error) => {
    upstream.failed++;
    if (clientResponse.headersSent) {
      clientResponse.destroy();
      return;
    }
    const body = JSON.stringify({
      type: "about:blank",
      title: "Bad Gateway",
      status: 502,
      detail: `upstream ${upstream.index} (${upstream.url.host}) is unreachable: ${error.code ?? error.message}`,
      code: "bad_gateway",
    });
    clientResponse.writeHead(502, {
      "content-type": "application/problem+json",
      "content-length": Buffer.byteLength(body),
      "x-upstream": String(upstream.index),
    });
    clientResponse.end(body);
  });

  // A client that goes away abandons its upstream request too.
  clientResponse.on("close", () => {
    if (!clientResponse.writableFinished) upstreamRequest.destroy();
  });
  clientRequest.pipe(upstreamRequest);
});

server.listen(port, values.host, () => {
  const { address, port: bound } = server.address();
  const list = upstreams.map(({ index, url }) => `${index}=${url.origin}`).join(" ");
  process.stdout.write(`balancer: listening on http://${address}:${bound}, round robin: ${list}\n`);
});

const stop = () => {
  // close() stops accepting and waits for requests in flight; idle keep-alive connections
  // (k6's, ours to the upstreams) would hold the process open, so those are closed now.
  server.close(() => {
    for (const upstream of upstreams) upstream.agent.destroy();
    const tally = upstreams.map(({ index, served, failed }) =>
      failed > 0 ? `${index}: ${served} (${failed} failed)` : `${index}: ${served}`,
    );
    process.stdout.write(`balancer: stopped; responses per upstream ${tally.join(", ")}\n`);
  });
  server.closeIdleConnections();
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
