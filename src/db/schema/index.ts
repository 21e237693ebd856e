export * from "./accounts.js";
export * from "./audit.js";
export * from "./transfers.js";
export * from "./users.js";
