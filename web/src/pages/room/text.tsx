// Rendering helpers of the room: text with safe links (text nodes only, never HTML) and relative times.
import { signal } from "@preact/signals";

const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;
const TRAILING = /[.,;:!?)\]}'"]+$/;

/** Text with http(s) URLs turned into links; everything else stays a text node. */
export function Linkified({ text }: { text: string }) {
  const parts: (string | { href: string })[] = [];
  let last = 0;
  for (const found of text.matchAll(URL_RE)) {
    let href = found[0];
    const trailing = TRAILING.exec(href)?.[0] ?? "";
    if (trailing) href = href.slice(0, -trailing.length);
    const start = found.index ?? 0;
    if (start > last) parts.push(text.slice(last, start));
    parts.push({ href });
    last = start + href.length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return (
    <>
      {parts.map((part, i) =>
        typeof part === "string" ? (
          part
        ) : (
          <a key={i} href={part.href} rel="noopener noreferrer" target="_blank">
            {part.href}
          </a>
        ),
      )}
    </>
  );
}

/** Ticks every 30 s so relative times stay true. */
export const clockTick = signal(Date.now());
window.setInterval(() => (clockTick.value = Date.now()), 30_000);

export function relativeTime(iso: string, now: number): string {
  const then = Date.parse(iso);
  if (!Number.isFinite(then)) return "";
  const s = Math.round((now - then) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.max(1, Math.round(s / 60))} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(then).toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

export function Time({ iso }: { iso: string }) {
  const full = new Date(iso).toLocaleString();
  return (
    <time dateTime={iso} title={full} class="msg-time">
      {relativeTime(iso, clockTick.value)}
    </time>
  );
}

/** Length of the CiphertextV2 `content` for a plaintext of `bytes` UTF-8 bytes at `epoch`. */
export function bundleLength(bytes: number, epoch: number): number {
  const b64 = 4 * Math.ceil((24 + 16 + bytes) / 3);
  return `{"v":2,"epoch":${Math.max(0, epoch)},"ct":""}`.length + b64;
}

/** The most UTF-8 bytes a message may have so its bundle fits SendIn's 4096 characters. */
export function maxPlainBytes(epoch: number, limit = 4096): number {
  const overhead = `{"v":2,"epoch":${Math.max(0, epoch)},"ct":""}`.length;
  return Math.floor((limit - overhead) / 4) * 3 - 40;
}
