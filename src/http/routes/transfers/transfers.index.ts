/** The transfers router: each contract in `transfers.routes.ts` wired to its handler. */
import { createRouter } from "../../router.js";
import { createTransfersHandlers, type TransfersDeps } from "./transfers.handlers.js";
import * as routes from "./transfers.routes.js";

export function createTransfersRouter(deps: TransfersDeps) {
  const handlers = createTransfersHandlers(deps);
  return createRouter()
    .openapi(routes.create, handlers.create)
    .openapi(routes.getOne, handlers.getOne);
}
