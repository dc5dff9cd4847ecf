// Admin → Bots: the list (inactive ones too), register (the key is shown once, with a copy button), edit
// (name, owner, rate limit, type = verify/unverify, active), regenerate the key, reset stats, delete.
import { useEffect, useState } from "preact/hooks";
import { Dialog } from "../../components/Dialog";
import { ErrorAlert } from "../../components/ErrorAlert";
import { notify } from "../../components/Notice";
import { api } from "../../lib/api";
import { describeError } from "../../lib/errors";
import { Menu } from "../room/Menu";
import { BOT_TYPES, type BotKeyIssued, type BotPrivate, Confirm, Pager, UserName, resolveUser, when } from "./shared";

const PAGE = 25; // the server's maximum for this list

type Pending = { kind: "edit" | "regenerate" | "reset" | "delete"; bot: BotPrivate } | null;

export function Bots() {
  const [offset, setOffset] = useState(0);
  const [bots, setBots] = useState<BotPrivate[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [registering, setRegistering] = useState(false);
  const [issued, setIssued] = useState<{ title: string; key: string; bot: BotPrivate } | null>(null);
  const [pending, setPending] = useState<Pending>(null);
  const [version, setVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);

  useEffect(() => {
    let live = true;
    api
      .get<BotPrivate[]>("/v1/admin/bots", { offset, limit: PAGE })
      .then((list) => live && (setBots(list), setError(null)))
      .catch((e) => live && setError(describeError(e)));
    return () => {
      live = false;
    };
  }, [offset, version]);

  async function quickUpdate(bot: BotPrivate, body: Record<string, unknown>, done: string) {
    try {
      await api.post(`/v1/admin/bots/${bot.id}/update`, body);
      notify(done);
      reload();
    } catch (e) {
      notify(describeError(e), "error");
    }
  }

  const close = () => setPending(null);
  return (
    <div>
      <div class="admin-toolbar">
        <p class="muted">Every bot, inactive ones included. A bot's API key is shown only when it is made.</p>
        <button type="button" class="primary" onClick={() => setRegistering(true)}>
          Register a bot
        </button>
      </div>
      <ErrorAlert error={error} />
      {bots === null && !error && <p class="muted">Loading bots…</p>}
      {bots !== null && bots.length === 0 && <p class="muted">No bots yet.</p>}
      {bots !== null && bots.length > 0 && (
        <table class="admin-table">
          <caption class="visually-hidden">Bots</caption>
          <thead>
            <tr>
              <th scope="col">Bot</th>
              <th scope="col">Type</th>
              <th scope="col">Owner</th>
              <th scope="col">Reach</th>
              <th scope="col">Last active</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {bots.map((bot) => (
              <tr key={bot.id} class={bot.is_active ? "" : "admin-row-off"}>
                <th scope="row" data-label="Bot">
                  <span class="admin-strong">{bot.name}</span>
                  <span class="muted small">{` #${bot.id} · ${bot.platform} · ${bot.rate_limit_per_hour}/h`}</span>
                  {!bot.is_active && <span class="badge badge-off">Inactive</span>}
                </th>
                <td data-label="Type">
                  <span class={`badge bot-type-${bot.bot_type}`}>{BOT_TYPES[bot.bot_type] ?? bot.bot_type}</span>
                </td>
                <td data-label="Owner">
                  <UserName id={bot.owner_id} />
                </td>
                <td data-label="Reach">{`${bot.groups} groups · ${bot.users} users`}</td>
                <td data-label="Last active">{when(bot.last_activity_at)}</td>
                <td class="admin-actions-cell">
                  <Menu
                    label={`Actions for ${bot.name}`}
                    class="icon-button admin-menu-button"
                    items={[
                      { label: "Edit…", onSelect: () => setPending({ kind: "edit", bot }) },
                      bot.bot_type === 3
                        ? { label: "Verify", onSelect: () => void quickUpdate(bot, { bot_type: 2 }, `${bot.name} is verified.`) }
                        : { label: "Unverify", onSelect: () => void quickUpdate(bot, { bot_type: 3 }, `${bot.name} is a community bot now.`) },
                      bot.is_active
                        ? { label: "Deactivate", onSelect: () => void quickUpdate(bot, { is_active: false }, `${bot.name} is inactive: its key is refused.`) }
                        : { label: "Activate", onSelect: () => void quickUpdate(bot, { is_active: true }, `${bot.name} is active again.`) },
                      { label: "Regenerate key…", onSelect: () => setPending({ kind: "regenerate", bot }) },
                      { label: "Reset stats…", onSelect: () => setPending({ kind: "reset", bot }) },
                      { label: "Delete…", danger: true, onSelect: () => setPending({ kind: "delete", bot }) },
                    ]}
                  >
                    ⋯
                  </Menu>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {bots !== null && (
        <Pager offset={offset} limit={PAGE} count={bots.length} total={null} onPage={setOffset} label="Pages of bots" />
      )}

      <RegisterDialog
        open={registering}
        onClose={() => setRegistering(false)}
        onDone={(result) => {
          setRegistering(false);
          setIssued({ title: `${result.bot.name} is registered`, key: result.api_key, bot: result.bot });
          reload();
        }}
      />
      {pending?.kind === "edit" && (
        <EditDialog
          bot={pending.bot}
          onClose={close}
          onDone={() => {
            close();
            reload();
          }}
        />
      )}
      <Confirm
        title={`Regenerate the key of ${pending?.bot.name ?? ""}`}
        open={pending?.kind === "regenerate"}
        onClose={close}
        confirm="Regenerate key"
        onConfirm={async () => {
          const bot = pending?.bot;
          if (!bot) return;
          const result = await api.post<BotKeyIssued>(`/v1/admin/bots/${bot.id}/regenerate-key`);
          close();
          setIssued({ title: `A new key for ${bot.name}`, key: result.api_key, bot: result.bot });
          reload();
        }}
      >
        <p>The current key stops working at once, everywhere. The bot needs the new key to go on.</p>
      </Confirm>
      <Confirm
        title={`Reset the stats of ${pending?.bot.name ?? ""}`}
        open={pending?.kind === "reset"}
        onClose={close}
        confirm="Reset stats"
        onConfirm={async () => {
          const bot = pending?.bot;
          if (!bot) return;
          await api.post(`/v1/admin/bots/${bot.id}/reset-stats`);
          notify(`Stats of ${bot.name} reset.`);
          close();
          reload();
        }}
      >
        <p>Groups, users, latency, last activity and the command statistics go back to zero.</p>
      </Confirm>
      <Confirm
        title={`Delete ${pending?.bot.name ?? ""}`}
        open={pending?.kind === "delete"}
        onClose={close}
        confirm="Delete bot"
        onConfirm={async () => {
          const bot = pending?.bot;
          if (!bot) return;
          await api.post(`/v1/admin/bots/${bot.id}/delete`);
          notify(`${bot.name} deleted.`);
          close();
          reload();
        }}
      >
        <p>The bot, its key and its command statistics are deleted for good. This cannot be undone.</p>
      </Confirm>
      <KeyDialog issued={issued} onClose={() => setIssued(null)} />
    </div>
  );
}

/** The API key, once: selectable text, a copy button, and a clear word that it will not be shown again. */
function KeyDialog({ issued, onClose }: { issued: { title: string; key: string; bot: BotPrivate } | null; onClose: () => void }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => setCopied(false), [issued]);
  return (
    <Dialog title={issued?.title ?? ""} open={issued !== null} onClose={onClose} describedBy="bot-key-note">
      <p id="bot-key-note">
        <strong>This is the only time the key is shown.</strong> Copy it into the bot's configuration now.
      </p>
      <div class="field">
        <label for="bot-key">{`API key of ${issued?.bot.name ?? ""}`}</label>
        <div class="admin-inline">
          <input id="bot-key" class="admin-key" type="text" readOnly value={issued?.key ?? ""} onFocus={(e) => (e.target as HTMLInputElement).select()} />
          <button
            type="button"
            onClick={async () => {
              try {
                await navigator.clipboard.writeText(issued?.key ?? "");
                setCopied(true);
                notify("Key copied.");
              } catch {
                notify("The browser would not copy: select the key and copy it by hand.", "error");
              }
            }}
          >
            {copied ? "Copied" : "Copy"}
          </button>
        </div>
      </div>
      <div class="actions">
        <button type="button" class="primary" onClick={onClose}>
          I have saved it
        </button>
      </div>
    </Dialog>
  );
}

function RegisterDialog({ open, onClose, onDone }: { open: boolean; onClose: () => void; onDone: (r: BotKeyIssued) => void }) {
  const [name, setName] = useState("");
  const [owner, setOwner] = useState("");
  const [platform, setPlatform] = useState("discord");
  const [rate, setRate] = useState("1000");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!open) return;
    setName("");
    setOwner("");
    setPlatform("discord");
    setRate("1000");
    setError(null);
  }, [open]);
  return (
    <Dialog title="Register a bot" open={open} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (busy) return;
          setBusy(true);
          setError(null);
          try {
            const who = await resolveUser(owner);
            const result = await api.post<BotKeyIssued>("/v1/admin/bots", {
              name: name.trim(),
              owner_id: who.id,
              platform: platform.trim().toLowerCase(),
              rate_limit_per_hour: Number(rate),
            });
            onDone(result);
          } catch (e) {
            setError(describeError(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        <div class="field">
          <label for="bot-name">Name</label>
          <input id="bot-name" type="text" required minLength={2} maxLength={32} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="bot-owner">
            Owner <span class="hint">username or user id</span>
          </label>
          <input id="bot-owner" type="text" required value={owner} onInput={(e) => setOwner((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="bot-platform">
            Platform <span class="hint">lowercase, like discord or telegram</span>
          </label>
          <input id="bot-platform" type="text" required pattern="[a-z][a-z0-9_]{1,31}" list="bot-platforms" value={platform} onInput={(e) => setPlatform((e.target as HTMLInputElement).value)} />
          <datalist id="bot-platforms">
            <option value="discord" />
            <option value="telegram" />
          </datalist>
        </div>
        <div class="field">
          <label for="bot-rate">Requests per hour</label>
          <input id="bot-rate" type="number" min={1} required value={rate} onInput={(e) => setRate((e.target as HTMLInputElement).value)} />
        </div>
        <ErrorAlert error={error} />
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
            Register
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function EditDialog({ bot, onClose, onDone }: { bot: BotPrivate; onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState(bot.name);
  const [owner, setOwner] = useState(String(bot.owner_id));
  const [rate, setRate] = useState(String(bot.rate_limit_per_hour));
  const [type, setType] = useState(bot.bot_type);
  const [active, setActive] = useState(bot.is_active);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog title={`Edit ${bot.name}`} open onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (busy) return;
          setBusy(true);
          setError(null);
          try {
            const body: Record<string, unknown> = {};
            if (name.trim() !== bot.name) body["name"] = name.trim();
            if (owner.trim() !== String(bot.owner_id)) body["owner_id"] = (await resolveUser(owner)).id;
            if (Number(rate) !== bot.rate_limit_per_hour) body["rate_limit_per_hour"] = Number(rate);
            if (type !== bot.bot_type) body["bot_type"] = type;
            if (active !== bot.is_active) body["is_active"] = active;
            if (Object.keys(body).length > 0) {
              await api.post(`/v1/admin/bots/${bot.id}/update`, body);
              notify(`${name.trim()} updated.`);
            }
            onDone();
          } catch (e) {
            setError(describeError(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        <div class="field">
          <label for="edit-bot-name">Name</label>
          <input id="edit-bot-name" type="text" required minLength={2} maxLength={32} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="edit-bot-owner">
            Owner <span class="hint">username or user id; a change transfers the bot</span>
          </label>
          <input id="edit-bot-owner" type="text" required value={owner} onInput={(e) => setOwner((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="edit-bot-rate">Requests per hour</label>
          <input id="edit-bot-rate" type="number" min={1} required value={rate} onInput={(e) => setRate((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="edit-bot-type">Type</label>
          <select id="edit-bot-type" value={type} onChange={(e) => setType(Number((e.target as HTMLSelectElement).value))}>
            <option value={1}>Official</option>
            <option value={2}>Verified</option>
            <option value={3}>Community (not verified)</option>
          </select>
        </div>
        <label class="check">
          <input type="checkbox" checked={active} onChange={(e) => setActive((e.target as HTMLInputElement).checked)} />
          Active (an inactive bot's key is refused)
        </label>
        <ErrorAlert error={error} />
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}
