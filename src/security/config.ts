/**
 * The security variables (docs/security.md): their rules and the `SecurityConfig` they resolve
 * to. Pure; `src/env.ts`, the only reader of `process.env`, validates them with the others.
 */
import { z } from "zod";

/** Access control and abuse resistance of the HTTP API. */
export interface SecurityConfig {
  /** Tokens writes require; empty: writes are open (`API_AUTH=off`, or not in production). */
  apiTokens: readonly string[];
  /** `API_AUTH`: `off` lets a production server start without tokens. */
  apiAuth: "on" | "off";
  /** Per-client token bucket; undefined: `RATE_LIMIT=off`. */
  rateLimit: { requestsPerSecond: number; burst: number; maxClients: number } | undefined;
  /** Proxies in front that append to `X-Forwarded-For`; 0: the peer address is the client. */
  trustProxy: number;
  /** Origins allowed to call from a browser (`*` for any); empty: no CORS headers. */
  corsOrigins: readonly string[];
  /** Key of the per-user tokens `GET /me/*` takes (src/security/actor-tokens.ts); unset: 401. */
  actorTokenSecret: string | undefined;
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** Comma-separated values, each trimmed and checked by `item`; an empty entry is an error. */
const list = <T extends z.ZodType<string, string>>(item: T) =>
  z
    .string()
    .transform((value) => value.split(",").map((entry) => entry.trim()))
    .pipe(z.array(item));
/** RFC 6750's `b64token`: what an `Authorization: Bearer` header can carry. */
const BEARER_TOKEN = /^[\w\-.~+/]+=*$/;
/** `https://app.example.com[:port]`: a scheme and a host, nothing after. */
const isOrigin = (value: string) => {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
};

export const SECURITY_VARIABLES = {
  /** Bearer tokens that POST, PUT, PATCH and DELETE require. */
  API_TOKENS: list(
    // One message per bad entry: the first rule it breaks.
    z
      .string()
      .min(1, "empty entry (two commas in a row, or one at the end)")
      .pipe(
        z
          .string()
          .regex(
            BEARER_TOKEN,
            "each token may hold only letters, digits and - . _ ~ + / (then = padding); " +
              "no whitespace",
          ),
      )
      .pipe(
        z
          .string()
          .min(32, "each token must be at least 32 characters (e.g. openssl rand -hex 32)")
          .max(512, "each token must be at most 512 characters"),
      ),
  ).optional(),
  /** `off`: run without API_TOKENS in production, writes open, on purpose. */
  API_AUTH: z.enum(["on", "off"]).default("on"),
  /** Per-client token bucket; `off` for benchmarks and load tests. */
  RATE_LIMIT: z.enum(["on", "off"]).default("on"),
  /** Sustained requests per second per client (the bucket's refill rate). */
  RATE_LIMIT_RPS: z.coerce.number().positive().max(1_000_000).default(100),
  /** Requests a client may send at once after being idle (the bucket's size). */
  RATE_LIMIT_BURST: int(1, 1_000_000).default(200),
  /** Clients whose buckets are kept at most (bounded memory; the idle and oldest go first). */
  RATE_LIMIT_MAX_CLIENTS: int(100, 10_000_000).default(10_000),
  /** Proxies in front of the app that append to X-Forwarded-For; 0: use the peer address. */
  TRUST_PROXY: int(0, 10).default(0),
  /** Origins browsers may call the API from, comma-separated, or `*`; unset: no CORS headers. */
  CORS_ORIGINS: list(
    z
      .string()
      .refine(
        (origin) => origin === "*" || isOrigin(origin),
        "each entry must be * or an origin such as https://app.example.com (no path, no slash)",
      ),
  ).optional(),
  /** HMAC key of per-user tokens (`<userId>.<mac>`) that name the actor of `GET /me/*`. */
  ACTOR_TOKEN_SECRET: z
    .string()
    .min(32, "must be at least 32 characters (e.g. openssl rand -hex 32)")
    .optional(),
};

type SecurityVariables = z.output<z.ZodObject<typeof SECURITY_VARIABLES>>;

export function resolveSecurity(env: SecurityVariables): SecurityConfig {
  return {
    apiTokens: env.API_TOKENS ?? [],
    apiAuth: env.API_AUTH,
    rateLimit:
      env.RATE_LIMIT === "on"
        ? {
            requestsPerSecond: env.RATE_LIMIT_RPS,
            burst: env.RATE_LIMIT_BURST,
            maxClients: env.RATE_LIMIT_MAX_CLIENTS,
          }
        : undefined,
    trustProxy: env.TRUST_PROXY,
    corsOrigins: env.CORS_ORIGINS ?? [],
    actorTokenSecret: env.ACTOR_TOKEN_SECRET,
  };
}

/**
 * What stops a server from starting (not the command-line tools, which serve no HTTP): a
 * production server without write tokens, unless `API_AUTH=off` says open writes are intended;
 * `API_AUTH=off` together with tokens.
 */
export function serverSecurityProblems(
  nodeEnv: string,
  { apiTokens, apiAuth }: SecurityConfig,
): { variable: string; message: string }[] {
  if (apiAuth === "off" && apiTokens.length > 0) {
    return [{ variable: "API_AUTH", message: "off contradicts API_TOKENS: unset one of them" }];
  }
  if (nodeEnv === "production" && apiAuth === "on" && apiTokens.length === 0) {
    return [
      {
        variable: "API_TOKENS",
        message:
          "required with NODE_ENV=production, or POST/PUT/PATCH/DELETE are open to anyone; " +
          "set API_AUTH=off to serve open writes on purpose",
      },
    ];
  }
  return [];
}
