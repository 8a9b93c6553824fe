/**
 * What raising a webhook event costs the caller (the kernel's event
 * listener, an API request): `WebhookService.emit` with 0, 1 and 16
 * endpoints subscribed, against a real SQLite store, with the queue at its
 * default bound (1024) and full, so every push also drops (and logs) the
 * oldest: the worst case. Deliveries go to a port nothing listens on and
 * wait an hour to retry. The numbers are of `emit` alone. Prints a table.
 *
 * `deno run --allow-read --allow-write --allow-net=127.0.0.1 --allow-env bench/webhooks.ts`
 *
 * @module
 */

import { AuditLog } from "../api/audit_log.ts";
import { DenialAuditGate } from "../api/audit_denials.ts";
import { StoreErrors } from "../api/store_errors.ts";
import { Store } from "../api/store.ts";
import { WebhookService } from "../api/webhooks/mod.ts";

const dir = await Deno.makeTempDir({ prefix: "agentos-bench-hooks-" });
const store = new Store(`${dir}/agentos.db`);
const audit = new AuditLog(store, new DenialAuditGate(), new StoreErrors());
const rows: string[] = [];
for (const endpoints of [0, 1, 16]) {
  const tenantId = `tn_${endpoints}`;
  const hooks = new WebhookService(store, audit, () => null, {
    allowHosts: ["127.0.0.1"],
    workers: 1,
    backoffBaseMs: 3_600_000,
  });
  const p = { tenant: { id: tenantId, name: tenantId, admin: false, quotas: {}, createdAt: "" }, keyHash: "" };
  for (let i = 0; i < endpoints; i++) hooks.create(p, { url: "http://127.0.0.1:9/hook", events: ["agent.exited"] });
  const n = endpoints === 16 ? 2_000 : 20_000;
  for (let i = 0; i < 200; i++) hooks.emit(tenantId, "agent.exited", { agentId: `ag_${i}`, reason: "exit" });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) hooks.emit(tenantId, "agent.exited", { agentId: `ag_${i}`, reason: "exit" });
  const us = ((performance.now() - t0) * 1000) / n;
  rows.push(`| ${endpoints} | ${us.toFixed(2)} | ${Math.round(1e6 / us).toLocaleString("en")} |`);
  await hooks.stop();
}
console.log("| endpoints subscribed | µs per emit | emits/s |\n| ---: | ---: | ---: |\n" + rows.join("\n"));
store.close();
await Deno.remove(dir, { recursive: true });
