// The strip under a direct chat's header: what the two have in common ("You both like music · stranger
// from 🇬🇧 GB") and the peer's presence: here, lost connection with the grace countdown, back, left.
// State changes are announced once (aria-live); the ticking countdown is not.
import { useEffect, useState } from "preact/hooks";
import { clock, flagOf, listWords } from "../../match/state";
import type { RoomModel } from "../model";

const MATCHED_ON = /Matched on: (.+)$/;

/** The shared interests: from `match:found` when this browser heard it, else the opening system message. */
function sharedInterests(model: RoomModel): string[] {
  const info = model.matchInfo();
  if (info) return info.matched_on;
  for (const item of model.items.value) {
    if (item.kind !== "message" || item.message.type !== "system") continue;
    const found = MATCHED_ON.exec(item.message.content);
    if (found?.[1]) return found[1].split(",").map((tag) => tag.trim()).filter(Boolean);
  }
  return [];
}

export function DirectHeader({ model }: { model: RoomModel }) {
  const info = model.matchInfo();
  const interests = sharedInterests(model);
  const peer = info?.peer;
  const flag = flagOf(peer?.country_code);
  let origin: string | null = null;
  if (peer?.is_stranger) origin = peer.country_code ? `stranger from ${peer.country_code}` : "a stranger";
  return (
    <div class="direct-strip">
      <p class="direct-match">
        {interests.length > 0 ? (
          <>
            You both like <strong>{listWords(interests)}</strong>
          </>
        ) : (
          "A one-on-one chat"
        )}
        {origin && (
          <>
            {" · "}
            {flag && peer?.country_code ? (
              <>
                stranger from{" "}
                <span role="img" aria-label={`flag of ${peer.country_code}`}>
                  {flag}
                </span>{" "}
                {peer.country_code}
              </>
            ) : (
              origin
            )}
          </>
        )}
      </p>
      <PeerStatus model={model} />
      <p class="visually-hidden" role="status" aria-live="polite">
        {model.directNews.value}
      </p>
    </div>
  );
}

/** "alice is here" · "alice lost connection — waiting 0:54" · "alice left". */
export function PeerStatus({ model }: { model: RoomModel }) {
  const until = model.peerAwayUntil.value;
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (until === null) return;
    setNow(Date.now());
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [until]);
  const name = model.peerName();
  const ended = model.chat.value?.archived;
  const endedBy = model.endedBy.value;
  if (ended) {
    const text = endedBy === "me" ? "You left" : endedBy === "peer" ? `${name} left` : "The chat has ended";
    return (
      <p class="peer-status peer-gone" data-state="ended">
        <span class="peer-dot" aria-hidden="true" />
        {text}
      </p>
    );
  }
  if (until !== null) {
    const left = (until - now) / 1000;
    return (
      <p class="peer-status peer-away" data-state="away">
        <span class="peer-dot" aria-hidden="true" />
        {name} lost connection — {left > 0 ? <>waiting <time>{clock(left)}</time></> : "ending now"}
      </p>
    );
  }
  if (!model.joined.value) return null;
  const online = model.members.value.find((m) => m.user.id !== model.me.id)?.online;
  return (
    <p class={`peer-status ${online === false ? "peer-away" : "peer-here"}`} data-state={online === false ? "offline" : "here"}>
      <span class="peer-dot" aria-hidden="true" />
      {online === false ? `${name} is not here right now` : `${name} is here`}
    </p>
  );
}
