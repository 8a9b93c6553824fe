/**
 * HTTP/1.1 over one raw TCP connection, for the edge tests: an attacker
 * needs half-sent heads and idle sockets, and a bystander needs a
 * keep-alive connection that is provably the one it opened before the
 * attack (`fetch` may open a new one at any time, and a new one is exactly
 * what the gate refuses under attack).
 *
 * @module
 */

import { roundTripCode, type Sample, sampleOf } from "./bystander.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A parsed answer. */
export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Connect to `url`'s host and port. */
export function connect(url: string): Promise<Deno.TcpConn> {
  const u = new URL(url);
  return Deno.connect({ hostname: u.hostname, port: Number(u.port) });
}

/** Write all of `text`. */
export async function send(conn: Deno.Conn, text: string | Uint8Array): Promise<void> {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/**
 * Read one response (by `content-length`, or to EOF), or `undefined` if
 * the connection ended with no byte (or nothing came within `ms`).
 */
export async function readResponse(conn: Deno.Conn, ms = 10_000): Promise<RawResponse | undefined> {
  let text = "";
  const buf = new Uint8Array(64 * 1024);
  const deadline = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  }, ms);
  try {
    for (;;) {
      const headEnd = text.indexOf("\r\n\r\n");
      if (headEnd >= 0) {
        const res = parseHead(text.slice(0, headEnd));
        const length = Number(res.headers.get("content-length") ?? NaN);
        const body = text.slice(headEnd + 4);
        if (Number.isFinite(length) && encoder.encode(body).length >= length) return { ...res, body };
      }
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null) {
        if (text === "") return undefined;
        const end = text.indexOf("\r\n\r\n");
        return { ...parseHead(text.slice(0, end < 0 ? text.length : end)), body: end < 0 ? "" : text.slice(end + 4) };
      }
      text += decoder.decode(buf.subarray(0, n), { stream: true });
    }
  } finally {
    clearTimeout(deadline);
  }
}

function parseHead(head: string): Omit<RawResponse, "body"> {
  const [line, ...rest] = head.split("\r\n");
  const headers = new Map<string, string>();
  for (const h of rest) {
    const i = h.indexOf(":");
    if (i > 0) headers.set(h.slice(0, i).toLowerCase(), h.slice(i + 1).trim());
  }
  return { status: Number(line.split(" ")[1]), headers };
}

/** Whether the peer closed the connection (a read ends) within `ms`. */
export async function closedWithin(conn: Deno.Conn, ms: number): Promise<boolean> {
  const buf = new Uint8Array(4096);
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  }, ms);
  let closedByPeer = false;
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) {
        closedByPeer = true;
        break;
      }
    }
  } catch {
    closedByPeer = false;
  } finally {
    clearTimeout(timer);
  }
  return closedByPeer;
}

/** A request as text. */
export function request(method: string, path: string, key?: string, body?: string): string {
  const auth = key === undefined ? "" : `authorization: Bearer ${key}\r\n`;
  const type = body === undefined
    ? ""
    : `content-type: application/json\r\ncontent-length: ${encoder.encode(body).length}\r\n`;
  return `${method} ${path} HTTP/1.1\r\nhost: agentos\r\n${auth}${type}\r\n${body ?? ""}`;
}

/** One request on a keep-alive connection. */
export async function roundTrip(conn: Deno.Conn, text: string): Promise<RawResponse> {
  await send(conn, text);
  const res = await readResponse(conn);
  if (res === undefined) throw new Error("connection closed without an answer");
  return res;
}

/** `n` sequential `GET /v1/agents?limit=1` on one kept-alive connection, ms each; every answer must be 200. */
export async function keptAliveRoundTrips(conn: Deno.Conn, key: string, n = 50): Promise<Sample> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await roundTrip(conn, request("GET", "/v1/agents?limit=1", key));
    lat.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`bystander request ${i}: ${res.status} ${res.body}`);
  }
  return sampleOf(lat);
}

/** A bystander agent run to completion over one kept-alive connection: its `n` syscall round trips. */
export async function keptAliveAgentRoundTrips(conn: Deno.Conn, key: string, n?: number): Promise<Sample> {
  const body = JSON.stringify({ code: roundTripCode(n), wait: true });
  const res = await roundTrip(conn, request("POST", "/v1/agents", key, body));
  if (res.status !== 200) throw new Error(`bystander spawn: ${res.status} ${res.body}`);
  const done = JSON.parse(res.body);
  if (done.reason !== "exit") throw new Error(`bystander ended with ${done.reason}: ${done.message}`);
  return sampleOf(done.result as number[]);
}
