// The shared browser in the room: the screen in the middle (chromium frames, or the neko client embedded),
// a bar under it with who controls it and the tools (fullscreen, screenshot, clipboard, screen size, stop),
// and, while it is off, a strip above the chat that says so and offers Start to those who may.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Me } from "../../../lib/types";
import { mayDestroy } from "../../chatRules";
import type { BrowserModel, NekoVm } from "../browserModel";
import type { ChatRights } from "../permissions";
import { ControlBar, RequestPrompt } from "./Control";
import { Screen } from "./Screen";
import { ClipboardDialog, ScreenDialog } from "./Tools";
import "./Browser.css";

interface Props {
  model: BrowserModel;
  user: Me;
  rights: ChatRights;
}

/** While the browser is off: one line above the chat, with Start for the owner (or a platform Owner). */
export function BrowserStrip({ model, user, rights }: Props) {
  const mayStart = mayDestroy(rights.chat, user);
  const busy = model.busy.value;
  return (
    <section class="browser-strip" aria-label="Shared browser">
      <span aria-hidden="true">🖥️</span>
      <p>
        {busy === "starting"
          ? "Starting the shared browser…"
          : (model.stoppedWhy.value ?? "The shared browser is off.")}
        {!mayStart && !busy && <span class="muted"> The chat's owner can start it.</span>}
      </p>
      {mayStart && (
        <button type="button" class="primary" disabled={!!busy} aria-busy={busy === "starting"} onClick={() => void model.start()}>
          {busy === "starting" ? "Starting…" : "Start the shared browser"}
        </button>
      )}
      {model.error.value && (
        <p class="error" role="alert">
          {model.error.value}
        </p>
      )}
    </section>
  );
}

export function BrowserPanel({ model, user, rights }: Props) {
  const panelRef = useRef<HTMLElement>(null);
  const [fullscreen, setFullscreen] = useState(false);
  const [dialog, setDialog] = useState<"clipboard" | "screen" | null>(null);
  useEffect(() => {
    const changed = () => setFullscreen(document.fullscreenElement === panelRef.current && !!panelRef.current);
    document.addEventListener("fullscreenchange", changed);
    return () => document.removeEventListener("fullscreenchange", changed);
  }, []);
  const vm = model.vm.value;
  const isHost = model.isHost.value;
  const canManage = rights.canManage;
  const mayStop = mayDestroy(rights.chat, user);
  const isPrivate = rights.chat.visibility === "private";
  const mayClipboard = isPrivate ? rights.isOwner : canManage || isHost;
  const toggleFullscreen = () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void panelRef.current?.requestFullscreen().catch(() => undefined);
  };

  return (
    <section ref={panelRef} class={`browser${fullscreen ? " is-fullscreen" : ""}`} aria-label="Shared browser">
      <div class="browser-stage">
        {vm?.kind === "chromium" ? (
          <Screen model={model} vm={vm} isHost={isHost} />
        ) : vm?.kind === "neko" ? (
          <NekoEmbed vm={vm} />
        ) : (
          <p class="browser-waiting" role="status">
            Starting the shared browser…
          </p>
        )}
        {vm?.kind === "chromium" && !model.hasFrame.value && (
          <p class="browser-waiting overlay-note" role="status">
            Waiting for the first picture…
          </p>
        )}
      </div>
      <RequestPrompt model={model} canManage={canManage} />
      <div class="browser-bar">
        <ControlBar model={model} canManage={canManage} />
        <div class="browser-tools" role="toolbar" aria-label="Shared browser tools">
          <button type="button" onClick={toggleFullscreen} title="Fullscreen (Esc leaves)">
            {fullscreen ? "Exit fullscreen" : "Fullscreen"}
          </button>
          <button type="button" onClick={() => void model.screenshot()} title="Download a screenshot (JPEG)">
            <span aria-hidden="true">📷</span> Screenshot
          </button>
          {mayClipboard && (
            <button type="button" onClick={() => setDialog("clipboard")} aria-haspopup="dialog">
              <span aria-hidden="true">📋</span> Clipboard
            </button>
          )}
          {canManage && (
            <button type="button" onClick={() => setDialog("screen")} aria-haspopup="dialog">
              Screen size
            </button>
          )}
          {mayStop && (
            <button
              type="button"
              class="danger"
              disabled={model.busy.value === "stopping"}
              onClick={() => void model.stop()}
            >
              {model.busy.value === "stopping" ? "Stopping…" : "Stop"}
            </button>
          )}
        </div>
      </div>
      {model.error.value && (
        <p class="error browser-error" role="alert">
          {model.error.value}
        </p>
      )}
      <ClipboardDialog model={model} open={dialog === "clipboard"} onClose={() => setDialog(null)} />
      <ScreenDialog model={model} open={dialog === "screen"} onClose={() => setDialog(null)} />
    </section>
  );
}

/** neko's own client, logged in with the credentials Portal pushed (`?usr=&pwd=`). */
function NekoEmbed({ vm }: { vm: NekoVm }) {
  const src = `${vm.url.replace(/\/+$/, "")}/?usr=${encodeURIComponent(vm.username)}&pwd=${encodeURIComponent(vm.password)}`;
  return (
    <iframe
      class="neko-frame"
      src={src}
      title="The shared browser (neko)"
      allow="autoplay; fullscreen; clipboard-read; clipboard-write"
      referrerpolicy="no-referrer"
    />
  );
}
