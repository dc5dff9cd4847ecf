// Sign in and sign up (spec 01 §4): username → linked platform → "the bot sent you a code" → code → session.
// New people pick a platform and give their platform user id instead; "I already have a code" skips to the
// code (the bot's /login quick login). Each step moves focus to its first field; every error is said in words.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { Avatar } from "../components/Avatar";
import { ApiError, api } from "../lib/api";
import { config } from "../lib/config";
import { describeError, formatDuration } from "../lib/errors";
import { currentPath, navigate } from "../lib/router";
import { END_REASONS, me, signInAsStranger, startSession } from "../lib/session";
import { endedReason } from "../lib/socket";
import type { Me } from "../lib/types";
import "./SignIn.css";

interface PlatformRef {
  platform: string;
  platform_user_id: string;
}

interface LookupOut extends PlatformRef {
  id: number;
  username: string;
  avatar_url: string | null;
  permission_level: number;
  subscription_tier: number;
  platforms: PlatformRef[];
}

interface CodeRequestOut {
  message: string;
  expires_at: string;
}

type VerifyOut = Me & { user_created: boolean };

type Step =
  | { kind: "username" }
  | { kind: "platforms"; user: LookupOut }
  | { kind: "signup" }
  | { kind: "code"; via: PlatformRef | null; expiresAt: string | null; back: Step };

export const USERNAME_RE = /^[A-Za-z0-9._-]{3,32}$/;
const CODE_RE = /^[A-Za-z0-9]{8}$/;
const SIGNUP_PLATFORMS = ["discord", "telegram"] as const;

const PLATFORM_NAMES: Record<string, string> = { discord: "Discord", telegram: "Telegram" };

export function platformName(platform: string): string {
  return PLATFORM_NAMES[platform] ?? platform.charAt(0).toUpperCase() + platform.slice(1);
}

const ID_HELP: Record<string, string> = {
  discord:
    "Your Discord user ID is a long number (not your name). In Discord: User Settings → Advanced → turn on " +
    "Developer Mode, then right-click (or long-press) your name and choose “Copy User ID”.",
  telegram: "Your Telegram user ID is a number (not your @name). Message @userinfobot on Telegram: it replies with it.",
};

/** Where to go after signing in: `?next=` when it is a path on this site, else the lobby. */
function nextPath(): string {
  const query = currentPath.value.split("?")[1] ?? "";
  const next = new URLSearchParams(query).get("next");
  if (next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/signin")) return next;
  return "/";
}

/** Focus `ref` once the step it belongs to has rendered. */
function useFocusOnMount<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return ref;
}

/** Runs one request at a time; `busy` while it runs, its failure in words in `error`. */
function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ text: string; cause: unknown } | null>(null);
  const running = useRef(false);
  async function run(action: () => Promise<void>): Promise<void> {
    if (running.current) return;
    running.current = true;
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (cause) {
      setError({ text: describeError(cause), cause });
    } finally {
      running.current = false;
      setBusy(false);
    }
  }
  return { busy, error, setError, run };
}

export function SignIn() {
  const [step, setStep] = useState<Step>({ kind: "username" });
  const [username, setUsername] = useState("");

  useEffect(() => {
    if (me.value) navigate(nextPath(), { replace: true });
  }, []);

  const reason = endedReason.value;
  return (
    <main id="main" class="signin">
      <div class="signin-card card">
        <header class="signin-brand">
          <img src="/favicon.svg" alt="" width="48" height="48" />
          <div>
            <p class="signin-name">Portal</p>
            <p class="muted signin-pitch">Browse the web together in a shared browser, with chat only you can read.</p>
          </div>
        </header>
        {reason && reason !== "logout" && (
          <p class="signin-ended" role="status">
            {END_REASONS[reason] ?? `Your session ended (${reason}).`}
          </p>
        )}
        {reason === "logout" && (
          <p class="signin-ended signin-ended-ok" role="status">
            {END_REASONS["logout"]}
          </p>
        )}
        {step.kind === "username" && (
          <UsernameStep
            key="username"
            username={username}
            setUsername={setUsername}
            onFound={(user) => setStep({ kind: "platforms", user })}
            onSignUp={() => setStep({ kind: "signup" })}
            onHaveCode={() => setStep({ kind: "code", via: null, expiresAt: null, back: step })}
          />
        )}
        {step.kind === "platforms" && (
          <PlatformsStep
            key={`platforms-${step.user.id}`}
            user={step.user}
            onSent={(via, expiresAt) => setStep({ kind: "code", via, expiresAt, back: step })}
            onBack={() => setStep({ kind: "username" })}
            onHaveCode={() => setStep({ kind: "code", via: null, expiresAt: null, back: step })}
          />
        )}
        {step.kind === "signup" && (
          <SignUpStep
            key="signup"
            onSent={(via, expiresAt) => setStep({ kind: "code", via, expiresAt, back: step })}
            onBack={() => setStep({ kind: "username" })}
          />
        )}
        {step.kind === "code" && (
          <CodeStep
            key={`code-${step.via?.platform ?? "own"}-${step.expiresAt ?? ""}`}
            via={step.via}
            expiresAt={step.expiresAt}
            onBack={() => setStep(step.back)}
          />
        )}
      </div>
    </main>
  );
}

