-- Down migration for 0000_init.sql: drops the three tables, dependants first. Everything the
-- template stores is lost, so this is not lossless; it exists for development and tests.
-- The indexes, checks and foreign keys go with their tables.
DROP TABLE "transfers";--> statement-breakpoint
DROP TABLE "accounts";--> statement-breakpoint
DROP TABLE "users";
