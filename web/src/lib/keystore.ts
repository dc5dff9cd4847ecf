// What this browser keeps in IndexedDB: the session's X25519 key pair (per user) and every chat key it
// has received (per user, chat and epoch), so history stays readable after a reload. Signing out wipes
// both. The private key is raw bytes (NaCl needs them), which is why the CSP is strict.
import { type KeyPair, generateKeyPair } from "./crypto/e2ee";

const DB_NAME = "portal";
const DB_VERSION = 1;
const PAIRS = "keypairs";
const CHAT_KEYS = "chatkeys";

let opening: Promise<IDBDatabase> | null = null;

function openDb(): Promise<IDBDatabase> {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(PAIRS)) db.createObjectStore(PAIRS);
      if (!db.objectStoreNames.contains(CHAT_KEYS)) db.createObjectStore(CHAT_KEYS);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opening;
}

function run<T>(store: string, mode: IDBTransactionMode, act: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return openDb().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const tx = db.transaction(store, mode);
        const request = act(tx.objectStore(store));
        tx.oncomplete = () => resolve(request.result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      }),
  );
}

/** This browser's key pair for `userId`, made on first use. */
export async function sessionKeyPair(userId: number): Promise<KeyPair> {
  const stored = await run<KeyPair | undefined>(PAIRS, "readonly", (s) => s.get(userId));
  if (stored?.publicKey instanceof Uint8Array && stored.secretKey instanceof Uint8Array) return stored;
  const pair = generateKeyPair();
  await run(PAIRS, "readwrite", (s) => s.put({ publicKey: pair.publicKey, secretKey: pair.secretKey }, userId));
  return pair;
}

const chatKeyId = (userId: number, chatId: number, epoch: number) => `${userId}:${chatId}:${epoch}`;

export function saveChatKey(userId: number, chatId: number, epoch: number, key: Uint8Array): Promise<unknown> {
  return run(CHAT_KEYS, "readwrite", (s) => s.put(key, chatKeyId(userId, chatId, epoch)));
}

/** Every stored key of one chat, by epoch. */
export async function loadChatKeys(userId: number, chatId: number): Promise<Map<number, Uint8Array>> {
  const prefix = `${userId}:${chatId}:`;
  const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`);
  const [keys, values] = await Promise.all([
    run<IDBValidKey[]>(CHAT_KEYS, "readonly", (s) => s.getAllKeys(range)),
    run<Uint8Array[]>(CHAT_KEYS, "readonly", (s) => s.getAll(range)),
  ]);
  const found = new Map<number, Uint8Array>();
  keys.forEach((key, i) => {
    const epoch = Number(String(key).slice(prefix.length));
    const value = values[i];
    if (Number.isInteger(epoch) && value instanceof Uint8Array) found.set(epoch, value);
  });
  return found;
}

/** Forget everything of this browser (sign-out): key pairs and chat keys. */
export async function wipeKeys(): Promise<void> {
  await run(PAIRS, "readwrite", (s) => s.clear());
  await run(CHAT_KEYS, "readwrite", (s) => s.clear());
}
