/**
 * How fast a network link really moves data: the link rate times the share you can use,
 * bounded per TCP stream by the window over the round trip and, when packets are lost,
 * by the Mathis model; several parallel streams add up to the link.
 *
 * Pure functions, no I/O. Rates are in bytes per second, times in seconds.
 */

/**
 * Mathis et al. (1997) constant for periodic loss with delayed ACKs off: sqrt(3/2).
 * @example
 * (1460 / 0.1) * (MATHIS_C / Math.sqrt(1e-4)); // one stream at 100 ms RTT and 0.01% loss: ≈ 1.79 MB/s
 */
export const MATHIS_C = Math.sqrt(3 / 2);

/**
 * Ethernet TCP maximum segment size (1500 MTU − 40 bytes of headers).
 * @example
 * tcpStreamCeiling(0.1, 1e-4, DEFAULT_TCP_WINDOW, DEFAULT_MSS);
 */
export const DEFAULT_MSS = 1460;

/**
 * Linux's default largest auto-tuned receive window (net.ipv4.tcp_rmem max, 6 MiB).
 * @example
 * DEFAULT_TCP_WINDOW / 0.15; // ≈ 41.9 MB/s: one default stream at 150 ms RTT
 */
export const DEFAULT_TCP_WINDOW = 6 * 2 ** 20;

/**
 * The inputs of {@link networkThroughput}.
 * @example
 * const n: NetworkModelInput = { bandwidth: 125e6, utilisation: 0.8, rtt: 0.15, streams: 8 };
 * networkThroughput(n).rate;
 */
export interface NetworkModelInput {
  /** Link rate in bytes per second (what the contract says). */
  bandwidth: number;
  /** Share of the link you can use for this transfer, 0–1. */
  utilisation: number;
  /** Round-trip time in seconds; without it no per-stream bound applies. */
  rtt?: number;
  /** Packet loss probability, 0–1; 0 or absent means no Mathis bound. */
  loss?: number;
  /** Parallel TCP streams (default 1). */
  streams?: number;
  /** Largest TCP window in bytes (default {@link DEFAULT_TCP_WINDOW}). */
  window?: number;
  /** Maximum segment size in bytes (default {@link DEFAULT_MSS}). */
  mss?: number;
}

/**
 * What limits a transfer.
 * @example
 * networkThroughput({ bandwidth: 1.25e9, utilisation: 1, rtt: 0.15 }).limit; // "window"
 */
export type NetworkLimit = "link" | "window" | "loss";

/**
 * The modelled throughput and what bounds it.
 * @example
 * const t: NetworkThroughput = networkThroughput({ bandwidth: 12.5e6, utilisation: 0.8 });
 * t.rate; // 10e6
 */
export interface NetworkThroughput {
  /** Bytes per second the transfer achieves. */
  rate: number;
  /** bandwidth × utilisation. */
  linkRate: number;
  /** One stream's ceiling (min of window/RTT and Mathis), Infinity without RTT. */
  perStream: number;
  /** Streams used. */
  streams: number;
  /** The binding limit. */
  limit: NetworkLimit;
  /** Streams needed to fill the usable link (1 when a single stream can). */
  streamsToFill: number;
}

/**
 * One TCP stream's ceiling: the window over the round trip, and with loss p the Mathis
 * bound MSS / RTT × C / √p.
 *
 * @param rtt round-trip time in seconds
 * @param loss packet loss probability (0 for none)
 * @param window largest window in bytes
 * @param mss segment size in bytes
 * @returns bytes per second and which bound binds
 * @example
 * tcpStreamCeiling(0.1, 0, 16 * 2 ** 20).rate;   // 167772160 (16 MiB / 100 ms)
 * tcpStreamCeiling(0.1, 1e-4, 64 * 2 ** 20).rate; // ≈ 1.79e6 (Mathis: 1460 / 0.1 × 1.22 / 0.01)
 */
export function tcpStreamCeiling(
  rtt: number,
  loss = 0,
  window = DEFAULT_TCP_WINDOW,
  mss = DEFAULT_MSS,
): { rate: number; limit: "window" | "loss" } {
  if (!(rtt > 0)) return { rate: Number.POSITIVE_INFINITY, limit: "window" };
  const byWindow = window / rtt;
  const byLoss = loss > 0 ? (mss / rtt) * (MATHIS_C / Math.sqrt(loss)) : Number.POSITIVE_INFINITY;
  return byLoss < byWindow ? { rate: byLoss, limit: "loss" } : { rate: byWindow, limit: "window" };
}

/**
 * The throughput a transfer gets: min(bandwidth × utilisation, streams × per-stream ceiling).
 *
 * @param n the link and TCP parameters
 * @returns the rate and what limits it
 * @example
 * networkThroughput({ bandwidth: 12.5e6, utilisation: 0.8 }).rate; // 10e6 bytes/s (100 Mbit/s at 80%)
 * networkThroughput({ bandwidth: 1.25e9, utilisation: 1, rtt: 0.15, loss: 1e-4, streams: 4 }).limit; // "loss"
 */
export function networkThroughput(n: NetworkModelInput): NetworkThroughput {
  const linkRate = n.bandwidth * n.utilisation;
  const streams = Math.max(1, Math.floor(n.streams ?? 1));
  const stream = tcpStreamCeiling(
    n.rtt ?? 0,
    n.loss ?? 0,
    n.window ?? DEFAULT_TCP_WINDOW,
    n.mss ?? DEFAULT_MSS,
  );
  const tcp = stream.rate * streams;
  const streamsToFill = Number.isFinite(stream.rate)
    ? Math.max(1, Math.ceil(linkRate / stream.rate - 1e-9))
    : 1;
  if (tcp < linkRate)
    return { rate: tcp, linkRate, perStream: stream.rate, streams, limit: stream.limit, streamsToFill };
  return { rate: linkRate, linkRate, perStream: stream.rate, streams, limit: "link", streamsToFill };
}

/**
 * Seconds to move `bytes` at `rate` bytes per second.
 *
 * @param bytes the amount
 * @param rate bytes per second (> 0)
 * @returns seconds (Infinity when rate is 0)
 * @example
 * transferSeconds(80e12, 10e6) / 86400; // 92.59… days: 80 TB over 100 Mbit/s at 80%
 */
export function transferSeconds(bytes: number, rate: number): number {
  if (bytes <= 0) return 0;
  return rate > 0 ? bytes / rate : Number.POSITIVE_INFINITY;
}
