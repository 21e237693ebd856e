/**
 * `/docs`: the interactive API reference (Swagger UI rendering the OpenAPI document), served
 * entirely by the app — no CDN, so it renders offline — under a Content-Security-Policy that
 * allows nothing but the app's own origin. Not an API route, so not in the OpenAPI document.
 */
import { Hono } from "hono";
import { etag, RETAINED_304_HEADERS } from "hono/etag";
import { html } from "hono/html";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../../router.js";
import { INIT_SCRIPT, initScript, packageAsset, toAsset } from "./docs.assets.js";

export interface DocsOptions {
  /** Where the page loads the OpenAPI document from. */
  specUrl: string;
  /** The page's title. */
  title: string;
}

const ASSETS = "/docs/assets";

/**
 * Every resource from the app itself: scripts only as files (no inline script, no eval), the
 * spec and "Try it out" requests to the same origin. `data:` images are Swagger UI's icons,
 * which its stylesheet embeds as data URIs; an image can't run code.
 */
const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", "data:"],
  connectSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
};

export function createDocsRouter({ specUrl, title }: DocsOptions) {
  const init = toAsset(
    new TextEncoder().encode(initScript(specUrl)),
    "text/javascript; charset=utf-8",
  );
  const page = html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title}</title>
    <link rel="icon" type="image/png" href="${ASSETS}/favicon-32x32.png" />
    <link rel="stylesheet" href="${ASSETS}/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${ASSETS}/swagger-ui-bundle.js"></script>
    <script src="${ASSETS}/${INIT_SCRIPT}"></script>
  </body>
</html>
`;
  const security = secureHeaders({
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    // HSTS binds the whole host (and with includeSubDomains, its subdomains) to HTTPS for months:
    // a decision for whoever terminates TLS, not for one page of the app.
    strictTransportSecurity: false,
  });

  return (
    new Hono<AppEnv>()
      .use("/docs", security)
      .use(`${ASSETS}/*`, security)
      // The assets carry a content hash as ETag and `no-cache`: a reload revalidates them (304)
      // instead of downloading the 1.5 MB bundle again, and an upgrade is picked up at once.
      .use(`${ASSETS}/*`, etag({ retainedHeaders: [...RETAINED_304_HEADERS, "x-request-id"] }))
      .get("/docs", (c) => c.html(page))
      .get(`${ASSETS}/:name`, async (c) => {
        const name = c.req.param("name");
        const asset = name === INIT_SCRIPT ? init : await packageAsset(name);
        if (!asset) return c.notFound();
        return c.body(asset.body, 200, {
          "Content-Type": asset.contentType,
          "Cache-Control": "no-cache",
          ETag: asset.etag,
        });
      })
  );
}
