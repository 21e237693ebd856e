/** The accounts router: each contract in `accounts.routes.ts` wired to its handler. */
import { createRouter } from "../../router.js";
import { type AccountsDeps, createAccountsHandlers } from "./accounts.handlers.js";
import * as routes from "./accounts.routes.js";

export function createAccountsRouter(deps: AccountsDeps) {
  const handlers = createAccountsHandlers(deps);
  return createRouter()
    .openapi(routes.create, handlers.create)
    .openapi(routes.getOne, handlers.getOne)
    .openapi(routes.listOfUser, handlers.listOfUser)
    .openapi(routes.listTransfers, handlers.listTransfers);
}
