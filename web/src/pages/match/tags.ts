// Interest tags, by the contract's rules (portal/schemas/match.py): `^[a-z0-9]{3,12}$`, 1 to 3 of them,
// duplicates collapse. The client lowercases what is typed (the server does no case folding) and says why
// anything else is refused while the person types.

export const MAX_TAGS = 3;
export const TAG_RE = /^[a-z0-9]{3,12}$/;

/** What the input holds, as a tag would be sent: trimmed and lowercased. */
export function normalize(text: string): string {
  return text.trim().toLowerCase();
}

/** Why `text` cannot be added next to `tags`, in words; null when it can (or the field is empty). */
export function tagProblem(text: string, tags: readonly string[]): string | null {
  const tag = normalize(text);
  if (!tag) return null;
  if (tags.includes(tag)) return `“${tag}” is already one of your interests.`;
  if (tags.length >= MAX_TAGS) return `Up to ${MAX_TAGS} interests: remove one to add “${tag}”.`;
  const bad = [...new Set(tag.replace(/[a-z0-9]/g, ""))];
  if (bad.length) {
    const shown = bad.map((c) => (c === " " ? "spaces" : `“${c}”`)).join(", ");
    return `Only letters a–z and digits: ${shown} cannot be in an interest.`;
  }
  if (tag.length < 3) return `“${tag}” is too short: an interest has 3 to 12 letters or digits.`;
  if (tag.length > 12) return `Too long (${tag.length}): an interest has 3 to 12 letters or digits.`;
  return null;
}

/** The tags a saved or typed list holds that follow the rules, without repeats, at most three. */
export function cleanTags(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  const out: string[] = [];
  for (const item of list) {
    if (typeof item === "string" && TAG_RE.test(item) && !out.includes(item) && out.length < MAX_TAGS) out.push(item);
  }
  return out;
}
