// A minimal DER reader returning byte ranges (no copies, no tree): CSR parsing is on Citadel's hot
// path and node-forge's parser converts to binary strings and builds a tree (measured: about half of
// parseCsr's time); signature checks need the exact signed bytes anyway.

export interface Tlv {
  tag: number;
  /** The whole element (header and content). */
  raw: Buffer;
  content: Buffer;
}

/** Reads one DER element at `offset` of `buf`; throws on truncation or non-DER lengths. */
export function readTlv(buf: Buffer, offset: number): Tlv {
  if (offset + 2 > buf.length) throw new Error('truncated DER');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new Error('multi-byte DER tags are not supported');
  let len = buf[offset + 1]!;
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3) throw new Error('unsupported DER length');
    if (offset + 2 + n > buf.length) throw new Error('truncated DER');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i]!;
    if (len < 0x80 || (n > 1 && buf[offset + 2] === 0)) throw new Error('non-minimal DER length');
    header += n;
  }
  const end = offset + header + len;
  if (end > buf.length) throw new Error('truncated DER');
  return { tag, raw: buf.subarray(offset, end), content: buf.subarray(offset + header, end) };
}

/** The elements inside a constructed element's content. */
export function readChildren(content: Buffer, max = 64): Tlv[] {
  const out: Tlv[] = [];
  let at = 0;
  while (at < content.length) {
    if (out.length >= max) throw new Error('too many DER elements');
    const t = readTlv(content, at);
    out.push(t);
    at += t.raw.length;
  }
  return out;
}
