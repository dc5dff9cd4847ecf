// Placeholder: built in issue 10 (see docs/webclient.md).
export function SignIn() {
  return (
    <main id="main" class="page">
      <h1>SignIn</h1>
    </main>
  );
}
