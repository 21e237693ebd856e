import { defineConfig } from "drizzle-kit";

// drizzle-kit only generates and checks migrations here; applying them is `npm run db:migrate`
// (src/cli), so no credentials are needed in this file.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema/index.ts",
  out: "./drizzle",
  strict: true,
  verbose: true,
});
