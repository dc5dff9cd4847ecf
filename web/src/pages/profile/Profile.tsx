// A user's profile `/u/{username}`: the public card for everyone; for an operator who can act on the user
// (the server answers the detail shape only then) their state, history and the platform actions their
// level allows: warn and time out (Moderator+); ban, unban, hard mute / unmute and the permission level
// (Admin+, within the assign-up-to rule: Admins up to User, Owners up to Admin).
import { useEffect, useState } from "preact/hooks";
import { Avatar } from "../../components/Avatar";
import { Dialog } from "../../components/Dialog";
import { ErrorAlert } from "../../components/ErrorAlert";
import { notify } from "../../components/Notice";
import { ApiError, api } from "../../lib/api";
import { describeError } from "../../lib/errors";
import { me } from "../../lib/session";
import { PERMISSION_NAMES, TIER_NAMES } from "../../lib/types";
import { ADMIN, MODERATOR, type ModerationAction, OWNER, UserName, past, when } from "../admin/shared";
import "./Profile.css";
import { DurationField } from "../../components/DurationField";

interface PublicProfile {
  id: number;
  username: string;
  avatar_url: string | null;
  subscription_tier: number;
}

interface DetailProfile extends PublicProfile {
  state: number;
  permission_level: number;
  subscription_expires_at: string | null;
  last_activity_at: string;
  permission_since: string | null;
  moderation_actions: ModerationAction[];
  subscription_history: { id: number; old_tier: number; new_tier: number; reason: string | null; created_at: string }[];
  permission_history: { id: number; old_level: number; new_level: number; reason: string | null; created_at: string }[];
}

type Action = "warn" | "timeout" | "ban" | "unban" | "hardmute" | "hardunmute" | "permission";

const LABELS: Record<Action, string> = {
  warn: "Warn",
  timeout: "Time out",
  ban: "Ban",
  unban: "Unban",
  hardmute: "Hard mute",
  hardunmute: "Lift hard mute",
  permission: "Change permission",
};

const EXPLAIN: Record<Action, string> = {
  warn: "A platform warning on their record. They see it in Settings → Punishments.",
  timeout: "All their sessions end now and they cannot sign in until it runs out.",
  ban: "All their sessions end now and they cannot sign in until the ban ends or is lifted.",
  unban: "Lifts a platform ban or timeout in force.",
  hardmute: "They cannot send messages in any chat until it runs out or is lifted.",
  hardunmute: "They can send messages again.",
  permission: "A change ends all their sessions; they sign in again with the new level.",
};

const DURATIONS: Record<"timeout" | "ban" | "hardmute", [number, string][]> = {
  timeout: [
    [60, "1 minute"],
    [600, "10 minutes"],
    [3600, "1 hour"],
    [86400, "1 day"],
    [7 * 86400, "7 days"],
    [30 * 86400, "30 days"],
  ],
  ban: [
    [86400, "1 day"],
    [7 * 86400, "7 days"],
    [30 * 86400, "30 days"],
    [365 * 86400, "1 year"],
    [0, "Permanent"],
  ],
  hardmute: [
    [3600, "1 hour"],
    [86400, "1 day"],
    [7 * 86400, "7 days"],
    [0, "Until lifted"],
  ],
};

/** The platform restriction in force, from the record (the detail has no end time of its own). */
function inForce(detail: DetailProfile, type: string): ModerationAction | null {
  return detail.moderation_actions.find((a) => a.action_type === type && !a.is_lifted && !past(a.expires_at)) ?? null;
}

function isDetail(profile: PublicProfile | DetailProfile): profile is DetailProfile {
  return "permission_level" in profile && "moderation_actions" in profile;
}

