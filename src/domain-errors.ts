/**
 * Errors of the ledger's own rules (not the database's). The HTTP layer maps these and the
 * typed database errors to problem responses in one place (`src/http/problem.ts`).
 */
export class DomainError extends Error {
  override name = "DomainError";
  constructor(
    /** Stable machine-readable code, used as the problem `code`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class NotFoundError extends DomainError {
  override name = "NotFoundError";
  constructor(readonly resource: string) {
    super("not_found", `${resource} not found`);
  }
}

export class InsufficientFundsError extends DomainError {
  override name = "InsufficientFundsError";
  constructor() {
    super("insufficient_funds", "the source account's balance is lower than the amount");
  }
}

export class CurrencyMismatchError extends DomainError {
  override name = "CurrencyMismatchError";
  constructor() {
    super("currency_mismatch", "the accounts hold different currencies");
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  override name = "IdempotencyKeyReusedError";
  constructor() {
    super(
      "idempotency_key_reused",
      "this Idempotency-Key was already used for a request with a different body",
    );
  }
}
