/**
 * SVG → PNG with resvg (its WASM build, so no native code), drawing text with the first
 * system font found from a short list.
 *
 * @module
 */

import { initWasm, Resvg } from "@resvg/resvg-wasm";

const FONTS: [string, string][] = [
  ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVu Sans"],
  ["/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf", "Liberation Sans"],
  ["/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "Liberation Sans"],
  ["/usr/share/fonts/truetype/freefont/FreeSans.ttf", "FreeSans"],
];

let ready: Promise<{ font?: Uint8Array; family: string }> | undefined;

async function setUp() {
  await initWasm(
    Deno.readFile(new URL("../../node_modules/@resvg/resvg-wasm/index_bg.wasm", import.meta.url)),
  );
  for (const [path, family] of FONTS) {
    const font = await Deno.readFile(path).catch(() => undefined);
    if (font) return { font, family };
  }
  return { family: "sans-serif" };
}

/**
 * Renders an SVG document to PNG bytes. `hasFont` is false when no font was found: the
 * picture is drawn, its text is not (install fonts-dejavu-core).
 *
 * @example
 * ```ts
 * import { svgToPng } from "./raster.ts";
 * const { png } = await svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>');
 * png.length > 0; // true
 * ```
 */
export async function svgToPng(svg: string): Promise<{ png: Uint8Array; hasFont: boolean }> {
  ready ??= setUp();
  const { font, family } = await ready;
  const renderer = new Resvg(svg, {
    font: {
      fontBuffers: font ? [font] : [],
      loadSystemFonts: false,
      defaultFontFamily: family,
      sansSerifFamily: family,
    },
  });
  return { png: renderer.render().asPng(), hasFont: font !== undefined };
}
