// Interests as chips: type a tag, Enter / comma / space adds it; Backspace in the empty field removes the
// last one; each chip has its own remove button. Why a tag is refused is said as the person types.
import { useEffect, useRef, useState } from "preact/hooks";
import { MAX_TAGS, normalize, tagProblem } from "./tags";

interface Props {
  tags: string[];
  onChange: (tags: string[]) => void;
  disabled: boolean;
  /** Enter on an empty field (with at least one tag): start searching. */
  onSubmit: () => void;
}

export function TagInput({ tags, onChange, disabled, onSubmit }: Props) {
  const [text, setText] = useState("");
  const [said, setSaid] = useState("");
  const field = useRef<HTMLInputElement>(null);
  const problem = tagProblem(text, tags);
  // The page's first field (also after Stop brings the form back).
  useEffect(() => field.current?.focus({ preventScroll: true }), []);

  const add = (): boolean => {
    const tag = normalize(text);
    if (!tag) return false;
    const why = tagProblem(tag, tags);
    if (why) {
      setSaid(why); // announced (the visible hint already shows it)
      return true;
    }
    onChange([...tags, tag]);
    setText("");
    setSaid(`Added ${tag}. ${tags.length + 1} of ${MAX_TAGS}.`);
    return true;
  };

  const remove = (tag: string) => {
    onChange(tags.filter((t) => t !== tag));
    setSaid(`Removed ${tag}.`);
    field.current?.focus();
  };

  const full = tags.length >= MAX_TAGS;
  return (
    <div class="tag-input">
      <label for="match-tag">
        Interests <span class="hint">up to {MAX_TAGS}: you meet someone who shares one</span>
      </label>
      <div class={`tag-box${disabled ? " disabled" : ""}`} onClick={() => field.current?.focus()}>
        {tags.length > 0 && (
          <ul class="chips" aria-label="Your interests">
            {tags.map((tag) => (
              <li key={tag} class="chip">
                <span>{tag}</span>
                {!disabled && (
                  <button type="button" class="chip-remove" aria-label={`Remove ${tag}`} onClick={() => remove(tag)}>
                    ×
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
        <input
          id="match-tag"
          ref={field}
          type="text"
          autocomplete="off"
          autocapitalize="off"
          spellcheck={false}
          enterkeyhint={text ? "done" : "go"}
          maxLength={40}
          placeholder={disabled ? "" : full ? "Three is the most" : tags.length ? "Add another" : "music, chess, anime…"}
          disabled={disabled}
          value={text}
          aria-describedby="match-tag-hint"
          aria-invalid={problem ? "true" : undefined}
          onInput={(event) => {
            const value = event.currentTarget.value;
            // A comma or space ends a tag (also when pasted: "music, chess").
            if (/[,\s]/.test(value)) {
              const parts = value.split(/[,\s]+/);
              const rest = parts.pop() ?? "";
              let next = [...tags];
              let why = "";
              for (const part of parts.map(normalize).filter(Boolean)) {
                const problemOf = tagProblem(part, next);
                if (problemOf) why = problemOf;
                else next = [...next, part];
              }
              if (next.length !== tags.length) onChange(next);
              setText(why ? parts.filter(Boolean).pop() ?? rest : rest);
              if (why) setSaid(why);
              return;
            }
            setText(value.toLowerCase());
          }}
          onKeyDown={(event) => {
            if (event.key === "Enter") {
              event.preventDefault();
              if (!add() && tags.length > 0) onSubmit();
            } else if (event.key === "Backspace" && !text && tags.length > 0) {
              const last = tags[tags.length - 1] as string;
              onChange(tags.slice(0, -1));
              setSaid(`Removed ${last}.`);
            }
          }}
        />
      </div>
      <p id="match-tag-hint" class={`hint tag-hint${problem ? " error-text" : ""}`}>
        {problem ??
          (full
            ? `That is ${MAX_TAGS} interests, the most you can give.`
            : "3 to 12 lowercase letters or digits each. Enter, a comma or a space adds one.")}
      </p>
      <p class="visually-hidden" aria-live="polite">
        {said}
      </p>
    </div>
  );
}
