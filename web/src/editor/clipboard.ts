import type { FlowEdge, FlowNode } from '../api/types';
import { freshNodeId } from './convert';

// Copy and paste of canvas nodes. What is copied is plain flow JSON (nodes with their positions and the edges
// between them) wrapped in a small envelope, so it can travel through the system clipboard from one flow, or
// one browser tab, to another and be recognised on the way back in.

/** CLIPBOARD_KIND marks clipboard text as Ferry nodes; any other text is left to whatever field it is pasted in. */
export const CLIPBOARD_KIND = 'ferry/nodes';

/** PASTE_OFFSET is how far a pasted copy lands from its original, so it never hides under it. */
export const PASTE_OFFSET = 40;

/** ClipboardContent is the envelope written to the clipboard. */
export interface ClipboardContent {
  kind: typeof CLIPBOARD_KIND;
  version: 1;
  nodes: FlowNode[];
  edges: FlowEdge[];
}

/** copySelection keeps the chosen nodes and only the edges whose both ends are among them. */
export function copySelection(nodes: FlowNode[], edges: FlowEdge[], selected: Iterable<string>): ClipboardContent | null {
  const ids = new Set(selected);
  const picked = nodes.filter((n) => ids.has(n.id));
  if (picked.length === 0) return null;
  const kept = new Set(picked.map((n) => n.id));
  return {
    kind: CLIPBOARD_KIND,
    version: 1,
    nodes: structuredClone(picked),
    edges: structuredClone(edges.filter((e) => kept.has(e.source) && kept.has(e.target))),
  };
}

export function serializeClipboard(c: ClipboardContent): string {
  return JSON.stringify(c);
}

/** parseClipboard reads clipboard text back, or returns null when it is not Ferry nodes. */
export function parseClipboard(text: string): ClipboardContent | null {
  if (!text || text[0] !== '{') return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object') return null;
  const c = v as Partial<ClipboardContent>;
  if (c.kind !== CLIPBOARD_KIND || !Array.isArray(c.nodes) || !Array.isArray(c.edges)) return null;
  const nodes = c.nodes.filter((n): n is FlowNode => !!n && typeof n === 'object' && typeof n.id === 'string' && typeof n.type === 'string');
  if (nodes.length === 0) return null;
  const ids = new Set(nodes.map((n) => n.id));
  const edges = c.edges.filter(
    (e): e is FlowEdge => !!e && typeof e === 'object' && ids.has(e.source) && ids.has(e.target),
  );
  return { kind: CLIPBOARD_KIND, version: 1, nodes, edges };
}

/**
 * preparePaste gives every copied node an id no node of the target flow has yet, moves it by `offset`, and
 * reconnects the copied edges to the new ids. Ids are chosen the same way as for a node dragged from the palette.
 */
export function preparePaste(c: ClipboardContent, taken: Iterable<string>, offset: number): { nodes: FlowNode[]; edges: FlowEdge[] } {
  const used = new Set(taken);
  const rename = new Map<string, string>();
  const nodes = c.nodes.map((n) => {
    const id = freshNodeId(n.type, used);
    used.add(id);
    rename.set(n.id, id);
    const p = n.position ?? { x: 0, y: 0 };
    return { ...structuredClone(n), id, position: { x: p.x + offset, y: p.y + offset } };
  });
  const edges = c.edges.map((e) => ({ ...e, source: rename.get(e.source)!, target: rename.get(e.target)! }));
  return { nodes, edges };
}