export function Profile({ username }: { username: string }) {
  const [profile, setProfile] = useState<PublicProfile | DetailProfile | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const [action, setAction] = useState<Action | null>(null);
  useEffect(() => {
    let live = true;
    api
      .get<PublicProfile | DetailProfile>(`/v1/users/profile/${encodeURIComponent(username)}`)
      .then((p) => live && (setProfile(p), setError(null)))
      .catch((e) => {
        if (!live) return;
        setError(e instanceof ApiError && e.status === 404 ? `No one is called ${username}.` : describeError(e));
      });
    return () => {
      live = false;
    };
  }, [username, version]);
  const viewer = me.value;
  if (error) {
    return (
      <main id="main" class="page narrow">
        <h1>Profile</h1>
        <p role="alert">{error}</p>
        <a href="/">Back to the lobby</a>
      </main>
    );
  }
  if (!profile || !viewer) {
    return (
      <main id="main" class="page narrow" aria-busy="true">
        <p class="muted">Loading the profile…</p>
      </main>
    );
  }
  const detail = isDetail(profile) ? profile : null;
  const level = viewer.permission_level;
  const self = viewer.id === profile.id;
  const actions: Action[] = [];
  if (detail && !self && level >= MODERATOR) {
    actions.push("warn", "timeout");
    if (level >= ADMIN) {
      actions.push("ban");
      if (detail.state !== 0) actions.push("unban");
      actions.push(inForce(detail, "PLATFORM_HARD_MUTE") ? "hardunmute" : "hardmute");
      if (assignable(level, detail.permission_level).length > 1) actions.push("permission");
    }
  }
  const ban = detail && (inForce(detail, "PLATFORM_BAN") ?? inForce(detail, "PLATFORM_TIMEOUT"));
  const hardMute = detail && inForce(detail, "PLATFORM_HARD_MUTE");
  return (
    <main id="main" class="page profile">
      <header class="profile-head">
        <Avatar user={profile} size={64} />
        <div>
          <h1>{profile.username}</h1>
          <p class="profile-badges">
            <span class={`badge tier-${profile.subscription_tier}`}>{TIER_NAMES[profile.subscription_tier] ?? "Basic"}</span>
            {detail && detail.permission_level > 0 && <span class="badge">{PERMISSION_NAMES[detail.permission_level]}</span>}
            {detail?.state === 1 && <span class="badge badge-danger">Timed out</span>}
            {detail?.state === 2 && <span class="badge badge-danger">Banned</span>}
            {hardMute && <span class="badge badge-warn">Hard-muted</span>}
          </p>
        </div>
      </header>
      {detail && (
        <section class="profile-card" aria-labelledby="profile-state-title">
          <h2 id="profile-state-title">Account</h2>
          <dl class="profile-facts">
            <dt>User id</dt>
            <dd>{profile.id}</dd>
            <dt>Last active</dt>
            <dd>{when(detail.last_activity_at)}</dd>
            <dt>Plan</dt>
            <dd>
              {TIER_NAMES[detail.subscription_tier]}
              {detail.subscription_expires_at ? ` until ${when(detail.subscription_expires_at)}` : ""}
            </dd>
            <dt>Standing</dt>
            <dd>
              {detail.state === 0 && "In good standing"}
              {detail.state !== 0 && ban && `${ban.action_type === "PLATFORM_BAN" ? "Banned" : "Timed out"} ${ban.expires_at ? `until ${when(ban.expires_at)}` : "for good"}${ban.reason ? ` — ${ban.reason}` : ""}`}
              {detail.state !== 0 && !ban && (detail.state === 2 ? "Banned" : "Timed out")}
              {hardMute && ` · hard-muted ${hardMute.expires_at ? `until ${when(hardMute.expires_at)}` : "until lifted"}`}
            </dd>
          </dl>
        </section>
      )}
      {actions.length > 0 && (
        <section class="profile-card" aria-labelledby="profile-actions-title">
          <h2 id="profile-actions-title">Platform actions</h2>
          <div class="profile-actions">
            {actions.map((a) => (
              <button key={a} type="button" class={a === "ban" || a === "timeout" ? "danger" : ""} onClick={() => setAction(a)}>
                {`${LABELS[a]}…`}
              </button>
            ))}
          </div>
        </section>
      )}
      {detail && !self && level >= MODERATOR && actions.length === 0 && (
        <p class="muted">You see this user's record, but no platform action applies.</p>
      )}
      {!detail && !self && level >= MODERATOR && (
        <p class="muted">{`${profile.username} is at or above your level: you cannot act on them.`}</p>
      )}
      {detail && <History detail={detail} />}
      {action && detail && (
        <ActionDialog
          action={action}
          target={detail}
          viewerLevel={level}
          onClose={() => setAction(null)}
          onDone={() => {
            setAction(null);
            setVersion((v) => v + 1);
          }}
        />
      )}
    </main>
  );
}

/** Levels the viewer may give this target, its current level included (00 §3.5). */
function assignable(viewerLevel: number, targetLevel: number): number[] {
  const ceiling = viewerLevel === OWNER ? ADMIN : viewerLevel === ADMIN ? 0 : -1;
  const canAct = viewerLevel === OWNER || viewerLevel > targetLevel;
  if (!canAct || ceiling < 0) return [];
  const levels = [];
  for (let l = 0; l <= ceiling; l++) levels.push(l);
  if (!levels.includes(targetLevel)) levels.push(targetLevel);
  return levels;
}

