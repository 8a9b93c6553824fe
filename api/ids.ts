/**
 * Ids and timestamps of the service's records: {@linkcode newId} (a prefix
 * and 96 random bits in hex) and {@linkcode now} (ISO 8601, UTC).
 *
 * @module
 */

/**
 * A fresh record id.
 *
 * @param prefix what kind of record (`tn` tenant, `ag` agent)
 * @returns `<prefix>_<24 hex digits>`
 */
export function newId(prefix: string): string {
  return `${prefix}_${crypto.getRandomValues(new Uint8Array(12)).toHex()}`;
}

/** The current time as a record stores it (ISO 8601, UTC). */
export function now(): string {
  return new Date().toISOString();
}
