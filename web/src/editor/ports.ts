import type { NodeSpec, Port } from '../api/types';

export const ERROR_PORT = 'error';
export const DEFAULT_PORT = 'main';

/**
 * outputPorts lists a node's output ports for its current params, the same way the server does: the static
 * ports, one port per row of a dynamic list parameter, the fixed ports after them, and the error port last.
 */
export function outputPorts(spec: NodeSpec | undefined, params: Record<string, unknown> | undefined): Port[] {
  if (!spec) return [{ id: DEFAULT_PORT, label: DEFAULT_PORT, kind: 'main' }, { id: ERROR_PORT, label: 'Error', kind: 'error' }];
  const ports: Port[] = (spec.outputs ?? []).filter((p) => p.kind !== 'error' && p.id !== ERROR_PORT);
  const dyn = spec.dynamicOutputs;
  if (dyn) {
    const rows = params?.[dyn.param];
    if (Array.isArray(rows)) {
      for (const row of rows) {
        if (!row || typeof row !== 'object') continue;
        const r = row as Record<string, unknown>;
        const id = typeof r[dyn.portField] === 'string' ? (r[dyn.portField] as string) : '';
        if (!id) continue;
        const label = dyn.labelField && typeof r[dyn.labelField] === 'string' && r[dyn.labelField] ? (r[dyn.labelField] as string) : id;
        ports.push({ id, label, kind: 'main' });
      }
    }
    for (const p of dyn.fixed ?? []) ports.push(p);
  }
  const errorPort = (spec.outputs ?? []).find((p) => p.id === ERROR_PORT);
  ports.push(errorPort ?? { id: ERROR_PORT, label: 'Error', kind: 'error' });
  return ports;
}

/** inputPorts lists a node's input ports; triggers have none. */
export function inputPorts(spec: NodeSpec | undefined): Port[] {
  if (!spec) return [{ id: DEFAULT_PORT, label: DEFAULT_PORT, kind: 'main' }];
  return spec.inputs ?? [];
}
