// The member list (online dots, permission badges) with a menu per member for those who may moderate:
// kick, mute, ban, timeout, warn — each through a dialog asking duration and reason.
import { useEffect, useState } from "preact/hooks";
import { Avatar } from "../../components/Avatar";
import { Dialog } from "../../components/Dialog";
import { notify } from "../../components/Notice";
import { describeError } from "../../lib/errors";
import { navigate } from "../../lib/router";
import { type MemberEntry, PERMISSION_NAMES } from "../../lib/types";
import type { ModAction, RoomModel } from "./model";
import type { ChatRights } from "./permissions";
import { Menu } from "./Menu";
import { DurationField } from "../../components/DurationField";

const ACTIONS: { action: ModAction; label: string }[] = [
  { action: "kick", label: "Kick" },
  { action: "mute", label: "Mute" },
  { action: "ban", label: "Ban" },
  { action: "timeout", label: "Time out" },
  { action: "warn", label: "Warn" },
];

export function Members({ model, rights }: { model: RoomModel; rights: ChatRights | null }) {
  const members = [...model.members.value].sort(
    (a, b) => Number(b.online) - Number(a.online) || a.user.username.localeCompare(b.user.username),
  );
  const [target, setTarget] = useState<{ member: MemberEntry; action: ModAction } | null>(null);
  const ownerId = model.chat.value?.owner?.id;
  return (
    <section class="members" aria-labelledby="members-title">
      <h2 id="members-title" class="members-title">
        Members <span class="muted small">({members.filter((m) => m.online).length} online)</span>
      </h2>
      <ul class="member-list">
        {members.map((m) => (
          <li key={m.user.id} class="member">
            <span class="member-avatar">
              <Avatar user={m.user} size={28} />
              <span class={`dot ${m.online ? "online" : "offline"}`} title={m.online ? "Online" : "Offline"} />
            </span>
            <span class="member-info">
              <span class="member-name">
                {m.user.username}
                {m.user.id === model.me.id && <span class="muted"> (you)</span>}
                <span class="visually-hidden">{m.online ? ", online" : ", offline"}</span>
              </span>
              {(m.user.id === ownerId || m.user.permission_level > 0) && (
                <span class="member-badges">
                  {m.user.id === ownerId && <span class="badge">Chat owner</span>}
                  {m.user.permission_level > 0 && <span class="badge">{PERMISSION_NAMES[m.user.permission_level]}</span>}
                </span>
              )}
            </span>
            {(rights?.mayTarget({ id: m.user.id, permission_level: m.user.permission_level }) || platformOp(model, m)) && (
              <Menu
                label={`Moderate ${m.user.username}`}
                items={[
                  ...(rights?.mayTarget({ id: m.user.id, permission_level: m.user.permission_level })
                    ? ACTIONS.map(({ action, label }) => ({
                        label,
                        danger: action === "ban" || action === "kick",
                        onSelect: () => setTarget({ member: m, action }),
                      }))
                    : []),
                  // Platform actions (warn, timeout, ban, hard mute, permission) live on the profile.
                  ...(platformOp(model, m)
                    ? [{ label: "Profile and platform actions", onSelect: () => navigate(`/u/${encodeURIComponent(m.user.username)}`) }]
                    : []),
                ]}
              >
                ⋯
              </Menu>
            )}
          </li>
        ))}
      </ul>
      <ModerateDialog model={model} target={target} onClose={() => setTarget(null)} />
    </section>
  );
}

/** A platform Moderator+ who outranks this member (`can_act_on`): the profile's platform actions apply. */
function platformOp(model: RoomModel, m: MemberEntry): boolean {
  const level = model.me.permission_level;
  if (m.user.id === model.me.id || level < 1) return false;
  return level === 3 || level > m.user.permission_level;
}

const DURATIONS: Record<"mute" | "ban" | "timeout", [number, string][]> = {
  mute: [
    [60, "1 minute"],
    [300, "5 minutes"],
    [3600, "1 hour"],
    [86400, "1 day"],
    [0, "Until unmuted"],
  ],
  ban: [
    [3600, "1 hour"],
    [86400, "1 day"],
    [7 * 86400, "7 days"],
    [30 * 86400, "30 days"],
    [0, "Permanent"],
  ],
  timeout: [
    [60, "1 minute"],
    [600, "10 minutes"],
    [3600, "1 hour"],
    [86400, "1 day"],
    [7 * 86400, "7 days"],
  ],
};

const EXPLAIN: Record<ModAction, string> = {
  kick: "They leave the room at once and the chat key changes, so they cannot read what follows. They may come back.",
  mute: "They stay in the room but cannot send messages here.",
  ban: "They are removed and cannot come back until the ban ends.",
  timeout: "A platform-wide timeout: all their sessions end until it runs out.",
  warn: "A warning on their record, announced in this chat.",
};

function ModerateDialog({
  model,
  target,
  onClose,
}: {
  model: RoomModel;
  target: { member: MemberEntry; action: ModAction } | null;
  onClose: () => void;
}) {
  const [duration, setDuration] = useState(300);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const action = target?.action ?? "kick";
  const options = action === "mute" || action === "ban" || action === "timeout" ? DURATIONS[action] : null;
  useEffect(() => {
    setDuration(options?.[1]?.[0] ?? 0);
    setReason("");
    setError(null);
  }, [target]);
  const label = ACTIONS.find((a) => a.action === action)?.label ?? action;
  const name = target?.member.user.username ?? "";
  return (
    <Dialog title={`${label} ${name}`} open={target !== null} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (!target || busy) return;
          setBusy(true);
          setError(null);
          try {
            await model.moderate(action, target.member.user.id, duration, reason);
            notify(`${label}: done for ${name}.`);
            onClose();
          } catch (e) {
            setError(describeError(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        <p class="muted">{EXPLAIN[action]}</p>
        {options && <DurationField id="mod-duration" value={duration} options={options} onChange={setDuration} />}
        <div class="field">
          <label for="mod-reason">
            Reason <span class="hint">optional, shown to the room</span>
          </label>
          <input id="mod-reason" type="text" maxLength={500} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
        </div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class={action === "warn" || action === "mute" ? "primary" : "danger"} disabled={busy}>
            {label}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
