/**
 * The files of the `/docs` page, served by the app itself so that the page works offline and
 * under a `'self'`-only Content-Security-Policy: Swagger UI's stylesheet, bundle and icons from
 * the installed `swagger-ui-dist` package, and the page's own init script.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export interface DocsAsset {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  /** Strong validator, so browsers revalidate (`no-cache`) and get a 304 after the first load. */
  etag: string;
}

/** The only files served from the package (its folder also holds a demo page and source maps). */
const PACKAGE_FILES: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

/** The name under which `initScript` is served next to the package's files. */
export const INIT_SCRIPT = "init.js";

// Resolved like an import, so it works from src/ (tsx, vitest) and from the compiled dist/.
const packageDir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const loaded = new Map<string, Promise<DocsAsset>>();

/**
 * Swagger UI's start-up, in a file of its own: an inline script would need `'unsafe-inline'`
 * (or a nonce) in the page's CSP. `validatorUrl: null` keeps Swagger UI from sending the
 * document to validator.swagger.io.
 */
export function initScript(specUrl: string) {
  return `window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(specUrl)},
  dom_id: "#swagger-ui",
  validatorUrl: null,
});
`;
}

/**
 * A package file by name, read once and kept in memory (the bundle is ~1.5 MB), or undefined
 * for a name that is not served. A failed read is not kept, so the next request tries again.
 */
export function packageAsset(name: string): Promise<DocsAsset> | undefined {
  const contentType = PACKAGE_FILES[name];
  if (contentType === undefined) return undefined;
  let asset = loaded.get(name);
  if (!asset) {
    // Copied once into a `Uint8Array<ArrayBuffer>`, what a response body takes (a Buffer's type
    // also admits a SharedArrayBuffer).
    asset = readFile(join(packageDir, name)).then((file) =>
      toAsset(new Uint8Array(file), contentType),
    );
    asset.catch(() => loaded.delete(name));
    loaded.set(name, asset);
  }
  return asset;
}

/** An asset with its ETag: a hash of the content, so it changes exactly when the file does. */
export function toAsset(body: Uint8Array<ArrayBuffer>, contentType: string): DocsAsset {
  return { body, contentType, etag: `"${createHash("sha256").update(body).digest("base64url")}"` };
}
