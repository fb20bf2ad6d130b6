/** metav1.LabelSelector: matchLabels AND every matchExpression. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Problems with a selector as read from YAML; empty when it is usable. */
export function validateSelector(s: unknown): string[] {
  if (!isObj(s)) return ['must be a label selector object'];
  const errors: string[] = [];
  for (const k of Object.keys(s)) {
    if (k !== 'matchLabels' && k !== 'matchExpressions') errors.push(`unknown field ${k}`);
  }
  if (s.matchLabels !== undefined) {
    if (!isObj(s.matchLabels) || Object.values(s.matchLabels).some((v) => typeof v !== 'string')) {
      errors.push('matchLabels must map label names to strings');
    }
  }
  if (s.matchExpressions !== undefined) {
    if (!Array.isArray(s.matchExpressions)) errors.push('matchExpressions must be a list');
    else
      s.matchExpressions.forEach((e, i) => {
        if (!isObj(e) || typeof e.key !== 'string') errors.push(`matchExpressions[${i}].key is missing`);
        else if (!OPERATORS.includes(String(e.operator))) {
          errors.push(`matchExpressions[${i}].operator must be one of ${OPERATORS.join(', ')}`);
        } else if ((e.operator === 'In' || e.operator === 'NotIn') && !Array.isArray(e.values)) {
          errors.push(`matchExpressions[${i}].values is required for ${e.operator}`);
        }
      });
  }
  return errors;
}

/** True when the labels satisfy the selector; an empty selector matches everything. */
export function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}
