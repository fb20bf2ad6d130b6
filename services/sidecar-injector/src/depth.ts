/** True when `value` nests objects or arrays deeper than `max` levels; iterative, so any depth is safe. */
export function deeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** Deepest nesting accepted in a pod (real pods are about 10 levels deep). */
export const MAX_POD_DEPTH = 64;
