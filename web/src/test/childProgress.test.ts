import { describe, expect, it } from 'vitest';
import { childProgress } from '../editor/stepView';

// A node that started child runs shows their progress on the run's graph.
describe('child progress', () => {
  it('counts the children ended while the step waits', () => {
    expect(childProgress({ seq: 2, nodeId: 'lines', status: 'waiting', output: { children: 10, parallel: 2, port: 'each' } }, 4))
      .toEqual({ total: 10, ended: 6 });
    expect(childProgress({ seq: 2, nodeId: 'lines', status: 'waiting', output: { children: 10 } }, undefined)).toEqual({ total: 10, ended: undefined });
  });
  it('reads the summary once the step went on', () => {
    expect(childProgress({ seq: 3, nodeId: 'lines', nodeType: 'core.split', status: 'succeeded',
      output: { total: 3, succeeded: 2, failed: 1, cancelled: 0, children: [{ index: 1 }] } }, undefined))
      .toEqual({ total: 3, succeeded: 2, failed: 1 });
  });
  it('has none for other steps, even one passing a summary on', () => {
    expect(childProgress({ seq: 4, nodeId: 'after', nodeType: 'core.set-vars', status: 'succeeded',
      output: { total: 3, succeeded: 3, failed: 0, children: [] } }, undefined)).toBeNull();
    expect(childProgress({ seq: 1, nodeId: 'map', status: 'succeeded', output: { total: 3 } }, undefined)).toBeNull();
    expect(childProgress(undefined, 2)).toBeNull();
  });
});
