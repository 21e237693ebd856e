/**
 * The smoke test's cases for the ledger: accounts, transfers with their idempotency rules, and
 * the money values the contract rejects.
 */
import { check } from "k6";
import type { Account, Page, Transfer, User } from "./api.ts";
import {
  createAccount,
  createTransfer,
  deleteUser,
  expectProblem,
  getAccount,
  getTransfer,
  isProblem,
  listAccountTransfers,
  listUserAccounts,
  MISSING_ID,
} from "./api.ts";
import { bodyOf } from "./client.ts";
import type { Fixture } from "./fixture.ts";

/** Money values the contract rejects: negative, fractional, a string, beyond 2^53 - 1. */
const INVALID_AMOUNTS: [label: string, value: unknown][] = [
  ["negative", -1],
  ["fractional", 1.5],
  ["string", "100"],
  ["unsafe integer", 2 ** 53],
];

export function checkAccounts(user: User): void {
  const created = createAccount({ userId: user.id, currency: "EUR" });
  const account = bodyOf<Account>(created);
  check(created, {
    "POST /accounts → 201 empty account of the user": () =>
      account?.balance === 0 && account.userId === user.id && account.currency === "EUR",
  });

  check(createAccount({ userId: MISSING_ID, currency: "EUR" }, [404, 422]), {
    "POST /accounts unknown user → 422 or 404": (r) =>
      isProblem(r, [422, 404], ["foreign_key_violation", "not_found"]),
  });
  expectProblem(
    createAccount({ userId: user.id, currency: "eur" }, [400]),
    400,
    "validation_failed",
    "POST /accounts lowercase currency → 400",
  );
  for (const [label, initialBalance] of INVALID_AMOUNTS) {
    expectProblem(
      createAccount({ userId: user.id, currency: "EUR", initialBalance }, [400]),
      400,
      "validation_failed",
      `POST /accounts ${label} initialBalance → 400`,
    );
  }

  if (account !== undefined) {
    check(getAccount(account.id), {
      "GET /accounts/{id} → 200 with the account": (r) => bodyOf<Account>(r)?.id === account.id,
    });
    check(listUserAccounts(user.id), {
      "GET /users/{id}/accounts → 200 with the account": (r) =>
        (bodyOf<{ items: Account[] }>(r)?.items ?? []).some((item) => item.id === account.id),
    });
  }
  expectProblem(
    getAccount(MISSING_ID, [404]),
    404,
    "not_found",
    "GET /accounts/{id} unknown → 404",
  );
  check(getAccount("not-a-uuid", [400, 404]), {
    "GET /accounts/{id} malformed id → 400 or 404": (r) => isProblem(r, [400, 404]),
  });
  expectProblem(
    deleteUser(user.id, [409]),
    409,
    "conflict",
    "DELETE /users/{id} with accounts → 409 conflict",
  );
}

