import type { XdsEchoClient } from './mesh-client.js';

/** The bookinfo workloads of deploy/local/config: each runs a real gRPC Echo server on its pod IP. */
export const LOCAL_WORKLOADS = [
  { name: 'productpage-v1', ip: '127.0.1.1' },
  { name: 'details-v1', ip: '127.0.1.2' },
  { name: 'reviews-v1', ip: '127.0.1.3' },
  { name: 'reviews-v2', ip: '127.0.1.4' },
  { name: 'reviews-v3', ip: '127.0.1.5' },
  { name: 'ratings-v1', ip: '127.0.1.6' },
];
export const LOCAL_PORT = 9080;

/**
 * Calls reviews every `intervalMs` and prints the split every `reportEvery` calls, plus one call as
 * user jason (header match): edit deploy/local/config/bookinfo-networking.yaml and watch it change.
 */
export function runSplitDemo(
  client: XdsEchoClient,
  print: (line: string) => void,
  intervalMs = 100,
  reportEvery = 50,
): () => void {
  let stopped = false;
  const label = (r: Awaited<ReturnType<XdsEchoClient['call']>>) => (r.ok ? r.server : `error ${r.codeName}`);
  const loop = async () => {
    while (!stopped) {
      const tally = new Map<string, number>();
      for (let i = 0; i < reportEvery && !stopped; i++) {
        const who = label(await client.call());
        tally.set(who, (tally.get(who) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, intervalMs));
      }
      if (stopped) break;
      const jason = label(await client.call({ 'end-user': 'jason' }));
      const split = [...tally.entries()]
        .sort()
        .map(([k, v]) => `${k} ${Math.round((100 * v) / reportEvery)}%`)
        .join(', ');
      print(`reviews split over the last ${reportEvery} calls: ${split}; end-user jason -> ${jason}`);
    }
  };
  void loop();
  return () => {
    stopped = true;
  };
}
