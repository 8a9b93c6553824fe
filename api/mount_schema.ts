/**
 * The `volumes` field of a spawn and of a session: which volumes to mount
 * where. A module of its own so the spawn and session schemas share it.
 *
 * @module
 */

import { z } from "zod";
import { volumeNamePattern } from "../sandbox/fs/mod.ts";
import { mountsPerAgentMax } from "../sandbox/mod.ts";

/** One mount: volume `name` at workspace-relative `path`. */
const mountSchema = z.strictObject({
  name: z.string().regex(volumeNamePattern, "a volume name"),
  path: z.string().min(1).max(1024),
  readOnly: z.boolean().optional(),
});

/** `volumes` of a spawn or a session. */
export const volumesSchema = z.array(mountSchema).max(mountsPerAgentMax);
