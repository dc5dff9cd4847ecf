// Profile: the username (per-field errors from `UpdateMeOut.errors`), the avatar's source and the linked apps.
import { useEffect, useRef, useState } from "preact/hooks";
import { Avatar } from "../../components/Avatar";
import { notify } from "../../components/Notice";
import { api } from "../../lib/api";
import { describeError } from "../../lib/errors";
import { currentPath } from "../../lib/router";
import { me } from "../../lib/session";
import type { LinkedPlatform, Me } from "../../lib/types";
import { USERNAME_RE, platformName } from "../SignIn";
import { DateText } from "./common";
import { ErrorAlert } from "../../components/ErrorAlert";

interface UpdateMeOut {
  user: Me;
  errors: Record<string, string> | null;
}

type LinkedPlatformFull = LinkedPlatform & { linked_at?: string; last_authenticated_at?: string | null };

const DEFAULT_AVATARS = [0, 1, 2, 3, 4, 5].map((i) => ({
  key: `discord_${i}`,
  url: `https://cdn.discordapp.com/embed/avatars/${i}.png`,
}));

/** Server messages of `errors.<field>`, said a little more kindly. */
function fieldWords(message: string): string {
  if (message === "username is already taken") return "Someone already has that username. Try another one.";
  if (message === "username contains invalid characters")
    return "Use only letters, digits, dots (.), underscores (_) and hyphens (-).";
  return message.charAt(0).toUpperCase() + message.slice(1) + ".";
}

async function update(body: Record<string, string>): Promise<UpdateMeOut> {
  const out = await api.post<UpdateMeOut>("/v1/users/me/update", body);
  me.value = out.user;
  return out;
}

export function Profile({ user }: { user: Me }) {
  const welcome =
    new URLSearchParams(currentPath.value.split("?")[1] ?? "").has("welcome") || /^user_[0-9a-f]{8}$/.test(user.username);
  return (
    <>
      {welcome && (
        <div class="settings-welcome" role="status">
          <p>
            <strong>Welcome to Portal!</strong> We gave you the name <code>{user.username}</code> for now: pick a
            username people will recognise.
          </p>
        </div>
      )}
      <UsernameForm user={user} autoFocus={welcome} />
      <AvatarForm user={user} />
      <LinkedPlatforms platforms={user.linked_platforms as LinkedPlatformFull[]} />
    </>
  );
}

function UsernameForm({ user, autoFocus }: { user: Me; autoFocus: boolean }) {
  const [name, setName] = useState(user.username);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (autoFocus) input.current?.focus();
  }, []);

  async function submit(event: Event) {
    event.preventDefault();
    if (busy) return;
    const value = name.trim();
    setName(value);
    if (!USERNAME_RE.test(value)) {
      setError("A username has 3 to 32 characters: letters, digits, dots (.), underscores (_) and hyphens (-).");
      input.current?.focus();
      return;
    }
    if (value === user.username) {
      setError(null);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const out = await update({ username: value });
      const problem = out.errors?.["username"];
      if (problem) {
        setError(fieldWords(problem));
        input.current?.focus();
      } else {
        notify(`Your username is now ${out.user.username}.`);
      }
    } catch (cause) {
      setError(describeError(cause));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="settings-block" onSubmit={(event) => void submit(event)} noValidate>
      <div class="field">
        <label for="settings-username">Username</label>
        <div class="settings-inline">
          <input
            id="settings-username"
            ref={input}
            name="username"
            autocomplete="username"
            autocapitalize="off"
            spellcheck={false}
            value={name}
            aria-invalid={error ? "true" : undefined}
            aria-describedby="settings-username-hint settings-username-error"
            onInput={(event) => setName(event.currentTarget.value)}
          />
          <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
            {busy ? "Saving…" : "Save"}
          </button>
        </div>
        <span id="settings-username-hint" class="hint">
          3 to 32 characters: letters, digits, dots, underscores and hyphens. People sign in with it.
        </span>
        <div id="settings-username-error" aria-live="assertive">
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
        </div>
      </div>
    </form>
  );
}

