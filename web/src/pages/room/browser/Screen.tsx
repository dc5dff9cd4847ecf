// The chromium screen: `vm:frame` JPEGs (binary attachments) drawn on a canvas (latest frame wins, scaled to
// the panel with the aspect kept by `object-fit: contain`), and for the host an invisible textarea laid over
// it that takes the mouse, the wheel and the keyboard (IME included) and sends them as `vm:input` in the VM's
// pixels. Only Tab (and Shift+Tab) leaves it.
import { useEffect, useRef } from "preact/hooks";
import type { BrowserModel, ChromiumVm, Frame, InputEvent as VmInput } from "../browserModel";

const BUTTONS = ["left", "middle", "right"] as const;

export function Screen({ model, vm, isHost }: { model: BrowserModel; vm: ChromiumVm; isHost: boolean }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const overlayRef = useRef<HTMLTextAreaElement>(null);
  const composing = useRef(false);

  useEffect(() => {
    const canvas = canvasRef.current;
    const context = canvas?.getContext("2d");
    if (!canvas || !context) return;
    let drawnSeq = -1;
    let drawn = 0;
    let pending: Frame | null = null;
    let decoding = false;
    let stopped = false;
    const decode = async () => {
      if (decoding) return;
      decoding = true;
      while (pending && !stopped) {
        const frame: Frame = pending;
        pending = null;
        if (frame.seq <= drawnSeq) continue; // an older frame than the one on screen
        try {
          // The binary attachment is drawn as it came: a Blob over its bytes, decoded off the main thread,
          // and the bitmap closed once drawn (no URL to revoke, nothing kept per frame).
          const bitmap = await createImageBitmap(new Blob([frame.jpeg], { type: "image/jpeg" }));
          if (stopped) {
            bitmap.close();
            break;
          }
          if (canvas.width !== bitmap.width) canvas.width = bitmap.width;
          if (canvas.height !== bitmap.height) canvas.height = bitmap.height;
          context.drawImage(bitmap, 0, 0);
          bitmap.close();
          drawnSeq = frame.seq;
          drawn++;
          canvas.dataset["seq"] = String(drawnSeq);
          canvas.dataset["drawn"] = String(drawn);
        } catch {
          // A frame that does not decode is skipped; the next one replaces it.
        }
      }
      decoding = false;
    };
    model.attachScreen((frame) => {
      if (!pending || frame.seq > pending.seq) pending = frame;
      void decode();
    });
    return () => {
      stopped = true;
      model.attachScreen(null);
    };
  }, [model]);

  /** A pointer position in the VM's pixels, from the canvas box and the letterboxing of `contain`. */
  const at = (event: { clientX: number; clientY: number }): { x: number; y: number } => {
    const canvas = canvasRef.current!;
    const rect = canvas.getBoundingClientRect();
    const width = canvas.width || vm.width;
    const height = canvas.height || vm.height;
    const scale = Math.min(rect.width / width, rect.height / height) || 1;
    const left = rect.left + (rect.width - width * scale) / 2;
    const top = rect.top + (rect.height - height * scale) / 2;
    const clamp = (v: number, max: number) => Math.min(Math.max(Math.round(v), 0), max - 1);
    return { x: clamp((event.clientX - left) / scale, width), y: clamp((event.clientY - top) / scale, height) };
  };

  const send = (event: VmInput) => model.input(event);

  const onKey = (type: "keydown" | "keyup") => (event: KeyboardEvent) => {
    if (event.key === "Tab" && !event.ctrlKey && !event.altKey && !event.metaKey) return; // Tab leaves
    if (composing.current || event.isComposing || event.key === "Process" || event.key === "Unidentified") return;
    event.preventDefault();
    send({ type, key: event.key, code: event.code });
  };

  return (
    <div class="screen" data-host={isHost ? "yes" : "no"}>
      <canvas
        ref={canvasRef}
        class="screen-canvas"
        width={vm.width}
        height={vm.height}
        role="img"
        aria-label={isHost ? "The shared browser's screen" : "The shared browser's screen (view only: ask for control to use it)"}
      />
      {isHost && (
        <textarea
          ref={overlayRef}
          class="screen-input"
          aria-label="Control the shared browser: mouse and keyboard go to it, Tab leaves"
          autocomplete="off"
          autocapitalize="off"
          spellcheck={false}
          onPointerDown={(event) => {
            overlayRef.current?.focus();
            overlayRef.current?.setPointerCapture(event.pointerId);
            send({ type: "mousedown", ...at(event), button: BUTTONS[event.button] ?? "left" });
            event.preventDefault();
          }}
          onPointerUp={(event) => {
            send({ type: "mouseup", ...at(event), button: BUTTONS[event.button] ?? "left" });
          }}
          onPointerMove={(event) => send({ type: "mousemove", ...at(event) })}
          onWheel={(event) => {
            event.preventDefault();
            const unit = event.deltaMode === 1 ? 40 : event.deltaMode === 2 ? 800 : 1;
            send({ type: "wheel", ...at(event), dx: event.deltaX * unit, dy: event.deltaY * unit });
          }}
          onContextMenu={(event) => event.preventDefault()}
          onKeyDown={onKey("keydown")}
          onKeyUp={onKey("keyup")}
          onCompositionStart={() => (composing.current = true)}
          onCompositionEnd={(event) => {
            composing.current = false;
            if (event.data) send({ type: "text", text: event.data });
            (event.currentTarget as HTMLTextAreaElement).value = "";
          }}
          onInput={(event) => {
            // Text that came without a usable keydown (mobile keyboards, dictation): typed as text.
            const input = event as unknown as { data?: string | null; isComposing?: boolean };
            const area = event.currentTarget as HTMLTextAreaElement;
            if (composing.current || input.isComposing) return;
            if (input.data) send({ type: "text", text: input.data });
            area.value = "";
          }}
        />
      )}
    </div>
  );
}
