/** The `/me` router: the per-user token check, then each contract wired to its handler. */
import { createActorTokenVerifier } from "../../../security/actor-tokens.js";
import type { SecurityEventHook } from "../../../security/events.js";
import { requireActorToken } from "../../middleware/require-actor-token.js";
import { createRouter } from "../../router.js";
import { createMeHandlers, type MeDeps } from "./me.handlers.js";
import * as routes from "./me.routes.js";

export interface MeRouterDeps extends MeDeps {
  /** `ACTOR_TOKEN_SECRET`; undefined: every `/me` request is 401. */
  actorTokenSecret: string | undefined;
  trustProxy: number;
  onSecurityEvent?: SecurityEventHook | undefined;
}

export function createMeRouter({
  actorTokenSecret,
  trustProxy,
  onSecurityEvent,
  ...deps
}: MeRouterDeps) {
  const handlers = createMeHandlers(deps);
  const verifier = actorTokenSecret ? createActorTokenVerifier(actorTokenSecret) : undefined;
  const router = createRouter();
  router.use("/me/*", requireActorToken({ verifier, trustProxy, onSecurityEvent }));
  router.openAPIRegistry.registerComponent("securitySchemes", routes.ACTOR_TOKEN_SCHEME, {
    type: "http",
    scheme: "bearer",
    description:
      "A per-user token (`<userId>.<HMAC>`, keyed by ACTOR_TOKEN_SECRET) naming the user the " +
      "request acts for; required by the /me routes",
  });
  return router.openapi(routes.listAccounts, handlers.listAccounts);
}
