// The operators' page `/admin/<tab>`: bots, subscriptions and announcements for Admins and Owners; users
// (find, block a stranger) and the audit log for Moderators too. Users are told they are not operators.
import { currentPath, navigate } from "../../lib/router";
import { me } from "../../lib/session";
import { ADMIN, MODERATOR } from "./shared";
import { Bots } from "./Bots";
import { Subscriptions } from "./Subscriptions";
import { Announcements } from "./Announcements";
import { Audit } from "./Audit";
import { Users } from "./Users";
import "./Admin.css";

const TABS = [
  { id: "bots", label: "Bots", level: ADMIN },
  { id: "subscriptions", label: "Subscriptions", level: ADMIN },
  { id: "announcements", label: "Announcements", level: ADMIN },
  { id: "users", label: "Users", level: MODERATOR },
  { id: "audit", label: "Audit log", level: MODERATOR },
] as const;

type TabId = (typeof TABS)[number]["id"];

export function Admin() {
  const user = me.value;
  if (!user) return null;
  const level = user.permission_level;
  if (level < MODERATOR) {
    return (
      <main id="main" class="page narrow">
        <h1>You are not an operator</h1>
        <p>
          This page is for Portal's moderators and administrators. <a href="/">Back to the lobby</a>.
        </p>
      </main>
    );
  }
  const allowed = TABS.filter((t) => level >= t.level);
  const bare = currentPath.value.split("?")[0] ?? "";
  const part = bare.replace(/^\/admin\/?/, "").split("/")[0] ?? "";
  const tab = allowed.find((t) => t.id === part);
  if (!tab) {
    const first = allowed[0]?.id ?? "audit";
    // An Admin-only tab opened by a Moderator, or no tab: the first one they may see.
    queueMicrotask(() => navigate(`/admin/${first}`, { replace: true }));
    return null;
  }
  const id: TabId = tab.id;
  return (
    <main id="main" class="page admin">
      <h1>Administration</h1>
      <nav class="admin-tabs" aria-label="Administration sections">
        {allowed.map((t) => (
          <a key={t.id} href={`/admin/${t.id}`} aria-current={t.id === id ? "page" : undefined}>
            {t.label}
          </a>
        ))}
      </nav>
      <section class="admin-panel" aria-labelledby="admin-panel-title">
        <h2 id="admin-panel-title">{tab.label}</h2>
        {id === "bots" && <Bots />}
        {id === "subscriptions" && <Subscriptions />}
        {id === "announcements" && <Announcements />}
        {id === "users" && <Users />}
        {id === "audit" && <Audit />}
      </section>
    </main>
  );
}
