// Placeholder: built in issue 10 (see docs/webclient.md).
export function Settings() {
  return (
    <main id="main" class="page">
      <h1>Settings</h1>
    </main>
  );
}
