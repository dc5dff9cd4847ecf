// An error said out loud: the live region is always in the page, so a new error is announced.
export function ErrorAlert({ error }: { error: string | null }) {
  return (
    <div aria-live="assertive">
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
