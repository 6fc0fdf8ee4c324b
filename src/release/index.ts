/** Release signing and verification (minisign formats): the public surface of src/release. */
export { SigExit, SignatureError } from "./_errors.ts";
export { blake2bOfFd, blake2bOfFile } from "./_crypto.ts";
export {
  type CommentFields,
  type PublicKey,
  type Signature,
  formatPublicKey,
  keyIdHex,
  parsePublicKey,
  parsePublicKeyString,
  parseSignature,
  parseTrustedComment,
} from "./format.ts";
export {
  type SecretKey,
  formatSecretKey,
  generateKeyPair,
  isEncrypted,
  loadSecretKey,
  pickParams,
} from "./seckey.ts";
export { type SignRequest, sign, signFile, trustedCommentFor } from "./sign.ts";
export {
  type VerifyInput,
  type Verified,
  type SignedData,
  readPublicKeyFile,
  readSignatureFile,
  verifySignature,
} from "./verify.ts";
export {
  type TrustedKey,
  defaultKeyFiles,
  givenKey,
  givenKeyString,
  trustedKeys,
  trustedKeysDefine,
} from "./trusted.ts";
export { type SelfState, selfState, signaturePathFor, verifyImageBeforeExec } from "./selfcheck.ts";
export { checkNotDowngrade, compareVersions } from "./downgrade.ts";
export { PASSWORD_ENV, readPassword } from "./password.ts";
