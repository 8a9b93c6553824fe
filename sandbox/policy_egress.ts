/**
 * The egress side of the policy layer: the fields a `net.fetch` call is
 * decided on, and the CIDRs a tenant's own allow rules name (only these
 * open loopback or private addresses; see `PolicyLayer.allowCidrs`).
 *
 * @module
 */

import { type Cidr, parseCidr } from "./egress/mod.ts";
import type { PolicyRequest } from "./policy/mod.ts";

/** CIDR host entries of allow rules that cover `net.fetch`. */
export function egressCidrs(doc: unknown): Cidr[] {
  const rules = (doc as { rules?: { effect?: string; calls?: string[]; hosts?: string[] }[] }).rules ?? [];
  const out: Cidr[] = [];
  for (const rule of rules) {
    if (rule.effect !== "allow" && rule.effect !== "ask") continue; // an ask rule opens its CIDR once approved
    if (!rule.calls?.some((c) => c === "*" || c === "net.*" || c === "net.fetch")) continue;
    for (const host of rule.hosts ?? []) {
      const cidr = host.includes("/") ? parseCidr(host) : null;
      if (cidr !== null) out.push(cidr);
    }
  }
  return out;
}

/**
 * The policy fields of a `net.fetch` call before resolution: host, port, method from its URL.
 *
 * @param args the call's validated args (`url`, optional `method`)
 * @returns the fields; without host and port when the URL does not parse
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { egressFields } from "./policy_egress.ts";
 * assert.deepEqual(egressFields({ url: "https://api.example.com/v1" }), { host: "api.example.com", port: 443, method: "GET" });
 * assert.deepEqual(egressFields({ url: "http://[::1]:8080/", method: "POST" }), { host: "[::1]", port: 8080, method: "POST" });
 * ```
 */
export function egressFields(args: unknown): Pick<PolicyRequest, "host" | "port" | "method"> {
  const { url, method } = args as { url: string; method?: string };
  try {
    const parsed = new URL(url);
    const port = parsed.port === "" ? (parsed.protocol === "https:" ? 443 : 80) : Number(parsed.port);
    // The engine takes the hostname exactly as `new URL()` gives it (IPv6 in brackets).
    return { host: parsed.hostname, port, method: method ?? "GET" };
  } catch {
    return { method: method ?? "GET" };
  }
}
