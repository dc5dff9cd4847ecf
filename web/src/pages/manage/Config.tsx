// The settings tab: `POST /v1/portal/chats/{id}/config/update` with only the changed fields.
// A link name (slug) makes a private chat public; no link name makes it private again (not for official
// chats). The description is only changeable by Portal's admins (their own API), so it is shown read-only.
import { useState } from "preact/hooks";
import { api } from "../../lib/api";
import { describeError } from "../../lib/errors";
import { WIPE_PRESETS, type ChatDetail } from "../../lib/types";

const WIPE_NAMES: Record<string, string> = {
  "1m": "every minute",
  "15m": "every 15 minutes",
  "1h": "every hour",
  "4h": "every 4 hours",
  "24h": "every 24 hours",
};
const SLUG = /^[a-z0-9-]{2,32}$/;

const FLAGS = [
  {
    key: "history_visible",
    label: "Newcomers can read earlier messages",
    hint: "Off: the chat's key changes whenever someone new joins, so they read only what follows.",
  },
  {
    key: "allow_control_requests",
    label: "Viewers may ask to control the shared browser",
    hint: "They join a queue; the host or a manager hands over control.",
  },
  {
    key: "locked_controls",
    label: "Lock control",
    hint: "Only the owner and managers can take or hand out control.",
  },
  {
    key: "implicit_hosting",
    label: "First one in hosts",
    hint: "The first person to join gets control when nobody has it.",
  },
  {
    key: "inactive_cursors",
    label: "Show everyone's cursor",
    hint: "Also show the cursors of people who do not have control.",
  },
] as const;
type FlagKey = (typeof FLAGS)[number]["key"];

