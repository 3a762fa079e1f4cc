import { describe, expect, it } from 'vitest';
import { layoutFlow, type LayoutEdge, type LayoutNode } from '../editor/layout';

const box = (id: string, height = 80): LayoutNode => ({ id, width: 200, height });
const ports: Record<string, string[]> = {
  cond: ['true', 'false', 'error'],
  sw: ['paid', 'refunded', 'cancelled', 'default', 'error'],
};
const portOrder = (id: string) => ports[id] ?? ['main', 'error'];

function overlaps(pos: Map<string, { x: number; y: number }>, nodes: LayoutNode[]): boolean {
  for (const a of nodes) for (const b of nodes) {
    if (a.id >= b.id) continue;
    const pa = pos.get(a.id)!, pb = pos.get(b.id)!;
    if (pa.x < pb.x + b.width && pb.x < pa.x + a.width && pa.y < pb.y + b.height && pb.y < pa.y + a.height) return true;
  }
  return false;
}

describe('auto-layout', () => {
  it('lays a chain out left to right without overlaps', () => {
    const nodes = [box('map'), box('hook'), box('send')];
    const edges: LayoutEdge[] = [
      { source: 'hook', sourcePort: 'main', target: 'map' },
      { source: 'map', sourcePort: 'main', target: 'send' },
    ];
    const pos = layoutFlow(nodes, edges, portOrder);
    expect(pos.get('hook')!.x).toBeLessThan(pos.get('map')!.x);
    expect(pos.get('map')!.x).toBeLessThan(pos.get('send')!.x);
    expect(pos.get('hook')!.y).toBe(pos.get('map')!.y);
    expect(overlaps(pos, nodes)).toBe(false);
  });

  it('keeps true above false whatever order the edges come in', () => {
    // The false branch is listed first and is the longer one, which dagre alone would put on top.
    const nodes = [box('hook'), box('cond', 110), box('no'), box('no2'), box('no3'), box('yes'), box('fail')];
    const edges: LayoutEdge[] = [
      { source: 'cond', sourcePort: 'error', target: 'fail' },
      { source: 'cond', sourcePort: 'false', target: 'no' },
      { source: 'no', sourcePort: 'main', target: 'no2' },
      { source: 'no2', sourcePort: 'main', target: 'no3' },
      { source: 'hook', sourcePort: 'main', target: 'cond' },
      { source: 'cond', sourcePort: 'true', target: 'yes' },
    ];
    const pos = layoutFlow(nodes, edges, portOrder);
    expect(pos.get('yes')!.y).toBeLessThan(pos.get('no')!.y);
    expect(pos.get('no')!.y).toBeLessThan(pos.get('fail')!.y);
    expect(pos.get('no2')!.y).toBe(pos.get('no')!.y);
    expect(overlaps(pos, nodes)).toBe(false);
  });

  it('stacks switch cases in their order, the default and the error port last', () => {
    const nodes = ['hook', 'sw', 'd', 'c', 'b', 'a', 'e'].map((id) => box(id));
    const edges: LayoutEdge[] = [
      { source: 'hook', sourcePort: 'main', target: 'sw' },
      { source: 'sw', sourcePort: 'error', target: 'e' },
      { source: 'sw', sourcePort: 'default', target: 'd' },
      { source: 'sw', sourcePort: 'cancelled', target: 'c' },
      { source: 'sw', sourcePort: 'refunded', target: 'b' },
      { source: 'sw', sourcePort: 'paid', target: 'a' },
    ];
    const pos = layoutFlow(nodes, edges, portOrder);
    const ys = ['a', 'b', 'c', 'd', 'e'].map((id) => pos.get(id)!.y);
    expect([...ys].sort((x, y) => x - y)).toEqual(ys);
    expect(new Set(['a', 'b', 'c', 'd', 'e'].map((id) => pos.get(id)!.x)).size).toBe(1);
  });

  it('places unconnected nodes and ignores edges to nodes that are gone', () => {
    const nodes = [box('a'), box('b')];
    const pos = layoutFlow(nodes, [{ source: 'a', sourcePort: 'main', target: 'ghost' }], portOrder);
    expect([...pos.keys()].sort()).toEqual(['a', 'b']);
    expect(overlaps(pos, nodes)).toBe(false);
    expect(layoutFlow([], [], portOrder).size).toBe(0);
  });
});
