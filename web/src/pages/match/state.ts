// Matchmaking in this tab: the interests, idle → searching → matched, the keep-alive, Next and Stop.
// Module state (signals), so a search goes on while the person looks at another page, and `match:found`
// is heard on any page (`listen` attaches it to every socket). REST: POST /v1/portal/match, GET
// /v1/portal/match/status, POST /v1/portal/match/dequeue, POST /v1/portal/match/leave.
import { signal } from "@preact/signals";
import { notify } from "../../components/Notice";
import { ApiError, api } from "../../lib/api";
import { describeError } from "../../lib/errors";
import { currentPath, navigate } from "../../lib/router";
import { listen, onReconnect, request } from "../../lib/socket";
import type { MatchFound, MatchPeer, MatchStatus } from "../../lib/types";
import { cleanTags } from "./tags";

export type Phase = "idle" | "starting" | "searching" | "stopping";

/** Where the person is in matchmaking (this tab's view of it; the server's status is the truth). */
export const phase = signal<Phase>("idle");
/** The interests of the next (or current) search; kept in localStorage for Next and the next visit. */
export const tags = signal<string[]>(loadTags());
/** ms timestamp the current search began (for the elapsed time). */
export const searchingSince = signal<number | null>(null);
/** Why the last start was refused: its error code and words. */
export const refusal = signal<{ code: string; text: string } | null>(null);
/** State changes in words, for the match page's aria-live region. */
export const announcement = signal("");

const TAGS_KEY = "portal.match.tags";
const SINCE_KEY = "portal.match.since";
const INFO_KEY = "portal.match.info";
const PING_MS = 60_000; // presence:ping keeps the queue entry alive (it lives 600 s past the last sign)

let pingTimer = 0;
/** Bumped by every change this tab makes (start, stop, a match): a status read that overlapped one is stale. */
let changes = 0;

function loadTags(): string[] {
  try {
    return cleanTags(JSON.parse(localStorage.getItem(TAGS_KEY) ?? "[]"));
  } catch {
    return [];
  }
}

export function setTags(next: string[]): void {
  tags.value = next;
  try {
    localStorage.setItem(TAGS_KEY, JSON.stringify(next));
  } catch {
    // Without storage the tags last until the tab closes.
  }
}

function say(text: string): void {
  announcement.value = text;
}

// ---- searching -----------------------------------------------------------------------------------

function searching(since: number): void {
  changes++;
  phase.value = "searching";
  searchingSince.value = since;
  try {
    sessionStorage.setItem(SINCE_KEY, String(since));
  } catch {
    // The elapsed time restarts on a reload: harmless.
  }
  window.clearInterval(pingTimer);
  pingTimer = window.setInterval(() => {
    request("presence:ping", {}).catch(() => undefined); // a missed ping is made up by the next one
  }, PING_MS);
}

function notSearching(): void {
  changes++;
  window.clearInterval(pingTimer);
  pingTimer = 0;
  searchingSince.value = null;
  if (phase.value !== "idle") phase.value = "idle";
  try {
    sessionStorage.removeItem(SINCE_KEY);
  } catch {
    // nothing kept
  }
}

/** Read the server's status (the match page on mount, after a reload): resume a search in progress. */
export async function refreshStatus(): Promise<MatchStatus> {
  const before = changes;
  const status = await api.get<MatchStatus>("/v1/portal/match/status");
  // A start, stop or match while the status was on its way knows better than the status.
  if (before !== changes || phase.value === "starting" || phase.value === "stopping") return status;
  if (status.state === "searching") {
    if (status.interests?.length) setTags(cleanTags(status.interests));
    if (phase.value !== "searching") {
      const stored = Number(sessionStorage.getItem(SINCE_KEY));
      searching(Number.isFinite(stored) && stored > 0 ? stored : Date.now());
    }
  } else if (phase.value === "searching") {
    notSearching();
  }
  return status;
}

/** Start: queue on the current tags. Refusals go to `refusal` (the match page explains them). */
export async function start(): Promise<boolean> {
  if (phase.value === "starting" || phase.value === "searching" || phase.value === "stopping") return false;
  const interests = tags.value;
  if (interests.length === 0) {
    refusal.value = { code: "ERR_NO_TAGS", text: "Add at least one interest first." };
    return false;
  }
  phase.value = "starting";
  refusal.value = null;
  try {
    await api.post<MatchStatus>("/v1/portal/match", { interests });
    // A match:found may already have arrived (a waiting peer pairs at once): it leaves the phase idle.
    if (phase.value === "starting") {
      searching(Date.now());
      say(`Searching for someone who likes ${listWords(interests, "or")}…`);
    }
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.error === "ERR_MATCH_ALREADY_SEARCHING") {
      searching(Date.now()); // another tab queued this account: show the search it runs
      say("You are already searching.");
      return true;
    }
    phase.value = "idle";
    const code = error instanceof ApiError ? error.error : "ERR_INTERNAL";
    refusal.value = { code, text: describeError(error) };
    say(describeError(error));
    return false;
  }
}

