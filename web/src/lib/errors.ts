// Error codes and texts from the API, said in words a person understands.
import { ApiError, OFFLINE } from "./api";

const WORDS: Record<string, string> = {
  [OFFLINE]: "Portal cannot be reached. Check your connection and try again.",
  ERR_BAD_REQUEST: "That request was not valid.",
  ERR_UNAUTHORIZED: "You are signed out. Sign in again.",
  ERR_FORBIDDEN: "You are not allowed to do that.",
  ERR_NOT_FOUND: "That does not exist (any more).",
  ERR_CONFLICT: "That conflicts with something that changed meanwhile. Reload and try again.",
  ERR_RATE_LIMITED: "Slow down a little: too many requests.",
  ERR_INTERNAL: "Something went wrong on the server. Try again in a moment.",
  ERR_ACCOUNT_RESTRICTED: "Your account is restricted (timed out or banned).",
  ERR_ORIGIN_NOT_ALLOWED: "This site's address is not allowed by the server (PORTAL_ALLOWED_ORIGINS).",
  ERR_PREMIUM_REQUIRED: "Private chats need Premium.",
  ERR_CHAT_SLOT_LIMIT: "All your chat slots are in use. Delete one of your chats, or get more slots with Premium.",
  ERR_SLUG_TAKEN: "That link name is taken. Pick another.",
  ERR_INVITE_LIMIT: "This chat has as many invites as it may have. Delete one first.",
  ERR_INVITE_INVALID: "This invite link is not valid: it expired, was used up or was deleted.",
  ERR_NOT_JOINED: "Join the chat first.",
  ERR_MUTED: "You are muted in this chat.",
  ERR_BANNED: "You are banned from this chat.",
  ERR_HARD_MUTED: "You are muted everywhere on Portal.",
  ERR_DIRECT_CHAT: "That cannot be done in a direct chat.",
  ERR_CHAT_ARCHIVED: "This chat is archived: it can be read but not written to.",
  ERR_EPOCH_MISMATCH: "The chat's key just changed. Waiting for the new key…",
  ERR_NO_ROOM_KEY: "Your session has no encryption key yet. Reload the page.",
  ERR_NOT_DISTRIBUTOR: "Another session is handing out the chat key.",
  ERR_VM_UNAVAILABLE: "The shared browser is unavailable right now.",
  ERR_VM_CAPACITY: "All shared browsers are busy. Try again later.",
  ERR_VM_NOT_RUNNING: "The shared browser is not running.",
  // Matchmaking (issue 13)
  ERR_MATCH_UNSUPPORTED_INTEREST: "Interests are 3 to 12 lowercase letters or digits (like music or chess).",
  ERR_STRANGER_BLOCKED:
    "A moderator blocked this stranger session from matchmaking. Your open chats stay readable; " +
    "to meet people again, sign in with an account.",
  ERR_MATCH_ALREADY_SEARCHING: "You are already searching (maybe in another tab).",
  ERR_MATCH_SLOT_LIMIT:
    "You already have as many open one-on-one chats as you may: 1 at a time, or 3 with Premium. End one first.",
  ERR_MATCH_NO_ACTIVE_DIRECT: "That conversation has already ended.",
  // Operators (issue 13): platform actions, bots, subscriptions, announcements
  ERR_TRIAL_ALREADY_USED: "This user has already had their trial: it is once per user.",
  "Admin access required": "Only administrators may do that.",
  "Moderator access required": "Only moderators and administrators may do that.",
  "Owner access required": "Only owners may do that.",
  "Bot not found": "That bot does not exist (any more).",
  "Announcement not found": "That announcement does not exist.",
  "Invalid or expired code":
    "That code did not work. It may be mistyped (codes are case-sensitive), expired (they last 10 minutes), " +
    "already used, or requested from another network: a code works only where it was requested.",
  "Too many pending login codes":
    "Too many codes were requested from this network. Use one of them, or wait until they expire.",
  "User not found": "No one has that username. New here? Sign up with your platform account instead.",
  "Web login required": "Sign in here on the web once; then the bot's quick login works again.",
  "Account restricted": "Your account is restricted (timed out or banned).",
  "Authentication required": "You are signed out. Sign in again.",
  "Access denied": "You are not allowed to do that.",
  // Sign in and settings
  "Too many requests": "Too many attempts from this network. Wait a moment and try again.",
  "Session not found": "That session has already ended.",
  "Cannot destroy the current session; use logout": "To end this device's session, use Log out.",
  "Chat not found": "That chat does not exist (any more).",
  "Member not found": "You are not a member of that chat.",
  "Chat owner cannot leave": "The owner cannot leave their own chat: delete it instead.",
  "Invites are for private and public chats": "Official chats take no invites: everyone can join them.",
  "slug is required for public chats": "An official chat keeps a link name: it cannot be made private here.",
  "expires_at must be in the future": "Pick an expiry in the future.",
};

/** A sentence for any error: a known code or text, else the server's own text. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const words = WORDS[error.error];
    const base = words ?? (error.error.startsWith("ERR_") ? `Refused (${error.error}).` : error.error);
    const ttl = error.ttl;
    return ttl && ttl > 0 ? `${base} Try again in ${formatDuration(ttl)}.` : base;
  }
  if (error instanceof AckError) return WORDS[error.code] ?? (error.message || error.code);
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A refused Socket.IO acknowledgement `{ok: false, error, message, ttl?}`. */
export class AckError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly ttl: number | null = null,
  ) {
    super(message);
    this.name = "AckError";
  }
}

export function wordsFor(code: string): string | undefined {
  return WORDS[code];
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60 ? `${s % 60} s` : ""}`.trim();
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}
