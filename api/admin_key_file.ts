/**
 * The generated admin key's file: on a first start without
 * `AGENTOS_ADMIN_KEY`, the key is also written to `<dataDir>/admin.key`,
 * mode 0600, atomically (a temporary file, synced, then hard-linked into
 * place — a link never replaces a file), and never over a file that is
 * already there.
 *
 * @module
 */

/** The file's name in the data dir. */
export const adminKeyFileName = "admin.key";

/** What became of the file. */
export type AdminKeyFile =
  | { written: true; path: string }
  | { written: false; path: string; why: "exists" | "failed"; message: string };

/**
 * Write the admin key to `<dataDir>/admin.key` (0600) unless a file is there.
 *
 * @param dataDir the server's data dir
 * @param key the generated admin key
 * @returns where it went, or why not (an existing file is kept; an I/O error is reported, not thrown)
 * @example
 * ```ts
 * const file = await writeAdminKeyFile("./data", "aos_…");
 * if (file.written) console.log(`admin key in ${file.path}`);
 * ```
 */
export async function writeAdminKeyFile(dataDir: string, key: string): Promise<AdminKeyFile> {
  const path = `${dataDir}/${adminKeyFileName}`;
  const temp = `${dataDir}/.${adminKeyFileName}.${crypto.randomUUID()}`;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    try {
      await file.write(new TextEncoder().encode(`${key}\n`));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.chmod(temp, 0o600); // the umask may have narrowed it further, never widened; state it exactly
    await Deno.link(temp, path);
    return { written: true, path };
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) {
      return { written: false, path, why: "exists", message: `${path} exists and is kept` };
    }
    return { written: false, path, why: "failed", message: err instanceof Error ? err.message : String(err) };
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
}
