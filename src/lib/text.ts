import { z } from "@hono/zod-openapi";

/**
 * Characters no stored text may hold: C0 and C1 controls and DEL (Unicode category Cc: U+0000-U+001F,
 * U+007F-U+009F) and unpaired surrogates (Cs). Postgres `text` cannot hold U+0000 at all, nor UTF-8 encode a
 * lone surrogate (both would fail the INSERT: a 500); the other controls break logs, CSV exports and the
 * one-line places a name is shown.
 */
const FORBIDDEN = /[\p{Cc}\p{Cs}]/u;

const CONTROL_CHARACTER_MESSAGE =
  "must not contain control characters (U+0000-U+001F, U+007F-U+009F) or unpaired surrogates";

/** True when `value` holds a character `storedText` refuses. */
export function hasForbiddenCharacters(value: string): boolean {
  return FORBIDDEN.test(value);
}

/**
 * THE schema of every free-text field the gateway stores (key names today): trimmed, `min`..`max` UTF-16
 * units, no control characters or unpaired surrogates. A failure is a 400 `validation_failed` problem naming
 * the field (app.ts's defaultHook).
 * @example name: storedText({ max: 100 }).optional()
 */
export function storedText(options: { max: number; min?: number }) {
  return z
    .string()
    .trim()
    .min(options.min ?? 0)
    .max(options.max)
    .refine((value) => !hasForbiddenCharacters(value), CONTROL_CHARACTER_MESSAGE);
}
