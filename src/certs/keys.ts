import { createPrivateKey, type webcrypto } from "node:crypto";
import type { KeyAlgorithm } from "./types.js";
import { crypto, x509 } from "./x509.js";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type SignAlgorithm = webcrypto.Algorithm | webcrypto.EcdsaParams;

/** WebCrypto parameters for generating, importing and signing with one key kind. */
interface KeySpec {
  readonly keyParams: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams;
  readonly importParams: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams;
  readonly signingAlgorithm: SignAlgorithm;
}

const RSA_EXPONENT = new Uint8Array([1, 0, 1]);

function rsaSpec(modulusLength: number): KeySpec {
  const hash = "SHA-256";
  return {
    keyParams: { name: "RSASSA-PKCS1-v1_5", modulusLength, publicExponent: RSA_EXPONENT, hash },
    importParams: { name: "RSASSA-PKCS1-v1_5", hash },
    signingAlgorithm: { name: "RSASSA-PKCS1-v1_5" },
  };
}

function ecSpec(namedCurve: "P-256" | "P-384" | "P-521"): KeySpec {
  const hash = namedCurve === "P-256" ? "SHA-256" : namedCurve === "P-384" ? "SHA-384" : "SHA-512";
  return {
    keyParams: { name: "ECDSA", namedCurve },
    importParams: { name: "ECDSA", namedCurve },
    signingAlgorithm: { name: "ECDSA", hash } as webcrypto.EcdsaParams,
  };
}

function specFor(algorithm: KeyAlgorithm): KeySpec {
  switch (algorithm) {
    case "ec-p256":
      return ecSpec("P-256");
    case "rsa-2048":
      return rsaSpec(2048);
    case "rsa-4096":
      return rsaSpec(4096);
    default:
      throw new Error(`unsupported key algorithm ${JSON.stringify(algorithm)}`);
  }
}

/** A freshly generated key pair with what is needed to sign with its private half. */
export interface GeneratedKey {
  readonly keys: CryptoKeyPair;
  readonly signingAlgorithm: SignAlgorithm;
}

/** Generates an extractable key pair of the given kind. */
export async function generateKey(algorithm: KeyAlgorithm): Promise<GeneratedKey> {
  const spec = specFor(algorithm);
  const keys = (await crypto.subtle.generateKey(spec.keyParams, true, ["sign", "verify"])) as CryptoKeyPair;
  return { keys, signingAlgorithm: spec.signingAlgorithm };
}

/** Exports a private key as PKCS#8 PEM. */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

/** A signing key read back from PEM, e.g. a CA key loaded from disk. */
export interface SigningKey {
  readonly key: CryptoKey;
  readonly signingAlgorithm: SignAlgorithm;
}

const CURVES: Record<string, "P-256" | "P-384" | "P-521"> = {
  prime256v1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
};

/**
 * Imports a PEM private key (PKCS#8, or the traditional PKCS#1/SEC1 forms other tools write) for
 * signing. Node parses the PEM and tells us the key kind, so a CA made elsewhere works too.
 */
export async function importSigningKey(pem: string): Promise<SigningKey> {
  const keyObject = createPrivateKey(pem);
  const details = keyObject.asymmetricKeyDetails ?? {};
  let spec: KeySpec;
  if (keyObject.asymmetricKeyType === "rsa") {
    spec = rsaSpec(details.modulusLength ?? 2048);
  } else if (keyObject.asymmetricKeyType === "ec") {
    const curve = CURVES[details.namedCurve ?? ""];
    if (curve === undefined) throw new Error(`unsupported EC curve ${details.namedCurve ?? "(unknown)"}`);
    spec = ecSpec(curve);
  } else {
    throw new Error(`unsupported private key type ${keyObject.asymmetricKeyType ?? "(unknown)"}`);
  }
  const der = keyObject.export({ type: "pkcs8", format: "der" });
  const key = await crypto.subtle.importKey("pkcs8", der, spec.importParams, false, ["sign"]);
  return { key, signingAlgorithm: spec.signingAlgorithm };
}
