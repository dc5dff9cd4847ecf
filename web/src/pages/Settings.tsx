// Settings: profile, sessions, subscription and slots, punishments, as sub-routes `/settings/<tab>`, and log out.
import { useState } from "preact/hooks";
import { currentPath, navigate } from "../lib/router";
import { me, signOut } from "../lib/session";
import { Profile } from "./settings/Profile";
import { Punishments } from "./settings/Punishments";
import { Sessions } from "./settings/Sessions";
import { Subscription } from "./settings/Subscription";
import "./Settings.css";

const TABS = [
  { id: "profile", label: "Profile" },
  { id: "sessions", label: "Sessions" },
  { id: "subscription", label: "Subscription" },
  { id: "punishments", label: "Punishments" },
] as const;

type TabId = (typeof TABS)[number]["id"];

function currentTab(): TabId | null {
  const bare = currentPath.value.split("?")[0] ?? "";
  const part = bare.replace(/^\/settings\/?/, "").split("/")[0] ?? "";
  if (part === "") return "profile";
  return TABS.find((tab) => tab.id === part)?.id ?? null;
}

export function Settings() {
  const tab = currentTab();
  const [leaving, setLeaving] = useState(false);
  const user = me.value;
  if (!user) return null;
  if (tab === null) {
    navigate("/settings/profile", { replace: true });
    return null;
  }
  const label = TABS.find((t) => t.id === tab)?.label ?? "";

  async function logOut() {
    if (leaving) return;
    setLeaving(true);
    await signOut();
  }

  return (
    <main id="main" class="page settings">
      <div class="settings-head">
        <h1>Settings</h1>
        <button type="button" class="settings-logout" onClick={() => void logOut()} disabled={leaving} aria-busy={leaving}>
          {leaving ? "Logging out…" : "Log out"}
        </button>
      </div>
      <div class="settings-layout">
        <nav class="settings-tabs" aria-label="Settings sections">
          {TABS.map((t) => (
            <a key={t.id} href={`/settings/${t.id}`} aria-current={t.id === tab ? "page" : undefined}>
              {t.label}
            </a>
          ))}
        </nav>
        <section class="settings-panel" aria-labelledby="settings-panel-title">
          <h2 id="settings-panel-title">{label}</h2>
          {tab === "profile" && <Profile user={user} />}
          {tab === "sessions" && <Sessions />}
          {tab === "subscription" && <Subscription user={user} />}
          {tab === "punishments" && <Punishments />}
        </section>
      </div>
    </main>
  );
}
