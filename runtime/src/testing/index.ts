/**
 * @packageDocumentation
 * `@paynet/runtime/testing`: the contracts a store implementation must honour, as reusable suites.
 */
export type { ContractCase } from "./contract.js";
export * from "./idempotency-contract.js";
export * from "./pending-contract.js";
export * from "./uplink-contract.js";
