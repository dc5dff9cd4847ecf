// Small pieces the settings tabs share: loading a resource with its error in words, dates in words.
import { useCallback, useEffect, useState } from "preact/hooks";
import { describeError } from "../../lib/errors";

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** Run `load` on mount (and on `reload()`); its result or its failure in words. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  useEffect(() => {
    let alive = true;
    setLoading(true);
    load()
      .then((value) => {
        if (!alive) return;
        setData(value);
        setError(null);
      })
      .catch((cause: unknown) => {
        if (alive) setError(describeError(cause));
      })
      .finally(() => {
        if (alive) setLoading(false);
      });
    return () => {
      alive = false;
    };
  }, [round, ...deps]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { data, error, loading, reload };
}

/** Loading and error states of a tab's resource, with a retry. */
export function LoadState({ state, what }: { state: Loaded<unknown>; what: string }) {
  if (state.error) {
    return (
      <div class="error" role="alert">
        <p>
          Could not load {what}: {state.error}
        </p>
        <button type="button" onClick={state.reload}>
          Try again
        </button>
      </div>
    );
  }
  if (state.loading && state.data === null) {
    return (
      <p class="muted" aria-busy="true">
        Loading {what}…
      </p>
    );
  }
  return null;
}

export function formatDate(iso: string | null | undefined, withTime = true): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    ...(withTime ? { hour: "2-digit", minute: "2-digit" } : {}),
  });
}

/** "in 3 days", "2 hours ago": a rough relative time next to an exact date. */
export function relative(iso: string | null | undefined): string {
  if (!iso) return "";
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  if (Number.isNaN(seconds)) return "";
  const abs = Math.abs(seconds);
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ["year", 31_536_000],
    ["month", 2_592_000],
    ["day", 86_400],
    ["hour", 3600],
    ["minute", 60],
  ];
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  for (const [unit, size] of units) {
    if (abs >= size) return format.format(Math.round(seconds / size), unit);
  }
  return seconds >= 0 ? "in a moment" : "just now";
}

export function DateText({ iso, withTime = true }: { iso: string | null | undefined; withTime?: boolean }) {
  if (!iso) return <span>—</span>;
  return (
    <time dateTime={iso} title={relative(iso)}>
      {formatDate(iso, withTime)}
    </time>
  );
}
