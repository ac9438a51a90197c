/**
 * The server's counters in the Prometheus text format (version 0.0.4), written by hand:
 * a handful of series does not need a client library.
 *
 * @module
 */

/** Upper bounds (seconds) of the generation latency histogram's buckets. */
export const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] as const;

/** Live values read when the metrics are rendered. */
export interface Gauges {
  queued: () => number;
  inFlight: () => number;
}

/**
 * Requests by route and status, generation latency and token throughput.
 *
 * @example
 * ```ts
 * import { Metrics } from "./metrics.ts";
 * const metrics = new Metrics({ queued: () => 0, inFlight: () => 0 });
 * metrics.countRequest("/v1/generate", 200);
 * metrics.observeGeneration(0.8, 256);
 * metrics.render().includes('maskgit_http_requests_total{route="/v1/generate",status="200"} 1');
 * // true
 * ```
 */
export class Metrics {
  readonly #requests = new Map<string, number>();
  readonly #buckets = LATENCY_BUCKETS.map(() => 0);
  #count = 0;
  #seconds = 0;
  #tokens = 0;
  #cancelled = 0;

  constructor(readonly gauges: Gauges) {}

  /** Counts one answered request. */
  countRequest(route: string, status: number): void {
    const key = `route="${escapeLabel(route)}",status="${status}"`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
  }

  /** Records a finished generation: its wall time and the tokens it sampled. */
  observeGeneration(seconds: number, tokens: number): void {
    this.#count++;
    this.#seconds += seconds;
    this.#tokens += tokens;
    LATENCY_BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) this.#buckets[i]++;
    });
  }

  /** Counts a generation stopped early (client gone, or timed out). */
  countCancelled(): void {
    this.#cancelled++;
  }

  /** Mean seconds per finished generation (1 before the first one), for Retry-After hints. */
  get meanSeconds(): number {
    return this.#count === 0 ? 1 : this.#seconds / this.#count;
  }

  /** The exposition text served at `/metrics`. */
  render(): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: string[]) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
    metric(
      "maskgit_http_requests_total",
      "counter",
      "HTTP requests answered, by route and status.",
      [...this.#requests].map(([labels, n]) => `maskgit_http_requests_total{${labels}} ${n}`),
    );
    metric("maskgit_queue_depth", "gauge", "Generations waiting for a slot.", [
      `maskgit_queue_depth ${this.gauges.queued()}`,
    ]);
    metric("maskgit_in_flight", "gauge", "Generations running now.", [
      `maskgit_in_flight ${this.gauges.inFlight()}`,
    ]);
    metric("maskgit_generation_seconds", "histogram", "Wall time of finished generations.", [
      ...LATENCY_BUCKETS.map((bound, i) =>
        `maskgit_generation_seconds_bucket{le="${bound}"} ${this.#buckets[i]}`
      ),
      `maskgit_generation_seconds_bucket{le="+Inf"} ${this.#count}`,
      `maskgit_generation_seconds_sum ${this.#seconds}`,
      `maskgit_generation_seconds_count ${this.#count}`,
    ]);
    metric("maskgit_tokens_total", "counter", "Tokens sampled by finished generations.", [
      `maskgit_tokens_total ${this.#tokens}`,
    ]);
    metric(
      "maskgit_tokens_per_second",
      "gauge",
      "Tokens sampled per second of generation wall time, over all finished generations.",
      [`maskgit_tokens_per_second ${this.#seconds > 0 ? this.#tokens / this.#seconds : 0}`],
    );
    metric("maskgit_generations_cancelled_total", "counter", "Generations stopped early.", [
      `maskgit_generations_cancelled_total ${this.#cancelled}`,
    ]);
    metric("process_resident_memory_bytes", "gauge", "Resident memory of the process.", [
      `process_resident_memory_bytes ${Deno.memoryUsage().rss}`,
    ]);
    return lines.join("\n") + "\n";
  }
}

function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}
