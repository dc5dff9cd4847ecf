// Placeholder: built in issue 10 (see docs/webclient.md).
export function Room({ chatId }: { chatId: number }) {
  return (
    <main id="main" class="page">
      <h1>Chat {chatId}</h1>
    </main>
  );
}
