/**
 * One SSE reader in its own process (as a client is): reads
 * `GET <url>` with a bearer key until the stream ends, counts events by
 * type and the `event: dropped` counts, and the time between the first and
 * the last `syscall` event. Prints one JSON line. Used by bench/trace_sse.ts.
 *
 *   deno run --allow-net=127.0.0.1 bench/_sse_reader.ts <url> <key>
 *
 * @module
 */

const [url, key] = Deno.args;
const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
if (!res.ok || res.body === null) throw new Error(`${url}: ${res.status}`);
const decoder = new TextDecoder();
const types: Record<string, number> = {};
let dropped = 0;
let firstMs = NaN;
let lastMs = NaN;
let bytes = 0;
let tail = "";
for await (const chunk of res.body) {
  bytes += chunk.length;
  const text = tail + decoder.decode(chunk, { stream: true });
  const cut = text.lastIndexOf("\n");
  tail = text.slice(cut + 1);
  let at = 0;
  while (true) {
    const i = text.indexOf("event: ", at);
    if (i < 0 || i > cut) break;
    const end = text.indexOf("\n", i);
    const type = text.slice(i + 7, end);
    types[type] = (types[type] ?? 0) + 1;
    if (type === "syscall") {
      const now = performance.now();
      if (Number.isNaN(firstMs)) firstMs = now;
      lastMs = now;
    } else if (type === "dropped") {
      dropped +=
        JSON.parse(text.slice(text.indexOf("data: ", end) + 6, text.indexOf("\n", text.indexOf("data: ", end))))
          .count;
    }
    at = end;
  }
}
console.log(JSON.stringify({ types, dropped, ms: lastMs - firstMs, bytes }));
