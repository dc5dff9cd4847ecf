// Placeholder: built in issue 10 (see docs/webclient.md).
export function ManageChat({ chatId }: { chatId: number }) {
  return (
    <main id="main" class="page">
      <h1>Manage chat {chatId}</h1>
    </main>
  );
}