function AvatarForm({ user }: { user: Me }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [pending, setPending] = useState<string | null>(null);
  const current = user.avatar_source ?? "";
  const platforms = user.linked_platforms as LinkedPlatformFull[];
  // The default pictures come from Discord's CDN: fetched only when asked for.
  const [showDefaults, setShowDefaults] = useState(current.startsWith("discord_"));

  async function choose(value: string) {
    if (busy || value === current) return;
    setBusy(true);
    setPending(value);
    setError(null);
    try {
      const out = await update({ avatar_source: value });
      const problem = out.errors?.["avatar_source"];
      if (problem) setError(fieldWords(problem));
      else notify("Your avatar was changed.");
    } catch (cause) {
      setError(describeError(cause));
    } finally {
      setBusy(false);
      setPending(null);
    }
  }
  const shown = pending ?? current;

  const options: { value: string; label: string; preview: string | null }[] = [
    {
      value: "",
      label: "Automatic (your first linked app's picture)",
      preview: platforms[0]?.platform_avatar_url ?? null,
    },
    ...platforms.map((p) => ({
      value: p.platform,
      label: `From ${platformName(p.platform)}${p.platform_username ? ` (${p.platform_username})` : ""}`,
      preview: p.platform_avatar_url ?? null,
    })),
  ];

  return (
    <fieldset class="settings-block settings-avatar" aria-busy={busy}>
      <legend>
        <h3>Avatar</h3>
      </legend>
      <div class="settings-avatar-now">
        <Avatar user={user} size={64} />
        <p class="muted small">This is how others see you.</p>
      </div>
      <div class="settings-avatar-options">
        {options.map((option) => (
          <label key={`source-${option.value}`} class="settings-avatar-option">
            <input
              type="radio"
              name="avatar_source"
              value={option.value}
              checked={shown === option.value}
              onChange={() => void choose(option.value)}
            />
            {option.preview ? (
              <img src={option.preview} alt="" width={32} height={32} class="avatar" referrerpolicy="no-referrer" />
            ) : (
              <Avatar user={{ ...user, avatar_url: null }} size={32} />
            )}
            <span>{option.label}</span>
          </label>
        ))}
      </div>
      <details
        class="settings-avatar-more"
        open={showDefaults}
        onToggle={(event) => setShowDefaults(event.currentTarget.open)}
      >
        <summary>Or one of the default pictures</summary>
        {showDefaults && (
      <div class="settings-avatar-defaults">
        {DEFAULT_AVATARS.map((option, index) => (
          <label key={option.key} class="settings-avatar-default">
            <input
              type="radio"
              name="avatar_source"
              value={option.key}
              checked={shown === option.key}
              onChange={() => void choose(option.key)}
            />
            <img src={option.url} alt="" width={40} height={40} class="avatar" referrerpolicy="no-referrer" />
            <span class="visually-hidden">Default picture {index + 1}</span>
          </label>
        ))}
      </div>
        )}
      </details>
      <ErrorAlert error={error} />
    </fieldset>
  );
}

function LinkedPlatforms({ platforms }: { platforms: LinkedPlatformFull[] }) {
  return (
    <div class="settings-block">
      <h3>Linked apps</h3>
      <p class="muted small">The Portal bot sends your sign-in codes to these accounts.</p>
      {platforms.length === 0 ? (
        <p>No app is linked to your account.</p>
      ) : (
        <ul class="settings-list">
          {platforms.map((p) => (
            <li key={`${p.platform}:${p.platform_user_id}`} class="settings-row">
              <div>
                <strong>{platformName(p.platform)}</strong>
                {p.platform_username && <span> · {p.platform_username}</span>}
                <div class="muted small">
                  ID <code>{p.platform_user_id}</code>
                  {p.linked_at && (
                    <>
                      {" "}
                      · linked <DateText iso={p.linked_at} withTime={false} />
                    </>
                  )}
                  {p.last_authenticated_at && (
                    <>
                      {" "}
                      · last sign-in <DateText iso={p.last_authenticated_at} />
                    </>
                  )}
                </div>
              </div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
