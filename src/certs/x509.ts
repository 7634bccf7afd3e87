/**
 * The one place that loads @peculiar/x509. The library relies on decorator metadata, so
 * `reflect-metadata` must be evaluated before it; and its default crypto provider only picks up
 * `globalThis.crypto` in browsers (it checks for `self`), so we hand it Node's WebCrypto.
 */
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

/** Node's WebCrypto; the same interface the library expects from browsers. */
export const crypto = webcrypto;

x509.cryptoProvider.set(crypto);

export { x509 };