function History({ detail }: { detail: DetailProfile }) {
  const records = detail.moderation_actions.slice(0, 20);
  return (
    <section class="profile-card" aria-labelledby="profile-history-title">
      <h2 id="profile-history-title">Record</h2>
      {records.length === 0 ? (
        <p class="muted">No warnings, timeouts, bans or mutes.</p>
      ) : (
        <ul class="profile-records">
          {records.map((r) => (
            <li key={r.id}>
              <span class="admin-strong">{r.action_type.replace(/^PLATFORM_|^CHAT_/, "").toLowerCase().replace(/_/g, " ")}</span>
              {r.chat_id !== null && <span class="muted">{` in chat #${r.chat_id}`}</span>}
              <span class="muted small">
                {` · ${when(r.created_at)}`}
                {r.expires_at ? ` · until ${when(r.expires_at)}` : ""}
                {r.is_lifted ? " · lifted" : ""}
              </span>
              {r.reason && <span class="profile-reason">{r.reason}</span>}
              {r.issued_by_id !== null && (
                <span class="muted small">
                  {" by "}
                  <UserName id={r.issued_by_id} />
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      {detail.permission_history.length > 0 && (
        <p class="muted small">
          {`Permission: ${detail.permission_history
            .slice(0, 3)
            .map((p) => `${PERMISSION_NAMES[p.old_level] ?? p.old_level} → ${PERMISSION_NAMES[p.new_level] ?? p.new_level} (${when(p.created_at)})`)
            .join(", ")}`}
        </p>
      )}
    </section>
  );
}

function ActionDialog({
  action,
  target,
  viewerLevel,
  onClose,
  onDone,
}: {
  action: Action;
  target: DetailProfile;
  viewerLevel: number;
  onClose: () => void;
  onDone: () => void;
}) {
  const options = action === "timeout" || action === "ban" || action === "hardmute" ? DURATIONS[action] : null;
  const [duration, setDuration] = useState(options?.[2]?.[0] ?? options?.[0]?.[0] ?? 0);
  const [reason, setReason] = useState("");
  const [newLevel, setNewLevel] = useState(target.permission_level);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const reasonRequired = action === "warn" || action === "timeout" || action === "ban" || action === "unban";
  const hasReason = action !== "hardunmute";
  const label = LABELS[action];
  const name = target.username;

  async function run(): Promise<string> {
    const id = target.id;
    const why = reason.trim();
    switch (action) {
      case "warn":
        await api.post(`/v1/admin/users/${id}/warn`, { reason: why });
        return `${name} was warned.`;
      case "timeout":
        await api.post(`/v1/admin/users/${id}/timeout`, { reason: why, duration });
        return `${name} is timed out and signed out everywhere.`;
      case "ban":
        await api.post(`/v1/admin/users/${id}/ban`, { reason: why, duration });
        return `${name} is banned and signed out everywhere.`;
      case "unban": {
        const answer = await api.post<{ id: number | null }>(`/v1/admin/users/${id}/unban`, { reason: why });
        return answer.id === null ? `${name} had no ban or timeout in force.` : `${name} may sign in again.`;
      }
      case "hardmute":
        await api.post("/v1/portal/hard-mute", { user_id: id, duration, ...(why ? { reason: why } : {}) });
        return `${name} is muted in every chat.`;
      case "hardunmute":
        await api.post("/v1/portal/hard-unmute", { user_id: id });
        return `${name} may send messages again.`;
      case "permission": {
        const answer = await api.post<{ message: string }>(`/v1/admin/users/${id}/permission`, {
          permission_level: newLevel,
          ...(why ? { reason: why } : {}),
        });
        return `${name} is now ${PERMISSION_NAMES[newLevel] ?? newLevel}. ${answer.message}.`;
      }
    }
  }

  return (
    <Dialog title={`${label} ${name}`} open onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (busy) return;
          if (reasonRequired && !reason.trim()) {
            setError("Give a reason: it is kept on their record and shown to them.");
            return;
          }
          setBusy(true);
          setError(null);
          try {
            notify(await run());
            onDone();
          } catch (e) {
            setError(
              e instanceof ApiError && e.status === 403 && e.error === "Access denied"
                ? `You cannot do that to ${name}: they must be below your level${action === "permission" ? ", and you may give at most the levels listed" : ""}.`
                : describeError(e),
            );
          } finally {
            setBusy(false);
          }
        }}
      >
        <p class="muted">{EXPLAIN[action]}</p>
        {options && <DurationField id="op-duration" value={duration} options={options} onChange={setDuration} />}
        {action === "permission" && (
          <div class="field">
            <label for="op-level">Permission level</label>
            <select id="op-level" value={newLevel} onChange={(e) => setNewLevel(Number((e.target as HTMLSelectElement).value))}>
              {assignable(viewerLevel, target.permission_level).map((l) => (
                <option key={l} value={l}>
                  {`${PERMISSION_NAMES[l]}${l === target.permission_level ? " (now)" : ""}`}
                </option>
              ))}
            </select>
          </div>
        )}
        {hasReason && (
          <div class="field">
            <label for="op-reason">
              Reason <span class="hint">{reasonRequired ? "required, shown to them" : "optional"}</span>
            </label>
            <input id="op-reason" type="text" maxLength={500} aria-required={reasonRequired} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
          </div>
        )}
        <ErrorAlert error={error} />
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button
            type="submit"
            class={action === "ban" || action === "timeout" || action === "hardmute" ? "danger" : "primary"}
            disabled={busy || (action === "permission" && newLevel === target.permission_level)}
            aria-busy={busy}
          >
            {label}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
