// The app shell: routes, the top bar and the connection banner. Pages live in pages/, one file each.
import { useEffect, useRef } from "preact/hooks";
import { Notices } from "./components/Notice";
import { describeError } from "./lib/errors";
import { currentPath, match, navigate, onLinkClick } from "./lib/router";
import { loadMe, me, signOut } from "./lib/session";
import { connection } from "./lib/socket";
import { Avatar } from "./components/Avatar";
import { Announcements } from "./components/Announcements";
import { Bell } from "./components/Bell";
import { SignIn } from "./pages/SignIn";
import { Lobby } from "./pages/Lobby";
import { Room } from "./pages/Room";
import { ManageChat } from "./pages/ManageChat";
import { Settings } from "./pages/Settings";
import { JoinBySlug, JoinByInvite } from "./pages/Join";
import { Match } from "./pages/Match";
import { Admin } from "./pages/admin/Admin";
import { Profile } from "./pages/profile/Profile";
import { signal } from "@preact/signals";

const loadError = signal<string | null>(null);

/** Routes that a signed-out visitor may see; every other one sends them to sign in first. */
const PUBLIC = ["/signin"];

function Page() {
  const path = currentPath.value;
  const bare = path.split("?")[0] ?? "/";
  if (me.value === null && !PUBLIC.includes(bare)) {
    // Come back here after signing in (an invite or slug link opened while signed out).
    const next = bare === "/" ? "" : `?next=${encodeURIComponent(path)}`;
    return <Redirect to={`/signin${next}`} />;
  }
  if (bare === "/signin") return <SignIn />;
  let params: Record<string, string> | null;
  if (bare === "/match") return <Match />;
  if ((params = match("/chat/:id", path))) return <Room chatId={Number(params["id"])} key={params["id"]} />;
  // A stranger (no account) may use matchmaking and its direct chats, nothing else.
  if (me.value?.is_stranger) return <Redirect to="/match" />;
  if (bare === "/") return <Lobby />;
  if ((params = match("/chat/:id/manage", path))) return <ManageChat chatId={Number(params["id"])} />;
  if ((params = match("/c/:slug", path))) return <JoinBySlug slug={params["slug"] ?? ""} />;
  if ((params = match("/i/:code", path))) return <JoinByInvite code={params["code"] ?? ""} />;
  if (bare === "/settings" || bare.startsWith("/settings/")) return <Settings />;
  if (bare === "/admin" || bare.startsWith("/admin/")) return <Admin />;
  if ((params = match("/u/:username", path))) return <Profile username={params["username"] ?? ""} key={params["username"]} />;
  return (
    <main id="main" class="page narrow">
      <h1>Page not found</h1>
      <p>
        There is nothing at <code>{bare}</code>. <a href="/">Go to the lobby</a>.
      </p>
    </main>
  );
}

/** Replace the current history entry once rendered (navigating during a render would re-enter it). */
function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

function TopBar() {
  const user = me.value;
  if (!user) return null;
  if (user.is_stranger) return <StrangerBar />;
  return (
    <header class="topbar">
      <a class="brand" href="/" aria-label="Portal, the lobby">
        <img src="/favicon.svg" alt="" width="24" height="24" />
        <span>Portal</span>
      </a>
      <nav aria-label="Main">
        <a href="/" aria-current={currentPath.value === "/" ? "page" : undefined}>
          Lobby
        </a>
        <a href="/match" aria-current={currentPath.value.startsWith("/match") ? "page" : undefined}>
          Meet someone
        </a>
        <a href="/settings" aria-current={currentPath.value.startsWith("/settings") ? "page" : undefined}>
          Settings
        </a>
        {user.permission_level >= 1 && (
          <a href="/admin" aria-current={currentPath.value.startsWith("/admin") ? "page" : undefined}>
            Admin
          </a>
        )}
      </nav>
      <Bell userId={user.id} />
      {/* Named by hidden text, not aria-label: axe wants a label to contain the visible text, the avatar's
          initial included (label-content-name-mismatch). */}
      <a class="me" href="/settings">
        <Avatar user={user} size={28} />
        <span class="visually-hidden">{`Signed in as ${user.username}: settings`}</span>
        <span class="me-name" aria-hidden="true">
          {user.username}
        </span>
      </a>
    </header>
  );
}

/** A stranger's bar: matchmaking only, who they are, and leaving (ends the stranger session). */
function StrangerBar() {
  const user = me.value;
  if (!user) return null;
  return (
    <header class="topbar">
      <a class="brand" href="/match" aria-label="Portal, meet someone">
        <img src="/favicon.svg" alt="" width="24" height="24" />
        <span>Portal</span>
      </a>
      <nav aria-label="Main">
        <a href="/match" aria-current={currentPath.value.startsWith("/match") ? "page" : undefined}>
          Meet someone
        </a>
      </nav>
      <span class="me stranger-me">
        <Avatar user={user} size={28} />
        <span class="me-name">
          {user.username}
          <span class="visually-hidden"> (you, a stranger)</span>
        </span>
      </span>
      <button type="button" class="stranger-leave" onClick={() => void signOut()}>
        Leave
      </button>
    </header>
  );
}

function ConnectionBanner() {
  const state = connection.value;
  if (!me.value || (state !== "reconnecting" && state !== "connecting")) return null;
  return (
    <div class="banner banner-warn" role="status" aria-live="polite">
      {state === "reconnecting" ? "Connection lost. Reconnecting…" : "Connecting…"}
    </div>
  );
}

/**
 * After a route change whose page took the focused element away (the button that navigated), put focus at
 * the top of the shell, so the next Tab reaches the skip link instead of wherever the old element was.
 * A page that focused something itself (the room's composer) keeps it.
 */
function useFocusTopOnNavigation(shell: { current: HTMLDivElement | null }) {
  const path = currentPath.value;
  useEffect(() => {
    const frame = requestAnimationFrame(() => {
      const active = document.activeElement;
      if (!active || active === document.body) shell.current?.focus({ preventScroll: true });
    });
    return () => cancelAnimationFrame(frame);
  }, [path]);
}

export function App() {
  const shell = useRef<HTMLDivElement>(null);
  useFocusTopOnNavigation(shell);
  useEffect(() => {
    loadMe().catch((error) => (loadError.value = describeError(error)));
  }, []);
  if (loadError.value) {
    return (
      <main id="main" class="page narrow">
        <h1>Portal cannot start</h1>
        <p role="alert">{loadError.value}</p>
        <button type="button" onClick={() => location.reload()}>
          Try again
        </button>
      </main>
    );
  }
  if (me.value === undefined) {
    return (
      <main id="main" class="page narrow" aria-busy="true">
        <p class="muted">Loading Portal…</p>
      </main>
    );
  }
  return (
    <div class="shell" ref={shell} tabIndex={-1} onClick={onLinkClick}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <TopBar />
      <Announcements />
      <ConnectionBanner />
      <Page />
      <Notices />
    </div>
  );
}
