// The room's timeline: history and live messages, decrypted here; local notices (epoch changes, mutes);
// "Load earlier messages" keeps the scroll position; new messages scroll only when you are at the bottom,
// else a "New messages" pill appears.
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { Avatar } from "../../components/Avatar";
import { notify } from "../../components/Notice";
import { describeError } from "../../lib/errors";
import type { HistoryMessage } from "../../lib/types";
import type { RoomModel, TimelineItem } from "./model";
import type { ChatRights } from "./permissions";
import { Linkified, Time } from "./text";

const LOCKED = "🔒 Encrypted with a key this device does not have";

export function Timeline({ model, rights }: { model: RoomModel; rights: ChatRights | null }) {
  const items = model.items.value;
  model.keys.version.value; // re-render when a key arrives
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const previous = useRef<{ first: string | undefined; last: string | undefined; height: number }>({
    first: undefined,
    last: undefined,
    height: 0,
  });
  const [unseen, setUnseen] = useState(false);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const first = items[0]?.key;
    const last = items[items.length - 1]?.key;
    const before = previous.current;
    if (before.first !== undefined && first !== before.first && last === before.last) {
      el.scrollTop += el.scrollHeight - before.height; // older messages above: keep the view still
    } else if (last !== before.last) {
      if (atBottom.current || before.last === undefined) el.scrollTop = el.scrollHeight;
      else setUnseen(true);
    }
    previous.current = { first, last, height: el.scrollHeight };
  }, [items]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (atBottom.current && unseen) setUnseen(false);
  };

  const toBottom = () => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
    atBottom.current = true;
    setUnseen(false);
  };

  return (
    <div class="timeline-wrap">
      <div
        class="timeline"
        ref={scroller}
        onScroll={onScroll}
        role="log"
        aria-label="Messages"
        aria-live="polite"
        aria-relevant="additions"
        tabIndex={0}
      >
        {model.hasMore.value && (
          <div class="load-earlier">
            <button type="button" onClick={() => void model.loadEarlier()} disabled={model.loadingEarlier.value}>
              {model.loadingEarlier.value ? "Loading…" : "Load earlier messages"}
            </button>
          </div>
        )}
        {model.joined.value && items.length === 0 && (
          <p class="timeline-empty muted">No messages yet. Say hello — only the people in this chat can read it.</p>
        )}
        <ol class="messages">
          {items.map((item) => (
            <Item key={item.key} item={item} model={model} rights={rights} />
          ))}
        </ol>
      </div>
      {unseen && (
        <button type="button" class="new-pill primary" onClick={toBottom}>
          New messages ↓
        </button>
      )}
    </div>
  );
}

function Item({ item, model, rights }: { item: TimelineItem; model: RoomModel; rights: ChatRights | null }) {
  if (item.kind === "notice") {
    return (
      <li class={`msg-notice tone-${item.tone}`}>
        {item.tone === "key" && <span aria-hidden="true">🔑 </span>}
        <span>{item.text}</span> <Time iso={item.at} />
      </li>
    );
  }
  const m = item.message;
  if (m.type === "system") {
    return (
      <li class="msg-system" data-id={m.id}>
        <span>{m.content}</span> <Time iso={m.timestamp} />
      </li>
    );
  }
  return <UserMessage message={m} model={model} rights={rights} />;
}

function UserMessage({ message, model, rights }: { message: HistoryMessage; model: RoomModel; rights: ChatRights | null }) {
  const text = model.keys.open(message);
  const sender = message.sender;
  const mine = sender?.id === model.me.id;
  const member = model.members.value.find((m) => m.user.id === sender?.id);
  const level = member?.user.permission_level ?? message.permission_level ?? 0;
  // The delete route is a moderation action (can_moderate): own messages, and those of users you may target.
  const canDelete = !!rights?.canModerate && !!sender && (mine || rights.mayTarget({ id: sender.id, permission_level: level }));
  const remove = async () => {
    try {
      await model.deleteIds([message.id]);
    } catch (error) {
      notify(describeError(error), "error");
    }
  };
  return (
    <li class={`msg${mine ? " mine" : ""}`} data-id={message.id}>
      {sender ? <Avatar user={sender} size={32} /> : <span class="avatar" />}
      <div class="msg-body">
        <div class="msg-head">
          <span class="msg-author">{sender?.username ?? "Someone"}</span>
          {level >= 1 && <span class="badge">{["", "Mod", "Admin", "Owner"][level]}</span>}
          <Time iso={message.timestamp} />
        </div>
        {text === null ? (
          <p class="msg-text locked muted">{LOCKED}</p>
        ) : (
          <p class="msg-text">
            <Linkified text={text} />
          </p>
        )}
      </div>
      {canDelete && (
        <button type="button" class="icon-button msg-delete" aria-label={`Delete message from ${sender?.username ?? "someone"}`} title="Delete" onClick={() => void remove()}>
          🗑
        </button>
      )}
    </li>
  );
}
