import type { Edge, Node } from '@xyflow/react';
import type { FlowDocument, FlowEdge, FlowNode } from '../api/types';
import { DEFAULT_PORT, ERROR_PORT } from './ports';

/** FerryNodeData is what a canvas node carries: the document node without its position. */
export type FerryNodeData = { node: Omit<FlowNode, 'position'> };
export type FerryNode = Node<FerryNodeData, 'ferry'>;
export type FerryEdge = Edge;

export const errorEdgeStyle = { stroke: '#cf1322', strokeDasharray: '6 4' };

/** edgeId names an edge by its ends, so the same connection always gets the same id. */
export function edgeId(source: string, sourcePort: string, target: string, targetPort: string): string {
  return `${source}:${sourcePort}->${target}:${targetPort}`;
}

/** makeEdge builds a canvas edge; edges leaving an error port are drawn dashed red. */
export function makeEdge(source: string, sourcePort: string | null | undefined, target: string, targetPort: string | null | undefined): FerryEdge {
  const sp = sourcePort || DEFAULT_PORT;
  const tp = targetPort || DEFAULT_PORT;
  const isError = sp === ERROR_PORT;
  return {
    id: edgeId(source, sp, target, tp),
    source,
    target,
    sourceHandle: sp,
    targetHandle: tp,
    ...(isError ? { style: errorEdgeStyle, className: 'ferry-edge-error', animated: false } : {}),
  };
}

/** docToCanvas turns a flow document into canvas nodes and edges; nodes without a position are laid out in a row. */
export function docToCanvas(doc: FlowDocument): { nodes: FerryNode[]; edges: FerryEdge[] } {
  const nodes: FerryNode[] = (doc.nodes ?? []).map((n, i) => {
    const { position, ...rest } = n;
    return {
      id: n.id,
      type: 'ferry',
      position: position ? { x: position.x, y: position.y } : { x: i * 260, y: 120 },
      data: { node: rest },
    };
  });
  const edges = (doc.edges ?? []).map((e) => makeEdge(e.source, e.sourcePort, e.target, e.targetPort));
  return { nodes, edges };
}

/**
 * canvasToDoc writes the canvas back into the document it came from: everything the canvas does not edit
 * (schema, settings, ui, a node's retry and notes) is kept as it was. Default ports are left out.
 */
export function canvasToDoc(base: FlowDocument, nodes: FerryNode[], edges: FerryEdge[]): FlowDocument {
  const docNodes: FlowNode[] = nodes.map((n) => ({
    ...n.data.node,
    id: n.id,
    position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
  }));
  const docEdges: FlowEdge[] = edges.map((e) => {
    const out: FlowEdge = { source: e.source, target: e.target };
    if (e.sourceHandle && e.sourceHandle !== DEFAULT_PORT) out.sourcePort = e.sourceHandle;
    if (e.targetHandle && e.targetHandle !== DEFAULT_PORT) out.targetPort = e.targetHandle;
    return out;
  });
  return { ...base, nodes: docNodes, edges: docEdges };
}

/** freshNodeId picks an id for a new node from its type ("core.map" → "map", "map2", …) that no node has yet. */
export function freshNodeId(type: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const base = (type.split('.').pop() || 'node').replace(/[^A-Za-z0-9_-]/g, '-') || 'node';
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(base + i)) return base + i;
}
