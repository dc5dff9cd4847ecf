// A tiny router: the path is a signal; links and `navigate` push history entries. Routes are listed in
// app.tsx. Client routes are served index.html by the server (SPA fallback).
import { signal } from "@preact/signals";

export const currentPath = signal(location.pathname + location.search);

export function navigate(path: string, { replace = false } = {}): void {
  if (path === currentPath.value) return;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  currentPath.value = path;
  window.scrollTo(0, 0);
}

window.addEventListener("popstate", () => {
  currentPath.value = location.pathname + location.search;
});

/** Match `pattern` ("/chat/:id") against a path; the named parts, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const bare = path.split("?")[0] ?? "";
  const want = pattern.split("/").filter(Boolean);
  const got = bare.split("/").filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const g = got[i] as string;
    if (w.startsWith(":")) params[w.slice(1)] = decodeURIComponent(g);
    else if (w !== g) return null;
  }
  return params;
}

/** Plain left clicks on same-origin links navigate without a reload. */
export function onLinkClick(event: MouseEvent): void {
  const anchor = (event.target as Element | null)?.closest?.("a");
  if (!anchor || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (anchor.target && anchor.target !== "_self") return;
  const url = new URL(anchor.href, location.href);
  if (url.origin !== location.origin || anchor.hasAttribute("download")) return;
  if (/^\/(v1|docs|redoc|health|openapi\.json|socket\.io)(\/|$)/.test(url.pathname)) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
}
