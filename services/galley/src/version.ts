import { createHash } from 'node:crypto';

/** A short stable hash of JSON content, used as the version of resources that carry none. */
export function contentVersion(value: unknown): string {
  return createHash('sha1').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}
