/**
 * Reading an agent's SSE stream and its JSON-lines trace to their end, with
 * a deadline that fails with a clear message (never a hang).
 */

/** One SSE event as sent. */
export interface SseEvent {
  id: number | undefined;
  event: string;
  data: string;
}

/** One event's JSON (what SSE `data:` and each trace line carry). */
export interface EventJson {
  seq: number;
  ts: number;
  type: string;
  agentId: string | null;
  data: Record<string, unknown>;
}

/** Parse an SSE body. */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split("\n\n")) {
    if (block.trim() === "" || block.startsWith(":")) continue;
    let id: number | undefined;
    let event = "message";
    let data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith("id: ")) id = Number(line.slice(4));
      else if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    events.push({ id, event, data });
  }
  return events;
}

/**
 * Read a whole response body; fails after `deadlineMs` (the stream did not
 * end) with `what` in the message.
 */
export async function readToEnd(res: Response, what: string, deadlineMs = 20_000): Promise<string> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((resolve) => timer = setTimeout(() => resolve("expired"), deadlineMs));
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), expired]);
      if (next === "expired") {
        throw new Error(`${what}: the stream did not end within ${deadlineMs} ms; got so far:\n${text.slice(-2000)}`);
      }
      if (next.done) return text;
      text += next.value;
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
}

/** The events of an SSE body (without `hello`), their JSON parsed. */
export function sseEvents(text: string): EventJson[] {
  return parseSse(text).filter((e) => e.event !== "hello").map((e) => {
    const json = JSON.parse(e.data) as EventJson;
    if (e.id !== json.seq) throw new Error(`SSE id ${e.id} is not its event's seq ${json.seq}`);
    if (e.event !== json.type) throw new Error(`SSE event ${e.event} is not its event's type ${json.type}`);
    return json;
  });
}

/** The lines of a JSON-lines body, parsed. */
export function ndjson(text: string): EventJson[] {
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as EventJson);
}

/** Whether `seqs` strictly increase. */
export function increasing(seqs: number[]): boolean {
  return seqs.every((s, i) => i === 0 || s > seqs[i - 1]);
}