function ErrorText({ error, children }: { error: { text: string } | null; children?: ComponentChildren }) {
  // The live region is always in the page so that a new error is announced.
  return (
    <div aria-live="assertive" class="signin-error-slot">
      {error && (
        <div class="error" role="alert">
          <p>{error.text}</p>
          {children}
        </div>
      )}
    </div>
  );
}

function UsernameStep(props: {
  username: string;
  setUsername: (value: string) => void;
  onFound: (user: LookupOut) => void;
  onSignUp: () => void;
  onHaveCode: () => void;
}) {
  const input = useFocusOnMount<HTMLInputElement>();
  const { busy, error, setError, run } = useAction();
  const notFound = error?.cause instanceof ApiError && error.cause.status === 404;

  function submit(event: Event) {
    event.preventDefault();
    const name = props.username.trim();
    props.setUsername(name);
    if (!USERNAME_RE.test(name)) {
      setError({
        text: "A username has 3 to 32 characters: letters, digits, dots (.), underscores (_) and hyphens (-).",
        cause: null,
      });
      input.current?.focus();
      return;
    }
    void run(async () => {
      const user = await api.post<LookupOut>("/v1/authentication/lookup", { username: name });
      props.onFound(user);
    });
  }

  return (
    <section aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in</h1>
      <form onSubmit={submit} noValidate>
        <div class="field">
          <label for="signin-username">Username</label>
          <input
            id="signin-username"
            ref={input}
            name="username"
            autocomplete="username"
            autocapitalize="off"
            spellcheck={false}
            value={props.username}
            aria-invalid={error ? "true" : undefined}
            aria-describedby="signin-username-hint"
            onInput={(event) => props.setUsername(event.currentTarget.value)}
          />
          <span id="signin-username-hint" class="hint">
            Your Portal username. We send a code to an app you linked to it.
          </span>
        </div>
        <ErrorText error={error}>
          {notFound && (
            <button type="button" class="link" onClick={props.onSignUp}>
              Sign up with Discord or Telegram
            </button>
          )}
        </ErrorText>
        <button type="submit" class="primary wide" disabled={busy} aria-busy={busy}>
          {busy ? "Looking you up…" : "Continue"}
        </button>
      </form>
      <div class="signin-alt">
        <button type="button" class="link" onClick={props.onHaveCode}>
          I already have a code
        </button>
        <p class="signin-new">
          New here?{" "}
          <button type="button" class="link" onClick={props.onSignUp}>
            Sign up with Discord or Telegram
          </button>
        </p>
      </div>
      <StrangerEntry />
    </section>
  );
}

/** "Chat as a stranger": no account, a 24-hour anonymous session for one-on-one chats (matchmaking). */
function StrangerEntry() {
  const { busy, error, run } = useAction();
  return (
    <div class="signin-stranger">
      <p class="signin-or" aria-hidden="true">
        <span>or</span>
      </p>
      <p class="muted small" id="stranger-about">
        No account needed: meet someone who shares an interest in an encrypted one-on-one chat. A stranger session
        lasts 24 hours.
      </p>
      <ErrorText error={error} />
      <button
        type="button"
        class="wide"
        disabled={busy}
        aria-busy={busy}
        aria-describedby="stranger-about"
        onClick={() =>
          void run(async () => {
            await signInAsStranger();
            navigate("/match", { replace: true });
          })
        }
      >
        {busy ? "Starting…" : "Chat as a stranger"}
      </button>
    </div>
  );
}