export function checkTransfers(fixture: Fixture): void {
  const [a, b] = fixture.accountsByCurrency.EUR ?? [];
  const [usd] = fixture.accountsByCurrency.USD ?? [];
  if (a === undefined || b === undefined || usd === undefined) return;
  const key = (label: string) => `smoke-${fixture.runId}-${label}`;
  let balanceA = fixture.initialBalance;

  const firstBody = { fromAccountId: a, toAccountId: b, amount: 100 };
  const first = createTransfer(firstBody, key("first"));
  const transfer = bodyOf<Transfer>(first);
  check(first, {
    "POST /transfers → 201 with the transfer": () =>
      transfer?.amount === 100 && transfer.currency === "EUR" && transfer.fromAccountId === a,
  });
  balanceA -= 100;
  check(createTransfer(firstBody, key("first")), {
    "POST /transfers replayed → 201 with the same transfer": (r) =>
      r.status === 201 && bodyOf<Transfer>(r)?.id === transfer?.id,
  });
  expectProblem(
    createTransfer({ ...firstBody, amount: 101 }, key("first"), [409]),
    409,
    "idempotency_key_reused",
    "POST /transfers same key, other body → 409 idempotency_key_reused",
  );
  check(getAccount(b), {
    "POST /transfers credited once despite the replay": (r) =>
      bodyOf<Account>(r)?.balance === fixture.initialBalance + 100,
  });

  const back = createTransfer({ fromAccountId: b, toAccountId: a, amount: 50 }, key("back"));
  balanceA += 50;

  const tooMuch = { fromAccountId: a, toAccountId: b, amount: fixture.initialBalance * 10 };
  expectProblem(
    createTransfer(tooMuch, key("too-much"), [422]),
    422,
    "insufficient_funds",
    "POST /transfers beyond the balance → 422 insufficient_funds",
  );
  check(getAccount(a), {
    "POST /transfers refused → balance unchanged": (r) => bodyOf<Account>(r)?.balance === balanceA,
  });
  // A refused request stores nothing, so its key is free for a new request.
  const retried = createTransfer({ ...tooMuch, amount: 1 }, key("too-much"));
  check(retried, {
    "POST /transfers key of a refused request → processed afresh": (r) => r.status === 201,
  });
  balanceA -= 1;

  expectProblem(
    createTransfer({ fromAccountId: a, toAccountId: usd, amount: 1 }, key("mismatch"), [422]),
    422,
    "currency_mismatch",
    "POST /transfers EUR to USD → 422 currency_mismatch",
  );
  expectProblem(
    createTransfer({ fromAccountId: a, toAccountId: a, amount: 1 }, key("self"), [400]),
    400,
    "validation_failed",
    "POST /transfers to the same account → 400",
  );
  for (const [label, amount] of [["zero", 0] as [string, unknown], ...INVALID_AMOUNTS]) {
    expectProblem(
      createTransfer({ fromAccountId: a, toAccountId: b, amount }, key(`amount-${label}`), [400]),
      400,
      "validation_failed",
      `POST /transfers ${label} amount → 400`,
    );
  }
  check(
    createTransfer(
      { fromAccountId: MISSING_ID, toAccountId: b, amount: 1 },
      key("ghost"),
      [404, 422],
    ),
    { "POST /transfers unknown account → 404 or 422": (r) => isProblem(r, [404, 422]) },
  );
  expectProblem(
    createTransfer({ fromAccountId: a, toAccountId: b, amount: 1 }, "k".repeat(256), [400]),
    400,
    "validation_failed",
    "POST /transfers Idempotency-Key over 255 chars → 400",
  );

  if (transfer !== undefined) {
    check(getTransfer(transfer.id), {
      "GET /transfers/{id} → 200 with the transfer": (r) => bodyOf<Transfer>(r)?.id === transfer.id,
    });
  }
  expectProblem(
    getTransfer(MISSING_ID, [404]),
    404,
    "not_found",
    "GET /transfers/{id} unknown → 404",
  );

  // Transfers of account a, newest first: the retried one, then `back`, then `first`.
  const newest = bodyOf<Page<Transfer>>(listAccountTransfers(a, { limit: 1 }));
  const next =
    typeof newest?.nextCursor === "string"
      ? bodyOf<Page<Transfer>>(listAccountTransfers(a, { limit: 1, cursor: newest.nextCursor }))
      : undefined;
  check(newest, {
    "GET /accounts/{id}/transfers → newest first": (page) =>
      page?.items[0]?.id === bodyOf<Transfer>(retried)?.id,
    "GET /accounts/{id}/transfers?cursor → the next older one": () =>
      next?.items[0]?.id === bodyOf<Transfer>(back)?.id,
  });
  expectProblem(
    listAccountTransfers(a, { limit: 0 }, [400]),
    400,
    "validation_failed",
    "GET /accounts/{id}/transfers limit=0 → 400",
  );
}
