import dagre from '@dagrejs/dagre';
import type { Position } from '../api/types';

// Automatic layout of a flow, left to right, the way the flow runs. A node's outputs are stacked top to bottom in
// port order (condition true above false, switch cases in their order, the error port last), so the nodes they
// lead to are stacked the same way and the edges do not cross.

/** LayoutNode is what the layout needs of a canvas node: its id and the size it is drawn at. */
export interface LayoutNode {
  id: string;
  width: number;
  height: number;
}

/** LayoutEdge is one connection; sourcePort is the output port it leaves from. */
export interface LayoutEdge {
  source: string;
  sourcePort: string;
  target: string;
}

export const LAYOUT_GAP = { nodes: 40, ranks: 90 };

/**
 * layoutFlow returns each node's top-left position. portOrder lists a node's output port ids in the order they
 * are drawn; edges leaving a port not in that list (a port the node no longer has) come after the known ones.
 */
export function layoutFlow(nodes: LayoutNode[], edges: LayoutEdge[], portOrder: (nodeId: string) => string[]): Map<string, Position> {
  const out = new Map<string, Position>();
  if (nodes.length === 0) return out;
  const known = new Set(nodes.map((n) => n.id));
  const usable = edges.filter((e) => known.has(e.source) && known.has(e.target) && e.source !== e.target);

  const portIndex = (e: LayoutEdge) => {
    const i = portOrder(e.source).indexOf(e.sourcePort);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  // Each node's outgoing edges in port order; dagre's first ordering of a rank follows the order nodes and edges
  // were added, so nodes are added depth first from the triggers, children in port order.
  const outgoing = new Map<string, LayoutEdge[]>();
  for (const e of usable) outgoing.set(e.source, [...(outgoing.get(e.source) ?? []), e]);
  for (const list of outgoing.values()) list.sort((a, b) => portIndex(a) - portIndex(b));
  const hasInput = new Set(usable.map((e) => e.target));
  const sources = new Map<string, Set<string>>();
  for (const e of usable) sources.set(e.target, (sources.get(e.target) ?? new Set()).add(e.source));

  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    order.push(id);
    for (const e of outgoing.get(id) ?? []) visit(e.target);
  };
  for (const n of nodes) if (!hasInput.has(n.id)) visit(n.id);
  for (const n of nodes) visit(n.id); // nodes only reachable through a cycle

  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: LAYOUT_GAP.nodes, ranksep: LAYOUT_GAP.ranks, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  const size = new Map(nodes.map((n) => [n.id, n]));
  for (const id of order) {
    const n = size.get(id)!;
    g.setNode(id, { width: n.width, height: n.height });
  }
  const constraints: { left: string; right: string }[] = [];
  for (const id of order) {
    const list = outgoing.get(id) ?? [];
    list.forEach((e, i) => g.setEdge(e.source, e.target, { weight: 1 }, `${e.sourcePort}->${e.target}:${i}`));
    // Targets reached only from this node are kept in port order within their rank.
    const own = [...new Set(list.map((e) => e.target))].filter((t) => sources.get(t)!.size === 1);
    for (let i = 1; i < own.length; i++) constraints.push({ left: own[i - 1], right: own[i] });
  }
  dagre.layout(g, { constraints });
  for (const id of order) {
    const n = g.node(id);
    out.set(id, { x: Math.round(n.x! - n.width / 2), y: Math.round(n.y! - n.height / 2) });
  }
  return out;
}
