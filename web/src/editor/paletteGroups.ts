import type { NodeSpec } from '../api/types';

// How the palette orders the node catalog: the way a flow is read, from what starts it to what it reaches.

/** PALETTE_ORDER is the order of the palette's groups; categories the server adds later come after these. */
export const PALETTE_ORDER = ['trigger', 'logic', 'data', 'payments', 'shops', 'crm', 'notifications', 'action', 'utilities'];

/** matchesSearch looks for every word of the search in a node's name, type and description. */
export function matchesSearch(spec: NodeSpec, search: string): boolean {
  const words = search.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const text = `${spec.name} ${spec.type} ${spec.description ?? ''}`.toLowerCase();
  return words.every((w) => text.includes(w));
}

/** paletteGroups returns the non-empty groups in palette order, each sorted by name, keeping only search matches. */
export function paletteGroups(specs: NodeSpec[], search: string): { category: string; specs: NodeSpec[] }[] {
  const groups = new Map<string, NodeSpec[]>();
  for (const s of specs) {
    if (!matchesSearch(s, search)) continue;
    const category = s.category || 'utilities';
    groups.set(category, [...(groups.get(category) ?? []), s]);
  }
  const rank = (c: string) => {
    const i = PALETTE_ORDER.indexOf(c);
    return i < 0 ? PALETTE_ORDER.length : i;
  };
  return [...groups.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([category, list]) => ({ category, specs: [...list].sort((a, b) => a.name.localeCompare(b.name)) }));
}