export function ConfigPanel({ chat, onSaved }: { chat: ChatDetail; onSaved: () => void }) {
  const official = chat.visibility === "official";
  const [name, setName] = useState(chat.name);
  const [isPublic, setPublic] = useState(chat.visibility !== "private");
  const [slug, setSlug] = useState(chat.slug ?? "");
  const [wipe, setWipe] = useState(chat.wipe_preset ?? "");
  const [flags, setFlags] = useState<Record<FlagKey, boolean>>({
    history_visible: chat.history_visible ?? true,
    allow_control_requests: chat.allow_control_requests ?? false,
    locked_controls: chat.locked_controls ?? false,
    implicit_hosting: chat.implicit_hosting ?? false,
    inactive_cursors: chat.inactive_cursors ?? false,
  });
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<{ kind: "ok" | "error"; text: string } | null>(null);

  const changes: Record<string, unknown> = {};
  if (name.trim() !== chat.name) changes["name"] = name.trim();
  const wantedSlug = isPublic ? slug.trim() : null;
  if (wantedSlug !== (chat.visibility === "private" ? null : chat.slug)) changes["slug"] = wantedSlug;
  if ((wipe || null) !== (chat.wipe_preset ?? null)) changes["wipe_preset"] = wipe || null;
  for (const { key } of FLAGS) {
    if (flags[key] !== chat[key]) changes[key] = flags[key];
  }
  const dirty = Object.keys(changes).length > 0;
  const nameOk = name.trim().length >= 2 && name.trim().length <= 64;
  const slugOk = !isPublic || SLUG.test(slug.trim());
  const goingPrivate = chat.visibility === "public" && !isPublic;

  async function save(event: Event) {
    event.preventDefault();
    if (!dirty || busy || !nameOk || !slugOk) return;
    setBusy(true);
    setStatus(null);
    try {
      await api.post(`/v1/portal/chats/${chat.id}/config/update`, changes);
      setStatus({ kind: "ok", text: "Saved." });
      onSaved();
    } catch (error) {
      setStatus({ kind: "error", text: describeError(error) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="manage-form" onSubmit={save}>
      <fieldset class="card">
        <legend>About</legend>
        <div class="field">
          <label for="config-name">Name</label>
          <input
            id="config-name"
            type="text"
            required
            minLength={2}
            maxLength={64}
            value={name}
            onInput={(event) => setName(event.currentTarget.value)}
            aria-invalid={!nameOk}
            aria-describedby="config-name-hint"
          />
          <span id="config-name-hint" class="hint">
            2 to 64 characters.
          </span>
        </div>
        <div class="field">
          <span class="label-like" id="config-description-label">
            Description
          </span>
          <p class="config-description" aria-labelledby="config-description-label">
            {chat.description || <span class="muted">No description.</span>}
          </p>
          <span class="hint">Only Portal's admins can change a chat's description.</span>
        </div>
      </fieldset>

      <fieldset class="card">
        <legend>Who can find it</legend>
        {official ? (
          <p class="hint">
            Official chat{chat.label ? ` (“${chat.label}”)` : ""}: listed first in every lobby. Portal's admins set
            this; it keeps a link name.
          </p>
        ) : (
          <div class="radio-group" role="radiogroup" aria-label="Visibility">
            <label class="check">
              <input type="radio" name="visibility" checked={!isPublic} onChange={() => setPublic(false)} />
              <span>
                Private <span class="hint">Only you and the people you invite can see and join it.</span>
              </span>
            </label>
            <label class="check">
              <input type="radio" name="visibility" checked={isPublic} onChange={() => setPublic(true)} />
              <span>
                Public <span class="hint">Listed in the lobby for everyone signed in, and opens at its link.</span>
              </span>
            </label>
          </div>
        )}
        {isPublic && (
          <div class="field">
            <label for="config-slug">Link name</label>
            <div class="slug-input">
              <span class="slug-prefix" aria-hidden="true">
                /c/
              </span>
              <input
                id="config-slug"
                type="text"
                required
                minLength={2}
                maxLength={32}
                pattern={"[a-z0-9\\-]{2,32}"}
                autoComplete="off"
                spellcheck={false}
                value={slug}
                onInput={(event) => setSlug(event.currentTarget.value.toLowerCase())}
                aria-invalid={!slugOk}
                aria-describedby="config-slug-hint"
              />
            </div>
            <span id="config-slug-hint" class="hint">
              2 to 32 characters: lowercase letters, digits and hyphens.
              {slugOk && slug.trim() ? (
                <>
                  {" "}
                  Opens at <span class="mono-inline">{`${location.origin}/c/${slug.trim()}`}</span>
                </>
              ) : null}
            </span>
          </div>
        )}
        {goingPrivate && (
          <p class="warning" role="note">
            Making it private removes everyone who only joined through the lobby: only you and invited members keep
            it.
          </p>
        )}
      </fieldset>

      <fieldset class="card">
        <legend>Messages</legend>
        <div class="field">
          <label for="config-wipe">Auto-wipe</label>
          <select
            id="config-wipe"
            value={wipe}
            onChange={(event) => setWipe(event.currentTarget.value)}
            aria-describedby="config-wipe-hint"
          >
            <option value="">Off: keep messages</option>
            {WIPE_PRESETS.map((preset) => (
              <option key={preset} value={preset}>
                Delete all messages {WIPE_NAMES[preset]}
              </option>
            ))}
          </select>
          <span id="config-wipe-hint" class="hint">
            A wipe deletes every message and changes the chat's key. Setting it restarts its timer.
          </span>
        </div>
        <FlagField flag={FLAGS[0]} flags={flags} setFlags={setFlags} />
      </fieldset>

      <fieldset class="card">
        <legend>Shared browser control</legend>
        {FLAGS.slice(1).map((flag) => (
          <FlagField key={flag.key} flag={flag} flags={flags} setFlags={setFlags} />
        ))}
      </fieldset>

      <div class="manage-save">
        <button type="submit" class="primary" disabled={!dirty || busy || !nameOk || !slugOk}>
          {busy ? "Saving…" : "Save changes"}
        </button>
        <span class="muted small">{dirty ? `${Object.keys(changes).length} unsaved` : "No changes"}</span>
        <div role="status" aria-live="polite" class="manage-status">
          {status && <span class={status.kind === "ok" ? "success" : "error"}>{status.text}</span>}
        </div>
      </div>
    </form>
  );
}

function FlagField(props: {
  flag: (typeof FLAGS)[number];
  flags: Record<FlagKey, boolean>;
  setFlags: (next: Record<FlagKey, boolean>) => void;
}) {
  const { flag, flags, setFlags } = props;
  const id = `config-${flag.key}`;
  return (
    <div class="field">
      <label class="check" for={id}>
        <input
          id={id}
          type="checkbox"
          checked={flags[flag.key]}
          onChange={(event) => setFlags({ ...flags, [flag.key]: event.currentTarget.checked })}
          aria-describedby={`${id}-hint`}
        />
        {flag.label}
      </label>
      <span id={`${id}-hint`} class="hint flag-hint">
        {flag.hint}
      </span>
    </div>
  );
}