/** Stop searching (dequeue; open chats stay). */
export async function stop(): Promise<void> {
  if (phase.value !== "searching") return;
  phase.value = "stopping";
  try {
    await api.post<MatchStatus>("/v1/portal/match/dequeue");
    notSearching();
    say("Stopped searching.");
  } catch (error) {
    phase.value = "searching";
    notify(describeError(error), "error");
  }
}

/** End one direct chat now (Stop in the chat); an already ended one is not an error. */
export async function leaveChat(chatId: number): Promise<void> {
  try {
    await api.post("/v1/portal/match/leave", { chat_id: chatId });
  } catch (error) {
    if (!(error instanceof ApiError && error.error === "ERR_MATCH_NO_ACTIVE_DIRECT")) throw error;
  }
}

/** Next: end this chat (if it still runs) and search again on the same tags, on the match page. */
export async function next(chatId: number, { leave }: { leave: boolean }): Promise<void> {
  if (leave) await leaveChat(chatId);
  const info = matchInfo(chatId);
  if (tags.value.length === 0 && info) setTags(cleanTags(info.matched_on));
  navigate("/match");
  await start();
}

// ---- matches -------------------------------------------------------------------------------------

/** What `match:found` said about a chat, kept (without the token) so a reload still shows it. */
export interface MatchInfo {
  chat_id: number;
  matched_on: string[];
  expires_at: string;
  peer: MatchPeer;
}

/** This tab's match tokens (for `room:join {token}`); kept in memory only: a token is a credential. */
const tokens = new Map<number, string>();

export function tokenFor(chatId: number): string | undefined {
  return tokens.get(chatId);
}

function readInfos(): Record<string, MatchInfo> {
  try {
    const all = JSON.parse(localStorage.getItem(INFO_KEY) ?? "{}") as Record<string, MatchInfo>;
    return all && typeof all === "object" ? all : {};
  } catch {
    return {};
  }
}

export function matchInfo(chatId: number): MatchInfo | null {
  return readInfos()[String(chatId)] ?? null;
}

function keepInfo(info: MatchInfo): void {
  const all = readInfos();
  // Archived chats stay readable for 24 h after their end, which is at most their expiry: keep 48 h.
  const horizon = Date.now() - 24 * 3600_000;
  for (const [id, kept] of Object.entries(all)) if (Date.parse(kept.expires_at) < horizon) delete all[id];
  all[String(info.chat_id)] = info;
  try {
    localStorage.setItem(INFO_KEY, JSON.stringify(all));
  } catch {
    // The header shows less after a reload: harmless.
  }
}

listen<MatchFound>("match:found", (found) => {
  if (!found || typeof found.chat_id !== "number") return;
  tokens.set(found.chat_id, found.token);
  keepInfo({ chat_id: found.chat_id, matched_on: found.matched_on, expires_at: found.expires_at, peer: found.peer });
  const wasSearching = phase.value === "searching" || phase.value === "starting";
  notSearching();
  const words = `Matched with ${found.peer.username}: you both like ${listWords(found.matched_on)}.`;
  say(words);
  if (wasSearching || currentPath.value.startsWith("/match")) navigate(`/chat/${found.chat_id}`);
  else notify(`${words} Open it from Meet someone.`, "info", 10_000);
});

// A reconnect refreshes the queue entry on the server by itself; re-read the status in case the search
// ended (lapsed, or matched while this tab was away).
onReconnect(() => {
  if (phase.value === "searching") refreshStatus().catch(() => undefined);
});

/** "music", "music and chess", "music, chess and film" (or "… or film"). */
export function listWords(items: readonly string[], joiner: "and" | "or" = "and"): string {
  if (items.length <= 1) return items[0] ?? "";
  return `${items.slice(0, -1).join(", ")} ${joiner} ${items[items.length - 1]}`;
}

/** 🇬🇧 for "GB" (regional indicator letters); "" for anything that is not two letters. */
export function flagOf(code: string | null | undefined): string {
  if (!code || !/^[A-Za-z]{2}$/.test(code)) return "";
  const base = 0x1f1e6;
  const upper = code.toUpperCase();
  return String.fromCodePoint(base + upper.charCodeAt(0) - 65, base + upper.charCodeAt(1) - 65);
}

/** m:ss (or h:mm:ss) of a number of seconds. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}
