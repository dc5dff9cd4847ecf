// A user's avatar, or their initial on a colour derived from their id (no network request).
import type { UserRef } from "../lib/types";

export function Avatar({ user, size = 32 }: { user: Pick<UserRef, "id" | "username" | "avatar_url">; size?: number }) {
  const hue = (user.id * 47) % 360;
  if (user.avatar_url) {
    return <img class="avatar" src={user.avatar_url} alt="" width={size} height={size} referrerpolicy="no-referrer" />;
  }
  return (
    <span
      class="avatar avatar-initial"
      aria-hidden="true"
      data-initial={(user.username[0] ?? "?").toUpperCase()}
      style={{ width: `${size}px`, height: `${size}px`, backgroundColor: `hsl(${hue} 45% 40%)` }}
    />
  );
}
