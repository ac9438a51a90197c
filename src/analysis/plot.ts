/**
 * Plain SVG figures for the analysis: line plots with a ±1 std band (paper Fig. 4), heat maps
 * of the unmasking step (Fig. 3), and a labelled image grid (Fig. 10). Text uses the generic
 * `sans-serif` family, so any renderer with one font draws it.
 *
 * @module
 */

/** One line of a {@link lineChart}: points (x, mean, std). */
export interface Series {
  name: string;
  color: string;
  points: [number, number, number][];
}

/** Colors of the three schedulers in every figure. */
export const SCHEDULER_COLORS: Record<string, string> = {
  halton: "#1f6fd1",
  confidence: "#d1431f",
  random: "#3a9a3a",
};

const FONT = `font-family="sans-serif"`;

function escape(text: string): string {
  return text.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}

function format(value: number): string {
  return Math.abs(value) >= 100 || Number.isInteger(value)
    ? value.toFixed(0)
    : value.toPrecision(2);
}

/** About `count` round tick values covering [low, high]. */
export function ticks(low: number, high: number, count = 5): number[] {
  if (!(high > low)) return [low];
  const raw = (high - low) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const first = Math.ceil(low / step) * step;
  return Array.from(
    { length: Math.floor((high - first) / step + 1e-9) + 1 },
    (_, i) => Number((first + i * step).toPrecision(12)),
  );
}

/**
 * A line plot with one line per series and a shaded ±1 std band.
 *
 * @example
 * ```ts
 * import { lineChart } from "./plot.ts";
 * const svg = lineChart({
 *   title: "Entropy", xLabel: "step", yLabel: "nats",
 *   series: [{ name: "halton", color: "#1f6fd1", points: [[1, 2, 0.1], [2, 1.5, 0.2]] }],
 * });
 * svg.startsWith("<svg"); // true
 * ```
 */
export function lineChart(options: {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}): string {
  const width = 760, height = 420;
  const left = 70, right = 140, top = 58, bottom = 55;
  const plotW = width - left - right, plotH = height - top - bottom;
  const defined = options.series.flatMap((s) => s.points).filter(([, m]) => Number.isFinite(m));
  const xs = defined.map(([x]) => x);
  const lows = defined.map(([, m, s]) => m - (s || 0));
  const highs = defined.map(([, m, s]) => m + (s || 0));
  const xMin = Math.min(...xs), xMax = Math.max(...xs, xMin + 1);
  const yTicks = ticks(Math.min(0, ...lows), Math.max(...highs, 1e-9));
  const yMin = Math.min(yTicks[0], 0), yMax = Math.max(yTicks.at(-1)!, ...highs);
  const sx = (x: number) => left + ((x - xMin) / (xMax - xMin)) * plotW;
  const sy = (y: number) => top + plotH - ((y - yMin) / (yMax - yMin || 1)) * plotH;

  const parts: string[] = [
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="22" font-size="16" ${FONT}>${escape(options.title)}</text>`,
    `<text x="${left}" y="42" font-size="12" fill="#555" ${FONT}>${
      escape(options.subtitle ?? "")
    }</text>`,
  ];
  for (const y of yTicks) {
    parts.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${sy(y)}" y2="${sy(y)}" stroke="#e5e5e5"/>`,
      `<text x="${left - 8}" y="${sy(y) + 4}" text-anchor="end" font-size="12" ${FONT}>${
        format(y)
      }</text>`,
    );
  }
  for (const x of ticks(xMin, xMax, 8)) {
    parts.push(
      `<line x1="${sx(x)}" x2="${sx(x)}" y1="${top + plotH}" y2="${
        top + plotH + 5
      }" stroke="#333"/>`,
      `<text x="${sx(x)}" y="${top + plotH + 19}" text-anchor="middle" font-size="12" ${FONT}>${
        format(x)
      }</text>`,
    );
  }
  parts.push(
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${left + plotW / 2}" y="${height - 12}" text-anchor="middle" font-size="13" ${FONT}>${
      escape(options.xLabel)
    }</text>`,
    `<text transform="translate(18 ${
      top + plotH / 2
    }) rotate(-90)" text-anchor="middle" font-size="13" ${FONT}>${escape(options.yLabel)}</text>`,
  );
  for (const series of options.series) {
    // Undefined points (NaN) split a line into runs.
    const runs: [number, number, number][][] = [[]];
    for (const point of series.points) {
      if (Number.isFinite(point[1])) runs.at(-1)!.push(point);
      else if (runs.at(-1)!.length) runs.push([]);
    }
    for (const run of runs.filter((r) => r.length > 0)) {
      const upper = run.map(([x, m, s]) => `${sx(x)},${sy(m + s)}`);
      const lower = run.map(([x, m, s]) => `${sx(x)},${sy(m - s)}`).reverse();
      parts.push(
        `<polygon points="${
          [...upper, ...lower].join(" ")
        }" fill="${series.color}" fill-opacity="0.15"/>`,
        `<polyline points="${run.map(([x, m]) => `${sx(x)},${sy(m)}`).join(" ")}" fill="none" ` +
          `stroke="${series.color}" stroke-width="2"/>`,
      );
    }
  }
  // The legend sits right of the plot, clear of the lines.
  options.series.forEach((series, i) => {
    const x = left + plotW + 14, y = top + 12 + i * 22;
    parts.push(
      `<line x1="${x}" x2="${
        x + 24
      }" y1="${y}" y2="${y}" stroke="${series.color}" stroke-width="3"/>`,
      `<text x="${x + 30}" y="${y + 4}" font-size="13" ${FONT}>${escape(series.name)}</text>`,
    );
  });
  const noteY = top + 20 + options.series.length * 22;
  parts.push(
    `<text x="${
      left + plotW + 14
    }" y="${noteY}" font-size="11" fill="#555" ${FONT}>band: ±1 std</text>`,
    `<text x="${left + plotW + 14}" y="${
      noteY + 14
    }" font-size="11" fill="#555" ${FONT}>over samples</text>`,
  );
  return svgDocument(width, height, parts);
}

