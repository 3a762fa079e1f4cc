import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import { Link, useParams } from 'react-router-dom';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  addEdge, Background, Controls, MiniMap, ReactFlow, ReactFlowProvider, useEdgesState, useNodesState, useReactFlow,
  type Connection, type IsValidConnection,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { App as AntApp, Alert, Button, Input, Modal, Space, Spin, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../api/client';
import type { Flow, FlowDocument, NodeSpec, Problem, RunDetail, Step } from '../api/types';
import { canvasToDoc, docToCanvas, freshNodeId, makeEdge, type FerryEdge, type FerryNode } from './convert';
import { EditorContext, type EditorState } from './context';
import { FerryNodeView } from './FerryNodeView';
import { defaultParams } from './form';
import { NodePanel } from './NodePanel';
import { DRAG_TYPE, Palette } from './Palette';
import { ErrorAlert, StatusTag, webhookAddress } from '../ui';

// Stable across renders, as the canvas requires.
const nodeTypes = { ferry: FerryNodeView };

export default function EditorPage() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const flow = useQuery({ queryKey: ['flow', id], queryFn: () => api.get<Flow>(`/api/v1/flows/${encodeURIComponent(id)}`) });
  const catalog = useQuery({ queryKey: ['nodes'], queryFn: () => api.get<{ nodes: NodeSpec[] }>('/api/v1/nodes'), staleTime: 300_000 });
  if (flow.isError) return <div className="ferry-page"><ErrorAlert error={flow.error} /></div>;
  if (catalog.isError) return <div className="ferry-page"><ErrorAlert error={catalog.error} /></div>;
  if (flow.isPending || catalog.isPending) return <div style={{ padding: 48, textAlign: 'center' }}><Spin tip={t('common.loading')} /></div>;
  return (
    <ReactFlowProvider>
      <Editor key={flow.data.id} flow={flow.data} specs={catalog.data.nodes} />
    </ReactFlowProvider>
  );
}

/** lastSteps keeps each node's last step of a run (a retried step appears once per attempt). */
function lastSteps(steps: Step[]): Map<string, Step> {
  const m = new Map<string, Step>();
  for (const s of steps) m.set(s.nodeId, s);
  return m;
}

function groupProblems(problems: Problem[]): Map<string, Problem[]> {
  const m = new Map<string, Problem[]>();
  for (const p of problems) {
    if (!p.nodeId) continue;
    m.set(p.nodeId, [...(m.get(p.nodeId) ?? []), p]);
  }
  return m;
}

