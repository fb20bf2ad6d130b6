/** An expected outcome: a value, or every reason it could not be produced. */
export type Result<T, E = string[]> = { ok: true; value: T } | { ok: false; errors: E };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const err = <E>(errors: E): { ok: false; errors: E } => ({ ok: false, errors });
