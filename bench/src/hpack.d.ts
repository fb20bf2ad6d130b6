// The part of hpack.js (RFC 7541 header compression) the load client's HTTP/2 transport uses: decoding.
declare module 'hpack.js' {
  interface HpackHeader {
    name: string;
    value: string;
  }
  interface HpackDecompressor {
    write(block: Buffer): boolean;
    execute(): void;
    read(): HpackHeader | null;
    on(event: 'error', listener: (e: Error) => void): this;
  }
  const hpack: { decompressor: { create(options: { table: { maxSize: number } }): HpackDecompressor } };
  export default hpack;
}
