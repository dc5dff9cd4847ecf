// Subscription and group-chat slots (spec 00 §3.6, 08 §58): the tier, its expiry and history, how many
// group chats you own against your slots, and what Premium adds.
import { api } from "../../lib/api";
import { PERMISSION_NAMES, TIER_NAMES, type Me } from "../../lib/types";
import { DateText, LoadState, relative, useLoad } from "./common";

interface SubscriptionHistory {
  id: number;
  old_tier: number;
  new_tier: number;
  reason: string | null;
  granted_by_id: number | null;
  created_at: string;
}

interface SubscriptionOut {
  subscription_tier: number;
  expires_at: string | null;
  is_active: boolean;
  history: SubscriptionHistory[];
}

interface OwnedChat {
  id: number;
  name: string;
  visibility: string;
  created_at: string;
}

/** Group-chat slots per tier (portal/services/chat_access.py TIER_SLOTS). */
const TIER_SLOTS = [0, 1, 3, 5];
const ADMIN_SLOTS = 10;

/** The slots the server applies, as far as the client can tell (an administrator's override is not visible). */
function slotsOf(tier: number, level: number): number | null {
  if (level >= 3) return null;
  const slots = TIER_SLOTS[tier] ?? 0;
  return level === 2 ? Math.max(slots, ADMIN_SLOTS) : slots;
}

function tierName(tier: number): string {
  return TIER_NAMES[tier] ?? `Tier ${tier}`;
}

export function Subscription({ user }: { user: Me }) {
  const state = useLoad(() =>
    Promise.all([
      api.get<SubscriptionOut>("/v1/users/me/subscription"),
      api.get<OwnedChat[]>("/v1/users/me/chats"),
    ]),
  );
  if (!state.data) return <LoadState state={state} what="your subscription" />;
  const [sub, chats] = state.data;
  const tier = sub.subscription_tier;
  const slots = slotsOf(tier, user.permission_level);
  const owned = chats.length;
  const full = slots !== null && owned >= slots;

  return (
    <>
      <LoadState state={state} what="your subscription" />
      <div class="settings-block settings-tier">
        <p class="settings-tier-name">
          <span class={`badge tier-${tier}`}>{tierName(tier)}</span>{" "}
          {sub.is_active ? <span>active</span> : <span class="muted">free plan</span>}
        </p>
        {sub.expires_at ? (
          <p>
            {tierName(tier)} ends on <DateText iso={sub.expires_at} /> ({relative(sub.expires_at)}).
          </p>
        ) : tier === 3 ? (
          <p>Lifetime: it never ends.</p>
        ) : tier === 0 ? (
          <p class="muted">Basic is free and never ends. Premium and trials are granted by Portal's team.</p>
        ) : null}
      </div>

      <div class="settings-block">
        <h3>Group chats</h3>
        <p class="settings-slots" id="settings-slots">
          {slots === null ? (
            <>
              You own <strong>{owned}</strong> group {owned === 1 ? "chat" : "chats"}; as {PERMISSION_NAMES[3]} you
              have no limit.
            </>
          ) : (
            <>
              You own <strong>{owned}</strong> of <strong>{slots}</strong> group-chat{" "}
              {slots === 1 ? "slot" : "slots"}.
            </>
          )}
        </p>
        {slots !== null && slots > 0 && (
          <div
            class="settings-meter"
            role="meter"
            aria-label="Chat slots used"
            aria-valuemin={0}
            aria-valuemax={slots}
            aria-valuenow={Math.min(owned, slots)}
          >
            <span style={{ width: `${Math.min(100, (owned / slots) * 100)}%` }} />
          </div>
        )}
        <p class="muted small">
          {slots === 0
            ? "Basic accounts can join any chat but cannot create group chats."
            : full
              ? "All your slots are in use: delete one of your chats to create another."
              : "Each group chat you own (official, public or private) takes a slot; archived chats and direct chats do not."}{" "}
          Slots: Basic 0, Trial 1, Premium 3, Lifetime 5{user.permission_level === 2 ? `, Admins ${ADMIN_SLOTS}` : ""}.
          An administrator may have set a different number for you.
        </p>
        {chats.length > 0 && (
          <ul class="settings-list" aria-label="Your group chats">
            {chats.map((chat) => (
              <li key={chat.id} class="settings-row">
                <div>
                  <a href={`/chat/${chat.id}`}>{chat.name}</a> <span class="badge">{chat.visibility}</span>
                  <div class="muted small">
                    created <DateText iso={chat.created_at} withTime={false} />
                  </div>
                </div>
              </li>
            ))}
          </ul>
        )}
      </div>

      {tier < 2 && (
        <div class="settings-block settings-premium">
          <h3>What Premium adds</h3>
          <ul>
            <li>Private chats: invite-only rooms that do not appear in the directory.</li>
            <li>3 group-chat slots (Lifetime: 5), instead of none on Basic or 1 on a trial.</li>
            <li>3 direct chats at a time from matchmaking instead of 1.</li>
          </ul>
        </div>
      )}

      <details class="settings-history">
        <summary>Subscription history ({sub.history.length})</summary>
        {sub.history.length === 0 ? (
          <p class="muted">No changes yet.</p>
        ) : (
          <ul class="settings-list">
            {sub.history.map((entry) => (
              <li key={entry.id} class="settings-row">
                <div>
                  <strong>
                    {tierName(entry.old_tier)} → {tierName(entry.new_tier)}
                  </strong>
                  {entry.reason && <span> · {entry.reason}</span>}
                  <div class="muted small">
                    <DateText iso={entry.created_at} />
                  </div>
                </div>
              </li>
            ))}
          </ul>
        )}
      </details>
    </>
  );
}
