/**
 * The yardstick for bench/http/throughput.ts: the least code that serves GET /users/:id from
 * PostgreSQL with Hono and postgres.js — no validation, logging, request ids or error mapping.
 */
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import postgres from "postgres";

// biome-ignore lint/style/noProcessEnv: bench harness, configured by its parent process
const { DATABASE_URL, PORT, DATABASE_POOL_MAX } = process.env;
const sql = postgres(DATABASE_URL ?? "", { max: Number(DATABASE_POOL_MAX ?? 10) });
const app = new Hono();

app.get("/users/:id", async (c) => {
  const [user] = await sql`
    select id, email, name, created_at as "createdAt", updated_at as "updatedAt"
    from users where id = ${c.req.param("id")}`;
  return user ? c.json(user) : c.json({ error: "not found" }, 404);
});

serve({ fetch: app.fetch, port: Number(PORT), hostname: "127.0.0.1" });