function sameIdentityCount(platforms: PlatformRef[], platform: string): number {
  return platforms.filter((p) => p.platform === platform).length;
}

function PlatformsStep(props: {
  user: LookupOut;
  onSent: (via: PlatformRef, expiresAt: string) => void;
  onBack: () => void;
  onHaveCode: () => void;
}) {
  const first = useFocusOnMount<HTMLButtonElement>();
  const { busy, error, run } = useAction();
  const [chosen, setChosen] = useState<PlatformRef | null>(null);
  const { user } = props;

  function send(via: PlatformRef) {
    setChosen(via);
    void run(async () => {
      const sent = await api.post<CodeRequestOut>("/v1/authentication/request", via);
      props.onSent(via, sent.expires_at);
    });
  }

  return (
    <section aria-labelledby="signin-title">
      <h1 id="signin-title" class="visually-hidden">
        Sign in as {user.username}
      </h1>
      <div class="signin-who">
        <Avatar user={user} size={56} />
        <div>
          <p class="signin-who-name">{user.username}</p>
          <button type="button" class="link small" onClick={props.onBack}>
            Not you? Use another username
          </button>
        </div>
      </div>
      {user.platforms.length === 0 ? (
        <p class="error">
          This account has no linked app to send a code to. Ask an administrator, or use a code from the Portal bot.
        </p>
      ) : (
        <>
          <p>Where should we send your sign-in code?</p>
          <div class="signin-platforms" role="group" aria-label="Send the code via">
            {user.platforms.map((p, index) => {
              const many = sameIdentityCount(user.platforms, p.platform) > 1;
              const sending = busy && chosen === p;
              return (
                <button
                  type="button"
                  key={`${p.platform}:${p.platform_user_id}`}
                  ref={index === 0 ? first : undefined}
                  class={`primary wide platform-${p.platform}`}
                  disabled={busy}
                  aria-busy={sending}
                  onClick={() => send(p)}
                >
                  {sending ? "Sending…" : `Send code via ${platformName(p.platform)}`}
                  {many && <span class="muted-on-primary"> (…{p.platform_user_id.slice(-4)})</span>}
                </button>
              );
            })}
          </div>
        </>
      )}
      <ErrorText error={error} />
      <div class="signin-alt">
        <button type="button" class="link" onClick={props.onHaveCode}>
          I already have a code
        </button>
      </div>
    </section>
  );
}

function SignUpStep(props: { onSent: (via: PlatformRef, expiresAt: string) => void; onBack: () => void }) {
  const [platform, setPlatform] = useState<string>("discord");
  const [id, setId] = useState("");
  const first = useFocusOnMount<HTMLInputElement>();
  const idInput = useRef<HTMLInputElement>(null);
  const { busy, error, setError, run } = useAction();

  function submit(event: Event) {
    event.preventDefault();
    const value = id.replace(/\s+/g, "");
    setId(value);
    if (!/^[0-9]{1,32}$/.test(value)) {
      setError({
        text: `Type your ${platformName(platform)} user ID: a number like 123456789012345678 (not your name).`,
        cause: null,
      });
      idInput.current?.focus();
      return;
    }
    const via = { platform, platform_user_id: value };
    void run(async () => {
      const sent = await api.post<CodeRequestOut>("/v1/authentication/request", via);
      props.onSent(via, sent.expires_at);
    });
  }

  return (
    <section aria-labelledby="signin-title">
      <h1 id="signin-title">Create your account</h1>
      <p class="muted">
        Portal has no passwords: the Portal bot sends you a one-time code on Discord or Telegram. You pick your
        username right after.
      </p>
      <form onSubmit={submit} noValidate>
        <fieldset class="signin-choice">
          <legend>Your app</legend>
          {SIGNUP_PLATFORMS.map((p, index) => (
            <label key={p} class="signin-radio">
              <input
                type="radio"
                name="platform"
                value={p}
                ref={index === 0 ? first : undefined}
                checked={platform === p}
                onChange={() => setPlatform(p)}
              />
              {platformName(p)}
            </label>
          ))}
        </fieldset>
        <div class="field">
          <label for="signup-id">{platformName(platform)} user ID</label>
          <input
            id="signup-id"
            ref={idInput}
            name="platform_user_id"
            inputMode="numeric"
            autocomplete="off"
            value={id}
            aria-invalid={error ? "true" : undefined}
            aria-describedby="signup-id-hint"
            onInput={(event) => setId(event.currentTarget.value)}
          />
          <span id="signup-id-hint" class="hint">
            {ID_HELP[platform]}
          </span>
        </div>
        <ErrorText error={error} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
            {busy ? "Sending…" : "Send me a code"}
          </button>
          <button type="button" onClick={props.onBack}>
            Back
          </button>
        </div>
      </form>
    </section>
  );
}

