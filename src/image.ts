/**
 * Decoder tensors → pictures: 8-bit gray or RGB pixels, PNG files (deterministic: same
 * pixels and text, same bytes), a tiled grid of a batch, and an animated GIF of the
 * intermediate steps (paper Appendix D). Encoders come from imagescript (pure JS + WASM,
 * so they run on the edge too).
 *
 * @module
 */

import pngCodec from "imagescript/png/node.js";
import type { ImageBatch } from "./backend/onnx.ts";

/** 8-bit pixels, interleaved, row-major: `channels` bytes per pixel (1 = gray, 3 = RGB). */
export interface Picture {
  width: number;
  height: number;
  channels: 1 | 3;
  pixels: Uint8Array;
}

const png = pngCodec as {
  decode(bytes: Uint8Array): { width: number; height: number; pixels: Uint8Array };
  encode(
    data: Uint8Array,
    options: {
      width: number;
      height: number;
      channels: number;
      level: number;
      text?: Record<string, string>;
    },
  ): Uint8Array;
};

/**
 * One picture per batch entry: v ∈ [−1, 1] → round((v + 1)·127.5), clamped.
 *
 * @example
 * ```ts
 * import { toPictures } from "./image.ts";
 * const [picture] = toPictures({ data: new Float32Array(4), batch: 1, channels: 1, height: 2, width: 2 });
 * picture.pixels[0]; // 128 (0 maps to mid-gray)
 * ```
 */
export function toPictures({ data, batch, channels, height, width }: ImageBatch): Picture[] {
  if (channels !== 1 && channels !== 3) {
    throw new RangeError(`images must have 1 or 3 channels, got ${channels}`);
  }
  const plane = height * width;
  return Array.from({ length: batch }, (_, b) => {
    const pixels = new Uint8Array(plane * channels);
    const base = b * channels * plane;
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < plane; i++) {
        const v = data[base + c * plane + i];
        pixels[i * channels + c] = Math.round((Math.min(1, Math.max(-1, v)) + 1) * 127.5);
      }
    }
    return { width, height, channels, pixels };
  });
}

/**
 * Encodes a picture as an 8-bit gray or RGB PNG with optional text entries (tEXt chunks,
 * e.g. the settings that made it). No timestamp is written, so equal input gives equal bytes.
 *
 * @example
 * ```ts
 * import { encodePng } from "./image.ts";
 * const bytes = encodePng({ width: 1, height: 1, channels: 1, pixels: Uint8Array.of(255) });
 * bytes[1]; // 0x50 ('P' of the PNG signature)
 * ```
 */
export function encodePng(picture: Picture, text?: Record<string, string>): Uint8Array {
  const { width, height, channels, pixels } = picture;
  return png.encode(pixels, { width, height, channels, level: 6, text });
}

/**
 * Decodes a PNG to RGBA pixels (4 bytes per pixel, whatever the file's channels).
 *
 * @example
 * ```ts
 * import { decodePng, encodePng } from "./image.ts";
 * const bytes = encodePng({ width: 1, height: 1, channels: 1, pixels: Uint8Array.of(7) });
 * decodePng(bytes).pixels; // Uint8Array [7, 7, 7, 255]
 * ```
 */
export function decodePng(
  bytes: Uint8Array,
): { width: number; height: number; pixels: Uint8Array } {
  return png.decode(bytes);
}

/**
 * Tiles pictures of one size into a grid, row by row, with a white gap.
 *
 * @example
 * ```ts
 * import { tile } from "./image.ts";
 * const cell = { width: 8, height: 8, channels: 1 as const, pixels: new Uint8Array(64) };
 * const grid = tile([cell, cell, cell]);
 * [grid.width, grid.height]; // [18, 18]
 * ```
 */
export function tile(pictures: Picture[], gap = 2, columns?: number): Picture {
  const cols = columns ?? Math.ceil(Math.sqrt(pictures.length));
  const rows = Math.ceil(pictures.length / cols);
  const { width, height, channels } = pictures[0];
  const gridWidth = cols * width + (cols - 1) * gap;
  const gridHeight = rows * height + (rows - 1) * gap;
  const pixels = new Uint8Array(gridWidth * gridHeight * channels).fill(255);
  pictures.forEach((picture, i) => {
    const left = (i % cols) * (width + gap);
    const top = Math.floor(i / cols) * (height + gap);
    for (let y = 0; y < height; y++) {
      const row = picture.pixels.subarray(y * width * channels, (y + 1) * width * channels);
      pixels.set(row, ((top + y) * gridWidth + left) * channels);
    }
  });
  return { width: gridWidth, height: gridHeight, channels, pixels };
}

/**
 * Paints the cells of still-masked tokens gray (in place), so a preview shows what is
 * known so far. `masked[p]` is 1 for a masked token at flat position p of the n×n grid.
 *
 * @example
 * ```ts
 * import { shadeMasked } from "./image.ts";
 * const picture = { width: 4, height: 4, channels: 1 as const, pixels: new Uint8Array(16) };
 * shadeMasked(picture, Uint8Array.of(1, 0, 0, 0), 2).pixels[0]; // 96
 * ```
 */
export function shadeMasked(picture: Picture, masked: ArrayLike<number>, grid: number): Picture {
  const { width, height, channels, pixels } = picture;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const position = Math.floor(y * grid / height) * grid + Math.floor(x * grid / width);
      if (masked[position]) {
        pixels.fill(96, (y * width + x) * channels, (y * width + x + 1) * channels);
      }
    }
  }
  return picture;
}

/**
 * An animated GIF: each picture shown `delay` ms, the last one held 2 s, looping.
 *
 * @example
 * ```ts
 * import { encodeGif } from "./image.ts";
 * const frame = { width: 4, height: 4, channels: 1 as const, pixels: new Uint8Array(16) };
 * const gif = await encodeGif([frame, frame]);
 * ```
 */
export async function encodeGif(pictures: Picture[], delay = 150): Promise<Uint8Array> {
  // imagescript's main module loads native codecs (FFI): only GIF needs it, so load it here
  // and keep PNG paths (the server, the edge entry) free of native code. The name is a
  // variable so that bundlers (the web page's bundle) leave this import alone.
  const main = "imagescript";
  const { Frame, GIF }: typeof import("imagescript") = await import(main);
  const last = pictures.length - 1;
  const frames = pictures.map(({ width, height, channels, pixels }, i) => {
    const frame = new Frame(width, height, i === last ? 2000 : delay);
    for (let p = 0; p < width * height; p++) {
      for (let c = 0; c < 3; c++) {
        frame.bitmap[4 * p + c] = pixels[p * channels + (channels === 1 ? 0 : c)];
      }
      frame.bitmap[4 * p + 3] = 255;
    }
    return frame;
  });
  return new GIF(frames, -1).encode(90);
}
