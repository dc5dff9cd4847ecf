// REST calls: same-origin fetch with the `psession` cookie; every failure becomes an ApiError carrying the
// server's error envelope `{"error": <text or ERR_ code>, "correlation_id", ...extra}`.
import { config } from "./config";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The envelope's `error`: a sentence ("Chat not found") or a code ("ERR_MUTED"). */
    readonly error: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(error);
    this.name = "ApiError";
  }

  /** Seconds to wait, from `ttl` in the body or `Retry-After`. */
  get ttl(): number | null {
    const ttl = this.extra["ttl"] ?? this.extra["retry_after"];
    return typeof ttl === "number" ? ttl : null;
  }
}

/** Raised (as status 0) when the server cannot be reached at all. */
export const OFFLINE = "ERR_OFFLINE";

type Query = Record<string, string | number | boolean | undefined | null>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** Signals "the session is gone" (401 on an authenticated call) to whoever listens (the app shell). */
export const unauthorizedListeners = new Set<() => void>();

async function call<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (path.startsWith("/v1/authentication/")) headers["X-API-Key"] = config.public_api_key;
  let response: Response;
  try {
    response = await fetch(withQuery(path, query), {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, OFFLINE);
  }
  const text = await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const envelope = (data && typeof data === "object" ? data : {}) as Record<string, unknown>;
    const { error, correlation_id: _cid, ...extra } = envelope;
    const retryAfter = Number(response.headers.get("Retry-After"));
    if (!("ttl" in extra) && Number.isFinite(retryAfter) && retryAfter > 0) extra["retry_after"] = retryAfter;
    if (response.status === 401 && !path.startsWith("/v1/authentication/")) {
      unauthorizedListeners.forEach((listener) => listener());
    }
    throw new ApiError(response.status, typeof error === "string" ? error : response.statusText, extra);
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, query?: Query) => call<T>("GET", path, undefined, query),
  post: <T>(path: string, body: unknown = {}) => call<T>("POST", path, body),
};
