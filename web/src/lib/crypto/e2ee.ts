// End-to-end encryption as portal/client/e2ee.py does it (the SDK and this client must agree; the
// interop test checks both ways):
// - each browser session has an X25519 key pair; the public half is registered with POST /v1/portal/keys;
// - a chat key is 32 random bytes per (chat, epoch), handed to each session as a sealed box ("blob");
// - a message is the JSON string {"v":2,"epoch":N,"ct":"<base64(nonce24 || secretbox)>"}.
import { blake2b } from "@noble/hashes/blake2.js";
import nacl from "tweetnacl";
import { openSealed, seal } from "./sealedBox";

export const PROTOCOL_VERSION = 2;
export const CHAT_KEY_BYTES = nacl.secretbox.keyLength; // 32

export class E2EEError extends Error {
  override name = "E2EEError";
}

export function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

export function fromBase64(text: string): Uint8Array {
  let raw: string;
  try {
    raw = atob(text);
  } catch {
    throw new E2EEError("not base64");
  }
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

export interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export function generateKeyPair(): KeyPair {
  return nacl.box.keyPair();
}

export function newChatKey(): Uint8Array {
  return nacl.randomBytes(CHAT_KEY_BYTES);
}

/** Seal a chat key for one session's public key (base64), as a base64 blob. */
export function wrap(chatKey: Uint8Array, recipientPublicKeyB64: string): string {
  const recipient = fromBase64(recipientPublicKeyB64);
  if (recipient.length !== nacl.box.publicKeyLength) throw new E2EEError("not an X25519 public key");
  return toBase64(seal(chatKey, recipient));
}

/** Open a chat-key blob sealed for `keyPair`. */
export function unwrap(blob: string, keyPair: KeyPair): Uint8Array {
  const key = openSealed(fromBase64(blob), keyPair.publicKey, keyPair.secretKey);
  if (!key) throw new E2EEError("the blob was not sealed for this key");
  if (key.length !== CHAT_KEY_BYTES) throw new E2EEError("a chat key is 32 bytes");
  return key;
}

/** The `content` to send: a CiphertextV2 JSON string. */
export function encrypt(chatKey: Uint8Array, epoch: number, plaintext: string): string {
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  const box = nacl.secretbox(new TextEncoder().encode(plaintext), nonce, chatKey);
  const sealed = new Uint8Array(nonce.length + box.length);
  sealed.set(nonce, 0);
  sealed.set(box, nonce.length);
  return JSON.stringify({ v: PROTOCOL_VERSION, epoch, ct: toBase64(sealed) });
}

function parseBundle(content: string): { epoch: number; ct: string } {
  let bundle: unknown;
  try {
    bundle = JSON.parse(content);
  } catch {
    throw new E2EEError("not a CiphertextV2 bundle");
  }
  const b = bundle as { epoch?: unknown; ct?: unknown } | null;
  const epoch = Number(b?.epoch);
  if (!b || !Number.isInteger(epoch) || typeof b.ct !== "string") throw new E2EEError("not a CiphertextV2 bundle");
  return { epoch, ct: b.ct };
}

/** The epoch a message was encrypted for (to pick the key). */
export function envelopeEpoch(content: string): number {
  return parseBundle(content).epoch;
}

export function decrypt(chatKey: Uint8Array, content: string): string {
  const sealed = fromBase64(parseBundle(content).ct);
  const nonceLength = nacl.secretbox.nonceLength;
  if (sealed.length < nonceLength + nacl.secretbox.overheadLength) throw new E2EEError("too short");
  const opened = nacl.secretbox.open(sealed.subarray(nonceLength), sealed.subarray(0, nonceLength), chatKey);
  if (!opened) throw new E2EEError("wrong key for this message");
  return new TextDecoder().decode(opened);
}

/**
 * A session's safety code: BLAKE2b-256 of its raw public key, first 8 bytes read as a big-endian number,
 * the last 12 decimal digits in three groups ("0421 9930 1177"). Two people compare it out of band;
 * portal/client/e2ee.py `safety_code` computes the same.
 */
export function safetyCode(publicKeyB64: string): string {
  const digest = blake2b(fromBase64(publicKeyB64), { dkLen: 32 });
  let value = 0n;
  for (let i = 0; i < 8; i++) value = (value << 8n) | BigInt(digest[i] as number);
  const digits = (value % 1_000_000_000_000n).toString().padStart(12, "0");
  return `${digits.slice(0, 4)} ${digits.slice(4, 8)} ${digits.slice(8)}`;
}
