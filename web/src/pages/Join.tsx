// Placeholder: built in issue 10 (see docs/webclient.md).
export function JoinBySlug({ slug }: { slug: string }) {
  return <main id="main" class="page"><h1>Joining {slug}</h1></main>;
}
export function JoinByInvite({ code }: { code: string }) {
  return <main id="main" class="page"><h1>Invite {code}</h1></main>;
}
