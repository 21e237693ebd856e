/**
 * Runs the repository's command-line entry points as users do, in a child process, for the
 * tests of the CLIs (db, roles, audit, doctor, inspect): only the given environment, output
 * collected, the exit code returned rather than thrown.
 *
 * @example
 * const { code, stdout } = await runEntry("src/cli/doctor.ts", ["--json"], { DATABASE_URL: url });
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root folder. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` in `cwd` (default: the repository root) with only `env` in its environment. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd?: string | undefined; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: { ...options.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Runs a TypeScript entry point of the repository (a path relative to its root) through tsx,
 * with `NODE_ENV=test` unless `env` says otherwise, and nothing else inherited.
 */
export function runEntry(
  entry: string,
  args: readonly string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<CliResult> {
  return runCommand(process.execPath, ["--import", "tsx", join(ROOT, entry), ...args], {
    cwd,
    env: { NODE_ENV: "test", ...env },
  });
}
