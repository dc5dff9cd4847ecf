// NaCl sealed boxes (libsodium's crypto_box_seal), which tweetnacl lacks, on top of its crypto_box:
//   sealed = ephemeral_pk (32) || box(message, nonce, recipient_pk, ephemeral_sk)
//   nonce  = BLAKE2b-192(ephemeral_pk || recipient_pk)
// PyNaCl's SealedBox opens what this makes and the other way round (tests/web/test_crypto_interop.py).
import { blake2b } from "@noble/hashes/blake2.js";
import nacl from "tweetnacl";

const PUBLIC_KEY_BYTES = nacl.box.publicKeyLength; // 32
const NONCE_BYTES = nacl.box.nonceLength; // 24
export const SEAL_OVERHEAD = PUBLIC_KEY_BYTES + nacl.box.overheadLength; // 48

function sealNonce(ephemeralPublicKey: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  const input = new Uint8Array(PUBLIC_KEY_BYTES * 2);
  input.set(ephemeralPublicKey, 0);
  input.set(recipientPublicKey, PUBLIC_KEY_BYTES);
  return blake2b(input, { dkLen: NONCE_BYTES });
}

/** Seal `message` for `recipientPublicKey`: only the holder of its secret key can open it. */
export function seal(message: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  if (recipientPublicKey.length !== PUBLIC_KEY_BYTES) throw new Error("a public key is 32 bytes");
  const ephemeral = nacl.box.keyPair();
  const nonce = sealNonce(ephemeral.publicKey, recipientPublicKey);
  const boxed = nacl.box(message, nonce, recipientPublicKey, ephemeral.secretKey);
  ephemeral.secretKey.fill(0);
  const sealed = new Uint8Array(PUBLIC_KEY_BYTES + boxed.length);
  sealed.set(ephemeral.publicKey, 0);
  sealed.set(boxed, PUBLIC_KEY_BYTES);
  return sealed;
}

/** Open a sealed box with the recipient's key pair; null when it was not sealed for this key. */
export function openSealed(
  sealed: Uint8Array,
  recipientPublicKey: Uint8Array,
  recipientSecretKey: Uint8Array,
): Uint8Array | null {
  if (sealed.length < SEAL_OVERHEAD) return null;
  const ephemeralPublicKey = sealed.subarray(0, PUBLIC_KEY_BYTES);
  const nonce = sealNonce(ephemeralPublicKey, recipientPublicKey);
  return nacl.box.open(sealed.subarray(PUBLIC_KEY_BYTES), nonce, ephemeralPublicKey, recipientSecretKey);
}
