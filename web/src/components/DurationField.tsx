// A labelled choice of durations (mutes, bans, timeouts): `options` are [seconds, words] pairs.
export function DurationField({
  id,
  value,
  options,
  onChange,
}: {
  id: string;
  value: number;
  options: ReadonlyArray<readonly [number, string]>;
  onChange: (seconds: number) => void;
}) {
  return (
    <div class="field">
      <label for={id}>Duration</label>
      <select id={id} value={value} onChange={(e) => onChange(Number((e.target as HTMLSelectElement).value))}>
        {options.map(([seconds, text]) => (
          <option key={seconds} value={seconds}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}
