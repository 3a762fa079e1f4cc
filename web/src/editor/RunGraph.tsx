import { useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Background, Controls, ReactFlow, ReactFlowProvider } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { Card, Spin } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { FlowDocument, FlowVersion, NodeSpec, RunDetail } from '../api/types';
import { docToCanvas } from './convert';
import { EditorContext, type EditorState } from './context';
import { FerryNodeView } from './FerryNodeView';
import { lastSteps } from './stepView';
import { ErrorAlert } from '../ui';

const nodeTypes = { ferry: FerryNodeView };

/**
 * RunGraph draws the flow a run executed, read-only, with each step's status, duration and error on its node: the
 * published version a live run names, or the document a test run of a draft carried.
 */
export default function RunGraph({ run }: { run: RunDetail }) {
  const { t } = useTranslation();
  const version = useQuery({
    queryKey: ['version', run.flowId, run.flowVersion],
    queryFn: () => api.get<FlowVersion>(`/api/v1/flows/${encodeURIComponent(run.flowId)}/versions/${run.flowVersion}`),
    enabled: !run.flow && (run.flowVersion ?? 0) > 0,
    staleTime: Infinity, // versions never change (I8)
  });
  const catalog = useQuery({ queryKey: ['nodes'], queryFn: () => api.get<{ nodes: NodeSpec[] }>('/api/v1/nodes'), staleTime: 300_000 });
  const doc: FlowDocument | undefined = run.flow ?? version.data?.flow;
  const canvas = useMemo(() => (doc ? docToCanvas(doc) : null), [doc]);
  const state: EditorState = useMemo(() => ({
    specs: new Map((catalog.data?.nodes ?? []).map((s) => [s.type, s])),
    problems: new Map(),
    steps: lastSteps(run.steps ?? []),
    childrenOpen: run.status === 'waiting' ? run.childrenOpen ?? 0 : undefined,
  }), [catalog.data, run.steps, run.status, run.childrenOpen]);

  const error = version.error ?? catalog.error;
  return (
    <Card size="small" title={t('run.graph')} style={{ marginBottom: 16 }} styles={{ body: { padding: 0 } }}>
      <div className="ferry-run-graph">
        {error ? <ErrorAlert error={error} style={{ margin: 12 }} />
          : !canvas || catalog.isPending ? <div style={{ padding: 48, textAlign: 'center' }}><Spin /></div>
            : (
              <EditorContext.Provider value={state}>
                <ReactFlowProvider>
                  <ReactFlow
                    nodes={canvas.nodes}
                    edges={canvas.edges}
                    nodeTypes={nodeTypes}
                    nodesDraggable={false}
                    nodesConnectable={false}
                    elementsSelectable={false}
                    fitView
                    fitViewOptions={{ maxZoom: 1 }}
                    proOptions={{ hideAttribution: true }}
                  >
                    <Background />
                    <Controls showInteractive={false} />
                  </ReactFlow>
                </ReactFlowProvider>
              </EditorContext.Provider>
            )}
      </div>
    </Card>
  );
}
