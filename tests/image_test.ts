import { GIF } from "imagescript";
import { decodePng, encodeGif, encodePng, shadeMasked, tile, toPictures } from "../src/image.ts";
import { assert, assertEquals } from "./assert.ts";

Deno.test("decoder values map to 8-bit pixels, channels interleaved, out-of-range clamped", () => {
  // batch 1, 3 channels, 1×2 pixels: planes R = [-1, 1], G = [0, 2], B = [-3, 0.5]
  const data = Float32Array.of(-1, 1, 0, 2, -3, 0.5);
  const [picture] = toPictures({ data, batch: 1, channels: 3, height: 1, width: 2 });
  assertEquals(Array.from(picture.pixels), [0, 128, 0, 255, 255, 191]);
  const gray = toPictures({
    data: Float32Array.of(-1, 1),
    batch: 2,
    channels: 1,
    height: 1,
    width: 1,
  });
  assertEquals(gray.map((p) => p.pixels[0]), [0, 255]);
});

Deno.test("PNG round-trips gray and RGB pixels and is byte-stable", () => {
  for (const channels of [1, 3] as const) {
    const pixels = Uint8Array.from({ length: 5 * 3 * channels }, (_, i) => (i * 37) % 256);
    const picture = { width: 5, height: 3, channels, pixels };
    const bytes = encodePng(picture, { Comment: "hello" });
    assertEquals(bytes, encodePng(picture, { Comment: "hello" }));
    const decoded = decodePng(bytes);
    assertEquals([decoded.width, decoded.height], [5, 3]);
    // The decoder expands to RGBA; compare the first channel(s).
    for (let p = 0; p < 15; p++) {
      for (let c = 0; c < 3; c++) {
        assertEquals(decoded.pixels[4 * p + c], pixels[p * channels + (channels === 1 ? 0 : c)]);
      }
    }
    assert(new TextDecoder().decode(bytes).includes("Comment\0hello"));
  }
});

Deno.test("tile lays pictures row by row with white gaps; shade grays masked cells", () => {
  const cell = (v: number) => ({
    width: 2,
    height: 2,
    channels: 1 as const,
    pixels: new Uint8Array(4).fill(v),
  });
  const grid = tile([cell(10), cell(20), cell(30)], 1);
  assertEquals([grid.width, grid.height], [5, 5]);
  assertEquals(Array.from(grid.pixels.subarray(0, 5)), [10, 10, 255, 20, 20]);
  assertEquals(Array.from(grid.pixels.subarray(15, 20)), [30, 30, 255, 255, 255]);
  const shaded = shadeMasked({ width: 4, height: 4, channels: 1, pixels: new Uint8Array(16) }, [
    0,
    1,
    0,
    0,
  ], 2);
  assertEquals(Array.from(shaded.pixels.subarray(0, 4)), [0, 0, 96, 96]);
  assertEquals(Array.from(shaded.pixels.subarray(8, 12)), [0, 0, 0, 0]);
});

Deno.test("the step GIF has one frame per picture", async () => {
  const frame = (v: number) => ({
    width: 3,
    height: 3,
    channels: 3 as const,
    pixels: new Uint8Array(27).fill(v),
  });
  const gif = await GIF.decode(await encodeGif([frame(0), frame(128), frame(255)]));
  assertEquals(gif.length, 3);
  assertEquals([gif.width, gif.height], [3, 3]);
});
