// The shared browser's side tools: its clipboard (read and write, for those allowed) and its screen size
// (managers). Both are dialogs; the server decides who may.
import { useEffect, useRef, useState } from "preact/hooks";
import { Dialog } from "../../../components/Dialog";
import { notify } from "../../../components/Notice";
import { describeError } from "../../../lib/errors";
import type { BrowserModel, ScreenInfo } from "../browserModel";

const MAX_CLIPBOARD_BYTES = 65_536;

export function ClipboardDialog({ model, open, onClose }: { model: BrowserModel; open: boolean; onClose: () => void }) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const edited = useRef(false); // typing before the read answers keeps what was typed
  const read = async (again = false) => {
    if (again) edited.current = false;
    setBusy(true);
    setError(null);
    try {
      const current = (await model.readClipboard()).text;
      if (!edited.current) setText(current);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    edited.current = false;
    if (open) void read();
  }, [open]);
  const bytes = new TextEncoder().encode(text).length;
  const write = async () => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await model.writeClipboard(text);
      notify("Copied to the shared browser's clipboard: the host pastes it with Ctrl+V.");
      onClose();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title="Shared clipboard" open={open} onClose={onClose} describedBy="clipboard-help">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void write();
        }}
      >
        <p id="clipboard-help" class="small muted">
          What was copied in the shared browser (Ctrl+C there) shows here. Text you put here is what Ctrl+V pastes
          into it.
        </p>
        <div class="field">
          <label for="clipboard-text">Clipboard text</label>
          <textarea
            id="clipboard-text"
            autoFocus
            rows={6}
            value={text}
            onInput={(e) => {
              edited.current = true;
              setText((e.target as HTMLTextAreaElement).value);
            }}
          />
          <span class={`small ${bytes > MAX_CLIPBOARD_BYTES ? "error" : "muted"}`}>
            {bytes} of {MAX_CLIPBOARD_BYTES} bytes
          </span>
        </div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="button" onClick={() => void read(true)} disabled={busy}>
            Read again
          </button>
          <button type="submit" class="primary" disabled={busy || bytes > MAX_CLIPBOARD_BYTES}>
            Send to the shared browser
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function ScreenDialog({ model, open, onClose }: { model: BrowserModel; open: boolean; onClose: () => void }) {
  const [info, setInfo] = useState<ScreenInfo | null>(null);
  const [choice, setChoice] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!open) return;
    setError(null);
    model
      .readScreen()
      .then((screen) => {
        setInfo(screen);
        setChoice(`${screen.width}x${screen.height}@${screen.rate}`);
      })
      .catch((e) => setError(describeError(e)));
  }, [open]);
  const save = async () => {
    const [size, rate] = choice.split("@");
    const [width, height] = (size ?? "").split("x").map(Number);
    if (!width || !height || busy) return;
    setBusy(true);
    setError(null);
    try {
      const screen = await model.writeScreen({ width, height, rate: Number(rate) });
      notify(`The shared browser's screen is now ${screen.width}×${screen.height}.`);
      onClose();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title="Screen size" open={open} onClose={onClose}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        {info ? (
          <div class="field">
            <label for="screen-size">
              Size <span class="hint">everyone sees the new size; a stopped browser gets it at its next start</span>
            </label>
            <select id="screen-size" value={choice} onChange={(e) => setChoice((e.target as HTMLSelectElement).value)}>
              {info.sizes.map((s) => (
                <option key={`${s.width}x${s.height}@${s.rate}`} value={`${s.width}x${s.height}@${s.rate}`}>
                  {s.width} × {s.height}, {s.rate} frames/s
                </option>
              ))}
            </select>
          </div>
        ) : (
          !error && <p class="muted">Loading…</p>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy || !info}>
            Apply
          </button>
        </div>
      </form>
    </Dialog>
  );
}
