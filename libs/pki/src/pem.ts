/** One PEM block: `-----BEGIN <type>-----` base64 `-----END <type>-----`. */
export interface PemBlock {
  type: string;
  der: Buffer;
}

/** Encodes DER as PEM with 64-column lines and a trailing newline. */
export function pemEncode(type: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${type}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${type}-----\n`;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block in `text`, in order (text outside blocks is ignored). */
export function pemDecodeAll(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    out.push({ type: m[1]!, der: Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64') });
  }
  return out;
}

/** The certificates of a PEM bundle, each re-encoded as its own PEM string. */
export function splitCertificates(text: string): string[] {
  return pemDecodeAll(text)
    .filter((b) => b.type === 'CERTIFICATE')
    .map((b) => pemEncode('CERTIFICATE', b.der));
}
