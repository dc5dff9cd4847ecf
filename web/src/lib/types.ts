// Wire shapes the web client reads (the server's OpenAPI at /docs and docs/realtime.md are the truth).

export interface UserRef {
  id: number;
  username: string;
  avatar_url: string | null;
}

export interface LinkedPlatform {
  platform: string;
  platform_user_id: string;
  platform_username?: string | null;
  platform_avatar_url?: string | null;
}

export interface Me extends UserRef {
  subscription_tier: number;
  state: number;
  permission_level: number;
  subscription_expires_at: string | null;
  avatar_source: string | null;
  linked_platforms: LinkedPlatform[];
  created_at: string;
  /** A stranger (no account, `POST /v1/authentication/stranger`): only matchmaking and its direct chats. */
  is_stranger?: boolean;
  /** When a stranger's 24-hour session ends. */
  stranger_expires_at?: string;
}

export interface Chat {
  id: number;
  chat_type: "group" | "direct" | string;
  name: string;
  owner: UserRef | null;
  visibility: "official" | "public" | "private" | string;
  label: string | null;
  slug: string | null;
  description: string | null;
  avatar_url: string | null;
  archived: boolean;
}

export interface LiveStatus {
  chat_id: number;
  running: boolean;
  viewer_count: number;
}

export interface MemberEntry {
  user: UserRef & { permission_level: number };
  online: boolean;
}

export interface SessionKey {
  user_id: number;
  session_id: string;
  public_key: string;
}

export interface Distributor {
  user_id: number;
  session_id: string;
}

export interface HistoryMessage {
  chat_id: number;
  chat_name?: string;
  id: string;
  sender: UserRef | null;
  permission_level: number | null;
  content: string;
  type: "user" | "system" | string;
  epoch: string;
  timestamp: string;
}

export interface JoinAck {
  ok: true;
  chat: Chat;
  epoch: number;
  history_visible: boolean;
  members: MemberEntry[];
  public_keys: SessionKey[];
  key: { epoch: number; blob: string } | null;
  distributor: Distributor | null;
  live: { running: boolean; viewer_count: number };
  vm: Record<string, unknown> | null;
  control: { host_user_id: number | null; queue: number[] } | null;
}

export const PERMISSION_NAMES = ["User", "Moderator", "Admin", "Owner"] as const;
export const TIER_NAMES = ["Basic", "Trial", "Premium", "Lifetime"] as const;

// ---- lobby and chat management (issue 10, lobby part) ----

/** `GET /v1/users/me/chats`: the group chats you own (they take your chat slots). */
export interface OwnedChat {
  id: number;
  name: string;
  is_public: boolean;
  visibility: string;
  created_at: string;
}

export const WIPE_PRESETS = ["1m", "15m", "1h", "4h", "24h"] as const;

/** The config fields `GET /v1/portal/chats/{id}` adds for those who may manage the chat. */
export interface ChatConfig {
  wipe_preset: string | null;
  history_visible: boolean;
  allow_control_requests: boolean;
  locked_controls: boolean;
  implicit_hosting: boolean;
  inactive_cursors: boolean;
  browser_config: { browser: string; start_url: string | null; kiosk: boolean };
}

export interface ChatDetail extends Chat, Partial<ChatConfig> {
  live: { running: boolean; viewer_count: number };
}

export interface Invite {
  code: string;
  chat_id: number;
  created_by_id: number | null;
  created_at: string;
  expires_at: string | null;
  uses: number;
  max_uses: number | null;
}

export interface ActivityEvent {
  user: UserRef;
  action: "join" | "leave" | "kick" | "ban" | string;
  method: string | null;
  invite_code: string | null;
  created_at: string;
  actor: UserRef | null;
}

export interface ActivityPage {
  events: ActivityEvent[];
  total: number;
  offset: number;
  limit: number;
}

export interface InvitesOut {
  invites: Invite[];
}

// ---- matchmaking and strangers (issue 13, item 3) ----

/** `POST /v1/authentication/stranger`: an anonymous 24-hour session for matchmaking. */
export interface StrangerOut {
  id: number;
  username: string;
  is_stranger: true;
  expires_at: string;
}

/** The other person of a direct chat, as `match:found` shows them. */
export interface MatchPeer extends UserRef {
  is_stranger: boolean;
  /** ISO 3166 alpha-2 of a stranger peer's IP, when known; null for registered peers. */
  country_code: string | null;
}

/** `match:found` (docs/realtime.md): one per user of a new pair. */
export interface MatchFound {
  chat_id: number;
  token: string;
  matched_on: string[];
  expires_at: string;
  peer: MatchPeer;
}

/** `GET /v1/portal/match/status` and the answers of enqueue / dequeue. */
export interface MatchStatus {
  state: "idle" | "searching" | "matched";
  interests?: string[];
  token?: string;
  expires_at?: string;
  chats?: { chat_id: number; token: string; expires_at: string }[];
}
