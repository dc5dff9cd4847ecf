// Placeholder: built in issue 10 (see docs/webclient.md).
export function Lobby() {
  return (
    <main id="main" class="page">
      <h1>Lobby</h1>
    </main>
  );
}
