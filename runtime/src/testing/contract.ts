/**
 * The shape of a store contract: named cases that throw (node:assert) when the store breaks the
 * contract. Framework-agnostic, so any test runner runs them:
 *
 * ```ts
 * for (const check of idempotencyStoreContract(factory)) it(check.name, check.run);
 * ```
 */

/** One contract case. */
export interface ContractCase {
  readonly name: string;
  run(): Promise<void>;
}
