/** X.509 issuing for paynet: CA, server and device certificates and CRLs, all as PEM strings. */
export { issueCa, issueCrl, issueDeviceCert, issueIntermediateCa, issueServerCert } from "./issue.js";
export { commonNameProblem, isDnsName, MAX_COMMON_NAME_LENGTH } from "./names.js";
export type {
  CaOptions,
  CertOptions,
  CrlOptions,
  DeviceCertOptions,
  IssuedCert,
  KeyAlgorithm,
  RevocationReason,
  RevokedEntry,
  ServerCertOptions,
} from "./types.js";
export { DEFAULT_CA_DAYS, DEFAULT_CRL_DAYS, DEFAULT_LEAF_DAYS, KEY_ALGORITHMS } from "./types.js";