// Viridis at five stops (dark purple → yellow), interpolated linearly.
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

/** A color for t in [0, 1] on the viridis scale. */
export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const [r, g, b] = VIRIDIS[i].map((c, k) => Math.round(c + f * (VIRIDIS[i + 1][k] - c)));
  return `rgb(${r},${g},${b})`;
}

/**
 * Heat maps of an n×n grid side by side, one color scale from step 1 (dark) to `max`.
 *
 * @example
 * ```ts
 * import { heatmaps } from "./plot.ts";
 * heatmaps("halton", 2, 4, [{ label: "mean", values: [1, 2, 3, 4] }]).includes("<rect"); // true
 * ```
 */
export function heatmaps(
  title: string,
  grid: number,
  max: number,
  panels: { label: string; values: ArrayLike<number> }[],
): string {
  const cell = Math.max(4, Math.floor(256 / grid));
  const side = cell * grid;
  const gap = 30, top = 48, left = 20;
  const width = left + panels.length * (side + gap) + 70;
  const height = top + side + 40;
  const parts = [
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="22" font-size="15" ${FONT}>${escape(title)}</text>`,
  ];
  panels.forEach((panel, i) => {
    const x0 = left + i * (side + gap);
    parts.push(
      `<text x="${x0}" y="${top - 8}" font-size="12" ${FONT}>${escape(panel.label)}</text>`,
    );
    for (let p = 0; p < grid * grid; p++) {
      const x = x0 + (p % grid) * cell, y = top + Math.floor(p / grid) * cell;
      const t = max > 1 ? (panel.values[p] - 1) / (max - 1) : 0;
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${viridis(t)}"/>`);
    }
  });
  // Color bar: step 1 at the top, the last step at the bottom.
  const barX = left + panels.length * (side + gap);
  for (let i = 0; i < 32; i++) {
    parts.push(
      `<rect x="${barX}" y="${top + (i * side) / 32}" width="14" height="${side / 32 + 0.5}" ` +
        `fill="${viridis(i / 31)}"/>`,
    );
  }
  parts.push(
    `<text x="${barX + 18}" y="${top + 10}" font-size="11" ${FONT}>step 1</text>`,
    `<text x="${barX + 18}" y="${top + side}" font-size="11" ${FONT}>step ${max}</text>`,
    `<text x="${left}" y="${height - 12}" font-size="11" ${FONT}>` +
      `color = step at which the position was unmasked</text>`,
  );
  return svgDocument(width, height, parts);
}

/**
 * A PNG picture (shown `scale` times its size) with a label on each row and column.
 *
 * @example
 * ```ts
 * import { encodePng } from "../image.ts";
 * import { labelledGrid } from "./plot.ts";
 * const png = encodePng({ width: 64, height: 64, channels: 1, pixels: new Uint8Array(4096) });
 * labelledGrid(png, 64, 64, ["halton", "random"], ["step 2", "step 32"], "Steps");
 * // '<svg xmlns="http://www.w3.org/2000/svg" width="288" height="192" …'
 * ```
 */
export function labelledGrid(
  png: Uint8Array,
  width: number,
  height: number,
  rows: string[],
  columns: string[],
  title: string,
  scale = 2,
): string {
  const left = 150, top = 54;
  width *= scale;
  height *= scale;
  const rowH = height / rows.length, colW = width / columns.length;
  const data = btoa(Array.from(png, (b) => String.fromCharCode(b)).join(""));
  const parts = [
    `<rect width="${left + width + 10}" height="${top + height + 10}" fill="white"/>`,
    `<text x="10" y="22" font-size="15" ${FONT}>${escape(title)}</text>`,
    `<image x="${left}" y="${top}" width="${width}" height="${height}" href="data:image/png;base64,${data}"/>`,
    ...columns.map((c, i) =>
      `<text x="${left + (i + 0.5) * colW}" y="${
        top - 8
      }" text-anchor="middle" font-size="11" ${FONT}>${escape(c)}</text>`
    ),
    ...rows.map((r, i) =>
      `<text x="${left - 8}" y="${
        top + (i + 0.5) * rowH + 4
      }" text-anchor="end" font-size="12" ${FONT}>${escape(r)}</text>`
    ),
  ];
  return svgDocument(left + width + 10, top + height + 10, parts);
}

function svgDocument(width: number, height: number, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}">\n${parts.join("\n")}\n</svg>\n`;
}
