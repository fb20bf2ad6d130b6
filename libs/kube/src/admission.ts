/** admission.k8s.io AdmissionReview, versions v1 and v1beta1 (same shape on the wire). */

export type AdmissionApiVersion = 'admission.k8s.io/v1' | 'admission.k8s.io/v1beta1';
export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface AdmissionUserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface AdmissionRequest<T = unknown> {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  requestKind?: GroupVersionKind;
  requestResource?: GroupVersionResource;
  requestSubResource?: string;
  name?: string;
  namespace?: string;
  operation: AdmissionOperation;
  userInfo: AdmissionUserInfo;
  object?: T;
  oldObject?: T;
  dryRun?: boolean;
  options?: unknown;
}

/** metav1.Status as carried in `response.status` (v1) / `response.result` (JSON name in both). */
export interface AdmissionStatus {
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  /** JSON name of the Go field `Result`: `status` on the wire in both versions. */
  status?: AdmissionStatus;
  /** base64 of a JSON Patch document. */
  patch?: string;
  patchType?: 'JSONPatch';
  auditAnnotations?: Record<string, string>;
  warnings?: string[];
}

export interface AdmissionReview<T = unknown> {
  apiVersion: AdmissionApiVersion;
  kind: 'AdmissionReview';
  request?: AdmissionRequest<T>;
  response?: AdmissionResponse;
}

/** RFC 6902 operation. */
export type JsonPatchOp =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

/** What a webhook decided about one request. */
export type AdmissionDecision =
  | { allowed: true; patch?: JsonPatchOp[]; warnings?: string[] }
  | { allowed: false; message: string; code?: number; reason?: string; warnings?: string[] };

export interface AdmissionHttpRequest {
  method: string;
  contentType: string | undefined;
  body: Buffer | string | undefined;
}

export interface AdmissionHttpResult {
  status: number;
  /** An AdmissionReview for 200, a plain `{ error }` object otherwise. */
  body: unknown;
}

const VERSIONS: readonly string[] = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'];

/** Parses and checks an AdmissionReview request body; errors are values. */
export function parseAdmissionReview(
  body: Buffer | string | undefined,
): { ok: true; value: AdmissionReview & { request: AdmissionRequest } } | { ok: false; errors: string[] } {
  const text = body === undefined ? '' : typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') return { ok: false, errors: ['empty body'] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, errors: [`malformed JSON: ${(err as Error).message}`] };
  }
  const errors: string[] = [];
  const review = parsed as Partial<AdmissionReview> | null;
  if (review === null || typeof review !== 'object' || Array.isArray(review)) {
    return { ok: false, errors: ['body is not an object'] };
  }
  if (review.kind !== 'AdmissionReview')
    errors.push(`kind must be AdmissionReview, got ${String(review.kind)}`);
  if (!VERSIONS.includes(review.apiVersion as string)) {
    errors.push(`apiVersion must be one of ${VERSIONS.join(', ')}, got ${String(review.apiVersion)}`);
  }
  const req = review.request;
  if (req === undefined || req === null || typeof req !== 'object') errors.push('request is missing');
  else if (typeof req.uid !== 'string' || req.uid === '') errors.push('request.uid is missing');
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: review as AdmissionReview & { request: AdmissionRequest } };
}

/** Builds the response part of a review from a decision. */
export function admissionResponse(uid: string, decision: AdmissionDecision): AdmissionResponse {
  const out: AdmissionResponse = { uid, allowed: decision.allowed };
  if (decision.allowed) {
    if (decision.patch && decision.patch.length > 0) {
      out.patch = Buffer.from(JSON.stringify(decision.patch)).toString('base64');
      out.patchType = 'JSONPatch';
    }
  } else {
    out.status = {
      status: 'Failure',
      message: decision.message,
      code: decision.code ?? 400,
      ...(decision.reason ? { reason: decision.reason } : {}),
    };
  }
  if (decision.warnings && decision.warnings.length > 0) out.warnings = [...decision.warnings];
  return out;
}

/** True for `application/json` with optional parameters such as charset. */
function isJson(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/**
 * Serves one AdmissionReview over any HTTP framework: 405 for non-POST, 415 for a non-JSON
 * content type, 400 for a body that is not an AdmissionReview, otherwise 200 with a review of
 * the request's apiVersion. A throwing reviewer denies the request; it never yields a 500.
 */
export async function handleAdmissionHttp(
  http: AdmissionHttpRequest,
  review: (req: AdmissionRequest) => AdmissionDecision | Promise<AdmissionDecision>,
): Promise<AdmissionHttpResult> {
  if (http.method.toUpperCase() !== 'POST') return { status: 405, body: { error: 'only POST is allowed' } };
  if (!isJson(http.contentType)) {
    return {
      status: 415,
      body: { error: `content type ${http.contentType ?? '(none)'} is not application/json` },
    };
  }
  const parsed = parseAdmissionReview(http.body);
  if (!parsed.ok) return { status: 400, body: { error: parsed.errors.join('; ') } };
  const { apiVersion, request } = parsed.value;
  let decision: AdmissionDecision;
  try {
    decision = await review(request);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    decision = { allowed: false, message: `internal error: ${message}`, code: 500, reason: 'InternalError' };
  }
  const body: AdmissionReview = {
    apiVersion,
    kind: 'AdmissionReview',
    response: admissionResponse(request.uid, decision),
  };
  return { status: 200, body };
}
