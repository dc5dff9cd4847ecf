// Who is signed in, this browser session's key pair, and signing out. The app shell loads `me` at start;
// a 401 anywhere or `session:ended` brings the sign-in page back with the reason.
import { signal } from "@preact/signals";
import { ApiError, api, unauthorizedListeners } from "./api";
import { config } from "./config";
import type { KeyPair } from "./crypto/e2ee";
import { toBase64 } from "./crypto/e2ee";
import { sessionKeyPair, wipeKeys } from "./keystore";
import { navigate } from "./router";
import { connect, disconnect, endedReason, onSessionEnd } from "./socket";
import type { Me, StrangerOut } from "./types";

/** undefined while loading, null when signed out. */
export const me = signal<Me | null | undefined>(undefined);
let keyPair: Promise<KeyPair> | null = null;

/** The reasons `session:ended` carries, in words for the sign-in page. */
export const END_REASONS: Record<string, string> = {
  logout: "You signed out.",
  revoked: "This session was ended from another device.",
  expired: "Your session expired. Sign in again.",
  timeout: "Your account was timed out.",
  banned: "Your account was banned.",
  permission_changed: "Your permission level changed: sign in again to continue.",
  ERR_UNAUTHORIZED: "Your session is no longer valid. Sign in again.",
  ERR_ACCOUNT_RESTRICTED: "Your account is restricted (timed out or banned).",
  ERR_ORIGIN_NOT_ALLOWED: "This address is not in the server's PORTAL_ALLOWED_ORIGINS.",
};

export async function loadMe(): Promise<void> {
  if (!config.has_session) {
    me.value = null; // no cookie: nothing to ask (a 401 would show in the console)
    return;
  }
  // A stranger may not read /v1/users/me (403): who they are was kept at sign-in; a call strangers may
  // use tells whether the session still lives.
  const stranger = readStranger();
  if (stranger) {
    try {
      await api.get("/v1/portal/match/status");
      await startSession(strangerMe(stranger));
      return;
    } catch (error) {
      if (!(error instanceof ApiError && (error.status === 401 || error.status === 403))) throw error;
      forgetStranger();
      me.value = null;
      return;
    }
  }
  try {
    const user = await api.get<Me>("/v1/users/me");
    await startSession(user);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) me.value = null;
    else throw error;
  }
}

/** After a verified code or a loaded session: keep the user, register this browser's key, connect. */
export async function startSession(user: Me): Promise<void> {
  if (!user.is_stranger) forgetStranger();
  me.value = user;
  endedReason.value = null;
  keyPair = registerKey(user.id);
  connect();
  await keyPair;
}

async function registerKey(userId: number): Promise<KeyPair> {
  const pair = await sessionKeyPair(userId);
  await api.post("/v1/portal/keys", { public_key: toBase64(pair.publicKey) });
  return pair;
}

/** This browser session's key pair, registered with the server. */
export function sessionKeys(): Promise<KeyPair> {
  if (!keyPair) throw new Error("not signed in");
  return keyPair;
}

export async function signOut(): Promise<void> {
  try {
    await api.post("/v1/authentication/logout");
  } catch {
    // Already gone on the server: forget it here all the same.
  }
  await forget("logout");
}

async function forget(reason: string): Promise<void> {
  disconnect();
  forgetStranger();
  keyPair = null;
  me.value = null;
  endedReason.value = reason;
  await wipeKeys().catch(() => undefined);
  navigate("/signin", { replace: true });
}

onSessionEnd((reason) => void forget(reason));
unauthorizedListeners.add(() => {
  if (me.value) void forget("ERR_UNAUTHORIZED");
});

// ---- strangers ---------------------------------------------------------------------------------------
// A stranger has no account: `POST /v1/authentication/stranger` answers who they are (a generated name,
// 24 hours) and sets the cookie. That answer is kept in localStorage, since nothing a stranger may call
// says it again; it holds no secret (the cookie is httpOnly).

const STRANGER_KEY = "portal.stranger";

function readStranger(): StrangerOut | null {
  try {
    const raw = localStorage.getItem(STRANGER_KEY);
    if (!raw) return null;
    const value = JSON.parse(raw) as StrangerOut;
    if (typeof value.id !== "number" || Date.parse(value.expires_at) <= Date.now()) {
      forgetStranger();
      return null;
    }
    return value;
  } catch {
    return null;
  }
}

function forgetStranger(): void {
  try {
    localStorage.removeItem(STRANGER_KEY);
  } catch {
    // Storage unavailable: nothing was kept.
  }
}

function strangerMe(stranger: StrangerOut): Me {
  return {
    id: stranger.id,
    username: stranger.username,
    avatar_url: null,
    subscription_tier: 0,
    state: 0,
    permission_level: 0,
    subscription_expires_at: null,
    avatar_source: null,
    linked_platforms: [],
    created_at: "",
    is_stranger: true,
    stranger_expires_at: stranger.expires_at,
  };
}

/** "Chat as a stranger": an anonymous 24-hour session (matchmaking and its direct chats only). */
export async function signInAsStranger(): Promise<Me> {
  const stranger = await api.post<StrangerOut>("/v1/authentication/stranger");
  try {
    localStorage.setItem(STRANGER_KEY, JSON.stringify(stranger));
  } catch {
    // Without storage the session works until this tab reloads.
  }
  const user = strangerMe(stranger);
  await startSession(user);
  return user;
}

/** Whether the signed-in person is a stranger (no account). */
export function isStranger(): boolean {
  return !!me.value?.is_stranger;
}
