/**
 * Page cursors of `GET /v1/agents`: opaque to clients (base64url of the last
 * row's creation time and id), checked when they come back — a cursor this
 * server did not issue is a 400 naming `cursor`, never a query over garbage.
 *
 * @module
 */

const cursorShape = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z)([a-z]{2,8}_[0-9a-f]{24})$/;

/**
 * The cursor after a row.
 *
 * @param createdAt the row's creation time (ISO 8601)
 * @param id the row's id
 * @returns the opaque cursor
 * @example
 * ```ts
 * encodeCursor("2026-01-01T00:00:00.000Z", "ag_0123456789abcdef01234567");
 * ```
 */
export function encodeCursor(createdAt: string, id: string): string {
  return new TextEncoder().encode(createdAt + id).toBase64({ alphabet: "base64url", omitPadding: true });
}

/**
 * What a cursor stands for, or `undefined` when it is not one this server issues.
 *
 * @param cursor the client's `?cursor=`
 * @returns the creation time and id concatenated (the store's page key), or `undefined`
 * @example
 * ```ts
 * decodeCursor("zzz"); // undefined
 * ```
 */
export function decodeCursor(cursor: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return undefined;
  let text: string;
  try {
    const bytes = Uint8Array.fromBase64(cursor, { alphabet: "base64url", lastChunkHandling: "loose" });
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  return cursorShape.test(text) ? text : undefined;
}
