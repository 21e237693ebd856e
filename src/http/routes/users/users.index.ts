/** The users router: each contract in `users.routes.ts` wired to its handler. */
import { createRouter } from "../../router.js";
import { createUsersHandlers, type UsersDeps } from "./users.handlers.js";
import * as routes from "./users.routes.js";

export function createUsersRouter(deps: UsersDeps) {
  const handlers = createUsersHandlers(deps);
  return createRouter()
    .openapi(routes.create, handlers.create)
    .openapi(routes.list, handlers.list)
    .openapi(routes.bulkCreate, handlers.bulkCreate)
    .openapi(routes.getOne, handlers.getOne)
    .openapi(routes.update, handlers.update)
    .openapi(routes.remove, handlers.remove);
}