function useSecondsLeft(expiresAt: string | null): number | null {
  const end = expiresAt ? Date.parse(expiresAt) : NaN;
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (Number.isNaN(end)) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [end]);
  return Number.isNaN(end) ? null : Math.max(0, Math.round((end - now) / 1000));
}

function CodeStep(props: { via: PlatformRef | null; expiresAt: string | null; onBack: () => void }) {
  const [code, setCode] = useState("");
  const input = useFocusOnMount<HTMLInputElement>();
  const { busy, error, setError, run } = useAction();
  const left = useSecondsLeft(props.expiresAt);
  const via = props.via;
  const name = via ? platformName(via.platform) : null;

  function submit(event: Event) {
    event.preventDefault();
    const value = code.replace(/\s+/g, "");
    setCode(value);
    if (!CODE_RE.test(value)) {
      setError({ text: "A code is exactly 8 letters and digits, like Vy8nFKq2 (upper and lower case matter).", cause: null });
      input.current?.focus();
      return;
    }
    void run(async () => {
      let user: VerifyOut;
      try {
        user = await api.post<VerifyOut>("/v1/authentication/verify", { code: value });
      } catch (cause) {
        input.current?.focus(); // ready to type it again
        input.current?.select();
        throw cause;
      }
      const { user_created: created, ...profile } = user;
      await startSession(profile);
      navigate(created ? "/settings/profile?welcome=1" : nextPath(), { replace: true });
    });
  }

  return (
    <section aria-labelledby="signin-title">
      <h1 id="signin-title">Enter your code</h1>
      {via ? (
        <>
          <p role="status">Your code was sent by the Portal bot on {name}: check your direct messages there.</p>
          {left !== null && (
            <p class="muted small signin-expiry">
              {left > 0 ? (
                <>
                  It expires in <span class="signin-clock">{formatClock(left)}</span> (at{" "}
                  {new Date(props.expiresAt ?? "").toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}).
                </>
              ) : (
                "It has expired: go back and ask for a new one."
              )}
            </p>
          )}
        </>
      ) : (
        <p>
          Type the code the Portal bot sent you (its <code>/login</code> command), or one you asked for here.
        </p>
      )}
      {config.console_codes && (
        <p class="signin-console small">
          This server is running locally: the code also appears in the server's console as{" "}
          <code>
            login code for {via ? `${via.platform}:${via.platform_user_id}` : "discord:ID"}: CODE
          </code>
          .
        </p>
      )}
      <form onSubmit={submit} noValidate>
        <div class="field">
          <label for="signin-code">Code</label>
          <input
            id="signin-code"
            ref={input}
            class="signin-code"
            name="code"
            autocomplete="one-time-code"
            autocapitalize="off"
            spellcheck={false}
            value={code}
            aria-invalid={error ? "true" : undefined}
            aria-describedby="signin-code-hint"
            onInput={(event) => setCode(event.currentTarget.value.replace(/\s+/g, ""))}
          />
          <span id="signin-code-hint" class="hint">
            8 characters; upper and lower case matter. It works only on this network, for 10 minutes, once.
          </span>
        </div>
        <ErrorText error={error} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
          <button type="button" onClick={props.onBack}>
            Back
          </button>
        </div>
      </form>
    </section>
  );
}

function formatClock(seconds: number): string {
  if (seconds >= 3600) return formatDuration(seconds);
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}