function Editor({ flow, specs }: { flow: Flow; specs: NodeSpec[] }) {
  const { t } = useTranslation();
  const { message, modal } = AntApp.useApp();
  const queryClient = useQueryClient();
  const { screenToFlowPosition, fitView } = useReactFlow();
  const initial = useMemo(() => docToCanvas(flow.flow ?? { schema: 1, name: flow.name, nodes: [], edges: [] }), [flow]);
  const [nodes, setNodes, onNodesChange] = useNodesState<FerryNode>(initial.nodes);
  const [edges, setEdges, onEdgesChange] = useEdgesState<FerryEdge>(initial.edges);
  const [base, setBase] = useState<FlowDocument>(flow.flow ?? { schema: 1, name: flow.name, nodes: [], edges: [] });
  const [revision, setRevision] = useState(flow.revision);
  const [status, setStatus] = useState({ status: flow.status, publishedVersion: flow.publishedVersion });
  const [dirty, setDirty] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [flowProblems, setFlowProblems] = useState<Problem[]>([]);
  const [testRun, setTestRun] = useState<RunDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<'' | 'save' | 'publish' | 'test'>('');
  const [publishOpen, setPublishOpen] = useState(false);
  const [publishMessage, setPublishMessage] = useState('');
  const [testOpen, setTestOpen] = useState(false);
  const [payloadText, setPayloadText] = useState('{\n  \n}');
  const [payloadError, setPayloadError] = useState('');
  const wrapper = useRef<HTMLDivElement>(null);

  const specMap = useMemo(() => new Map(specs.map((s) => [s.type, s])), [specs]);
  const state: EditorState = useMemo(
    () => ({ specs: specMap, problems: groupProblems(problems), steps: lastSteps(testRun?.steps ?? []) }),
    [specMap, problems, testRun],
  );
  const currentDoc = useCallback(() => canvasToDoc(base, nodes, edges), [base, nodes, edges]);

  // Leaving with unsaved changes asks first.
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  const showProblems = (err: unknown) => {
    if (err instanceof ApiError && err.problems.length) {
      setProblems(err.problems);
      setFlowProblems(err.problems.filter((p) => !p.nodeId));
    }
    setError(err);
  };

  const save = async (): Promise<boolean> => {
    setBusy('save');
    setError(null);
    try {
      const saved = await api.put<Flow>(`/api/v1/flows/${encodeURIComponent(flow.id)}`, currentDoc(), { 'If-Match': String(revision) });
      setRevision(saved.revision);
      if (saved.flow) setBase(saved.flow);
      setStatus({ status: saved.status, publishedVersion: saved.publishedVersion });
      setDirty(false);
      setProblems([]);
      setFlowProblems([]);
      queryClient.setQueryData(['flow', flow.id], saved);
      void queryClient.invalidateQueries({ queryKey: ['flows'] });
      void message.success(t('editor.saved'));
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        modal.warning({ title: t('editor.conflictTitle'), content: t('editor.conflict') });
        setError(err);
      } else showProblems(err);
      return false;
    } finally {
      setBusy('');
    }
  };

  // Ctrl+S (⌘S on a Mac) saves the draft, as in every editor; the browser's own "save page" never opens here.
  const saveRef = useRef(save);
  saveRef.current = save;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 's') {
        e.preventDefault();
        void saveRef.current();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const publish = async () => {
    if (dirty && !(await save())) return;
    setBusy('publish');
    setError(null);
    try {
      const v = await api.post<{ version: number }>(`/api/v1/flows/${encodeURIComponent(flow.id)}/publish`, { message: publishMessage });
      setStatus({ status: 'published', publishedVersion: v.version });
      setPublishOpen(false);
      setPublishMessage('');
      void queryClient.invalidateQueries({ queryKey: ['flows'] });
      void queryClient.invalidateQueries({ queryKey: ['flow', flow.id] });
      void message.success(t('editor.published', { version: v.version }));
    } catch (err) {
      setPublishOpen(false);
      showProblems(err);
    } finally {
      setBusy('');
    }
  };

  const runTest = async () => {
    let payload: unknown;
    try {
      payload = payloadText.trim() === '' ? {} : JSON.parse(payloadText);
    } catch (e) {
      setPayloadError(e instanceof Error ? e.message : String(e));
      return;
    }
    setPayloadError('');
    setBusy('test');
    setError(null);
    try {
      // The canvas as it is now, saved or not, is what gets tested.
      const run = await api.post<RunDetail>(`/api/v1/flows/${encodeURIComponent(flow.id)}/test`, { payload, flow: currentDoc() });
      setTestRun(run);
      setProblems([]);
      setFlowProblems([]);
      setTestOpen(false);
    } catch (err) {
      setTestOpen(false);
      showProblems(err);
    } finally {
      setBusy('');
    }
  };

  const onConnect = useCallback(
    (c: Connection) => {
      setEdges((eds) => addEdge(makeEdge(c.source, c.sourceHandle, c.target, c.targetHandle), eds));
      setDirty(true);
    },
    [setEdges],
  );

  const isValidConnection: IsValidConnection<FerryEdge> = useCallback(
    (c) => c.source !== c.target && !edges.some((e) => e.source === c.source && e.target === c.target && e.sourceHandle === c.sourceHandle && e.targetHandle === c.targetHandle),
    [edges],
  );

  const onDrop = useCallback(
    (e: DragEvent) => {
      e.preventDefault();
      const type = e.dataTransfer.getData(DRAG_TYPE);
      const spec = specMap.get(type);
      if (!spec) return;
      const position = screenToFlowPosition({ x: e.clientX, y: e.clientY });
      setNodes((ns) => {
        const nid = freshNodeId(type, ns.map((n) => n.id));
        return [...ns, { id: nid, type: 'ferry', position, data: { node: { id: nid, type, version: spec.version, name: spec.name, params: defaultParams(spec) } } }];
      });
      setDirty(true);
    },
    [screenToFlowPosition, setNodes, specMap],
  );

  const selectedNode = nodes.find((n) => n.id === selected);

  return (
    <EditorContext.Provider value={state}>
      <div className="ferry-editor">
        <Palette specs={specs} />
        <div className="ferry-canvas" ref={wrapper} onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'move'; }} onDrop={onDrop}>
          <div className="ferry-toolbar">
            <Link to="/flows">← {t('nav.flows')}</Link>
            <Typography.Text strong>{base.name}</Typography.Text>
            <StatusTag status={status.status} />
            {status.publishedVersion ? <Tag>v{status.publishedVersion}</Tag> : null}
            <Typography.Text type="secondary">{t('editor.revision', { revision })}</Typography.Text>
            {dirty && <Tag color="orange">{t('editor.unsaved')}</Tag>}
            <Space style={{ marginLeft: 'auto' }}>
              <Button onClick={() => setTestOpen(true)} loading={busy === 'test'}>{t('editor.test')}</Button>
              <Button onClick={() => save()} loading={busy === 'save'} disabled={!dirty}>{t('editor.save')}</Button>
              <Button type="primary" onClick={() => setPublishOpen(true)} loading={busy === 'publish'}>{t('editor.publish')}</Button>
            </Space>
          </div>
          <div style={{ position: 'absolute', zIndex: 5, top: 50, left: 10, right: 10 }}>
            {flow.webhookUrl && <Typography.Text type="secondary" copyable={{ text: webhookAddress(flow.webhookUrl) }}>{t('flows.webhook')}: <code>{webhookAddress(flow.webhookUrl)}</code></Typography.Text>}
            <ErrorAlert error={error} style={{ marginTop: 6 }} />
            {flowProblems.length > 0 && !error && <Alert type="error" message={flowProblems.map((p) => p.message).join('; ')} />}
            {testRun && (
              <Alert
                style={{ marginTop: 6 }}
                type={testRun.status === 'failed' ? 'error' : 'success'}
                closable
                onClose={() => setTestRun(null)}
                message={<span>{t('editor.testResult')} <StatusTag status={testRun.status} /> {testRun.durationMs !== undefined ? `${testRun.durationMs} ms` : ''} <Link to={`/runs/${testRun.id}`}>{t('editor.openRun')}</Link></span>}
              />
            )}
          </div>
          <ReactFlow<FerryNode, FerryEdge>
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            onNodesChange={(changes) => {
              onNodesChange(changes);
              if (changes.some((c) => c.type === 'position' || c.type === 'remove' || c.type === 'add')) setDirty(true);
            }}
            onEdgesChange={(changes) => {
              onEdgesChange(changes);
              if (changes.some((c) => c.type === 'remove' || c.type === 'add')) setDirty(true);
            }}
            onConnect={onConnect}
            isValidConnection={isValidConnection}
            onNodeClick={(_, n) => setSelected(n.id)}
            onPaneClick={() => setSelected(null)}
            onNodesDelete={(ds) => ds.some((d) => d.id === selected) && setSelected(null)}
            deleteKeyCode={['Delete', 'Backspace']}
            fitView
            proOptions={{ hideAttribution: true }}
          >
            <Background />
            <MiniMap pannable zoomable />
            <Controls onFitView={() => void fitView()} />
          </ReactFlow>
        </div>
      </div>
      {selectedNode && (
        <NodePanel
          id={selectedNode.id}
          node={selectedNode.data.node}
          spec={specMap.get(selectedNode.data.node.type)}
          problems={state.problems.get(selectedNode.id) ?? []}
          step={state.steps.get(selectedNode.id)}
          onClose={() => setSelected(null)}
          onChange={(next) => {
            setNodes((ns) => ns.map((n) => (n.id === selectedNode.id ? { ...n, data: { node: next } } : n)));
            setDirty(true);
          }}
        />
      )}
      <Modal
        open={publishOpen}
        title={t('editor.publishTitle')}
        onCancel={() => setPublishOpen(false)}
        onOk={publish}
        okText={t('editor.publish')}
        cancelText={t('common.cancel')}
        confirmLoading={busy === 'publish' || busy === 'save'}
      >
        {dirty && <Alert type="info" style={{ marginBottom: 12 }} message={t('editor.publishSavesFirst')} />}
        <Input.TextArea value={publishMessage} onChange={(e) => setPublishMessage(e.target.value)} placeholder={t('editor.publishMessage')} autoSize={{ minRows: 2 }} />
      </Modal>
      <Modal
        open={testOpen}
        title={t('editor.testTitle')}
        onCancel={() => setTestOpen(false)}
        onOk={runTest}
        okText={t('editor.runTest')}
        cancelText={t('common.cancel')}
        confirmLoading={busy === 'test'}
      >
        <Typography.Paragraph type="secondary">{t('editor.testHelp')}</Typography.Paragraph>
        <Input.TextArea className="ferry-mono" value={payloadText} onChange={(e) => setPayloadText(e.target.value)} autoSize={{ minRows: 8, maxRows: 20 }} spellCheck={false} status={payloadError ? 'error' : undefined} />
        {payloadError && <Typography.Text type="danger">{t('editor.invalidJson')}: {payloadError}</Typography.Text>}
      </Modal>
    </EditorContext.Provider>
  );
}
