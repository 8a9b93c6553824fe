/**
 * Webhook signatures: `x-agentos-signature: v1=<hex HMAC-SHA256>` over
 * `"<timestamp>.<body>"`, keyed with the endpoint's secret, where
 * `<timestamp>` is the `x-agentos-timestamp` header (Unix seconds). A
 * receiver recomputes it and compares, and refuses old timestamps (replay).
 *
 * @module
 */

/** A fresh signing secret: `whsec_` and 256 random bits in hex. */
export function newSecret(): string {
  return `whsec_${crypto.getRandomValues(new Uint8Array(32)).toHex()}`;
}

/**
 * The signature header value of one delivery.
 *
 * @param secret the endpoint's secret
 * @param timestamp the `x-agentos-timestamp` header value (Unix seconds)
 * @param body the exact bytes sent, as text
 * @returns `v1=<64 hex digits>`
 * @example
 * ```ts
 * import { sign } from "./sign.ts";
 * const header = await sign("whsec_abc", "1767225600", '{"id":"ev_1"}'); // "v1=..."
 * ```
 */
export async function sign(secret: string, timestamp: string, body: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = await crypto.subtle.sign("HMAC", key, enc.encode(`${timestamp}.${body}`));
  return `v1=${new Uint8Array(mac).toHex()}`;
}
