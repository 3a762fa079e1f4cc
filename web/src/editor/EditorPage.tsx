import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import { Link, useParams } from 'react-router-dom';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  addEdge, Background, Controls, MiniMap, ReactFlow, ReactFlowProvider, useEdgesState, useNodesState, useReactFlow,
  type Connection, type IsValidConnection,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import {
  CloudUploadOutlined, ExperimentOutlined, HistoryOutlined, PartitionOutlined, PauseCircleOutlined, PlayCircleOutlined,
  QuestionOutlined, RedoOutlined, SaveOutlined, UndoOutlined,
} from '@ant-design/icons';
import { App as AntApp, Alert, Button, Input, Modal, Space, Spin, Tag, Tooltip, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../api/client';
import { useCan } from '../permissions';
import type { Flow, FlowDocument, NodeSpec, Problem, RunDetail } from '../api/types';
import { canvasToDoc, docToCanvas, freshNodeId, makeEdge, type FerryEdge, type FerryNode } from './convert';
import { EditorContext, type EditorState } from './context';
import { FerryNodeView } from './FerryNodeView';
import { defaultParams } from './form';
import { NodePanel } from './NodePanel';
import { lastSteps } from './stepView';
import { DRAG_TYPE, Palette } from './Palette';
import { copySelection, parseClipboard, PASTE_OFFSET, preparePaste, serializeClipboard, type ClipboardContent } from './clipboard';
import { canRedo, canUndo, emptyHistory, record, redo, undo, type History } from './history';
import { layoutFlow } from './layout';
import { DEFAULT_PORT, outputPorts } from './ports';
import { isMac, isTypingTarget, matchShortcut } from './shortcuts';
import { ShortcutsDialog } from './ShortcutsDialog';
import { TestHookUrl } from './TestHookUrl';
import { TestRunDialog } from './TestRunDialog';
import { VersionsDrawer } from './VersionsDrawer';
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


function groupProblems(problems: Problem[]): Map<string, Problem[]> {
  const m = new Map<string, Problem[]>();
  for (const p of problems) {
    if (!p.nodeId) continue;
    m.set(p.nodeId, [...(m.get(p.nodeId) ?? []), p]);
  }
  return m;
}

/** Snapshot is one undo step: the canvas as it was. */
type Snapshot = { nodes: FerryNode[]; edges: FerryEdge[] };

// The in-page clipboard, kept while the app is open so copying works between flows even where the browser gives
// no access to the system clipboard. pasteRound moves each repeated paste of the same copy a bit further.
let memoryClipboard: ClipboardContent | null = null;
let pasteRound = { text: '', count: 0 };

const DEFAULT_SIZE = { width: 220, height: 90 };

function Editor({ flow, specs }: { flow: Flow; specs: NodeSpec[] }) {
  const { t } = useTranslation();
  // Buttons the role may not use stay in place, disabled, so the toolbar does not jump between roles.
  const can = useCan();
  const { message, modal } = AntApp.useApp();
  const queryClient = useQueryClient();
  const { screenToFlowPosition, fitView } = useReactFlow<FerryNode, FerryEdge>();
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
  const [busy, setBusy] = useState<'' | 'save' | 'publish' | 'test' | 'pause'>('');
  const [publishOpen, setPublishOpen] = useState(false);
  const [publishMessage, setPublishMessage] = useState('');
  const [testOpen, setTestOpen] = useState(false);
  const [helpOpen, setHelpOpen] = useState(false);
  const [versionsOpen, setVersionsOpen] = useState(false);
  const [history, setHistory] = useState<History<Snapshot>>(emptyHistory);
  const wrapper = useRef<HTMLDivElement>(null);

  // Key handlers and clipboard events run outside React's render; they read the latest state through refs.
  const nodesRef = useRef(nodes);
  nodesRef.current = nodes;
  const edgesRef = useRef(edges);
  edgesRef.current = edges;
  const historyRef = useRef(history);
  historyRef.current = history;

  const specMap = useMemo(() => new Map(specs.map((s) => [s.type, s])), [specs]);
  const state: EditorState = useMemo(
    () => ({ specs: specMap, problems: groupProblems(problems), steps: lastSteps(testRun?.steps ?? []) }),
    [specMap, problems, testRun],
  );
  const currentDoc = useCallback(() => canvasToDoc(base, nodes, edges), [base, nodes, edges]);
  // What was last saved, as the canvas writes it: undoing back to it leaves nothing unsaved.
  const [savedJSON, setSavedJSON] = useState(() => JSON.stringify(canvasToDoc(base, initial.nodes, initial.edges)));
  const changed = useMemo(() => dirty && JSON.stringify(currentDoc()) !== savedJSON, [dirty, currentDoc, savedJSON]);

  /** remember records the canvas as it is now as an undo step, before a change replaces it. */
  const remember = useCallback((coalesceKey?: string) => {
    const next = record(historyRef.current, { nodes: nodesRef.current, edges: edgesRef.current }, { coalesceKey });
    historyRef.current = next;
    setHistory(next);
    setDirty(true);
  }, []);

  const restore = useCallback((s: Snapshot) => {
    nodesRef.current = s.nodes;
    edgesRef.current = s.edges;
    setNodes(s.nodes);
    setEdges(s.edges);
    setDirty(true);
  }, [setNodes, setEdges]);

  const doUndo = useCallback(() => {
    const r = undo(historyRef.current, { nodes: nodesRef.current, edges: edgesRef.current });
    if (!r) return;
    historyRef.current = r.history;
    setHistory(r.history);
    restore(r.state);
  }, [restore]);

  const doRedo = useCallback(() => {
    const r = redo(historyRef.current, { nodes: nodesRef.current, edges: edgesRef.current });
    if (!r) return;
    historyRef.current = r.history;
    setHistory(r.history);
    restore(r.state);
  }, [restore]);

  /** addNodes puts copied or duplicated nodes on the canvas, selected and alone in the selection. */
  const addNodes = useCallback((content: ClipboardContent, offset: number) => {
    const taken = nodesRef.current.map((n) => n.id);
    const pasted = preparePaste(content, taken, offset);
    const canvas = docToCanvas({ schema: 1, name: '', nodes: pasted.nodes, edges: pasted.edges });
    remember();
    const nextNodes = [...nodesRef.current.map((n) => (n.selected ? { ...n, selected: false } : n)), ...canvas.nodes.map((n) => ({ ...n, selected: true }))];
    const nextEdges = [...edgesRef.current.map((e) => (e.selected ? { ...e, selected: false } : e)), ...canvas.edges];
    nodesRef.current = nextNodes;
    edgesRef.current = nextEdges;
    setNodes(nextNodes);
    setEdges(nextEdges);
    void message.success(t('canvas.pasted', { count: canvas.nodes.length }));
  }, [remember, setNodes, setEdges, message, t]);

  const copyCurrent = useCallback((): ClipboardContent | null => {
    const doc = canvasToDoc(base, nodesRef.current, edgesRef.current);
    return copySelection(doc.nodes, doc.edges, nodesRef.current.filter((n) => n.selected).map((n) => n.id));
  }, [base]);

  const deleteSelection = useCallback(() => {
    const gone = new Set(nodesRef.current.filter((n) => n.selected).map((n) => n.id));
    const keepEdge = (e: FerryEdge) => !e.selected && !gone.has(e.source) && !gone.has(e.target);
    const nextEdges = edgesRef.current.filter(keepEdge);
    if (gone.size === 0 && nextEdges.length === edgesRef.current.length) return;
    remember();
    const nextNodes = nodesRef.current.filter((n) => !gone.has(n.id));
    nodesRef.current = nextNodes;
    edgesRef.current = nextEdges;
    setNodes(nextNodes);
    setEdges(nextEdges);
    setSelected((cur) => (cur && gone.has(cur) ? null : cur));
  }, [remember, setNodes, setEdges]);

  const autoLayout = useCallback(() => {
    const ns = nodesRef.current;
    if (ns.length === 0) return;
    const positions = layoutFlow(
      ns.map((n) => ({ id: n.id, width: n.measured?.width ?? n.width ?? DEFAULT_SIZE.width, height: n.measured?.height ?? n.height ?? DEFAULT_SIZE.height })),
      edgesRef.current.map((e) => ({ source: e.source, sourcePort: e.sourceHandle || DEFAULT_PORT, target: e.target })),
      (id) => {
        const n = ns.find((x) => x.id === id);
        return n ? outputPorts(specMap.get(n.data.node.type), n.data.node.params).map((p) => p.id) : [];
      },
    );
    remember();
    const next = ns.map((n) => ({ ...n, position: positions.get(n.id) ?? n.position }));
    nodesRef.current = next;
    setNodes(next);
    // The new positions are drawn on the next frame; fit the view to them then.
    requestAnimationFrame(() => requestAnimationFrame(() => void fitView({ padding: 0.15, duration: 300, maxZoom: 1 })));
  }, [remember, setNodes, fitView, specMap]);

  // Leaving with unsaved changes asks first.
  useEffect(() => {
    if (!changed) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [changed]);

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
      setSavedJSON(JSON.stringify(canvasToDoc(saved.flow ?? base, nodesRef.current, edgesRef.current)));
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

  // Every canvas shortcut goes through one handler, never while the user types in a field or works in a dialog
  // or the node panel (Ctrl+S excepted: saving works from anywhere, as in every editor).
  const actions = useRef<Record<string, () => void>>({});
  actions.current = {
    save: () => void save(),
    undo: doUndo,
    redo: doRedo,
    delete: deleteSelection,
    layout: autoLayout,
    help: () => setHelpOpen(true),
    selectAll: () => {
      const next = nodesRef.current.map((n) => (n.selected ? n : { ...n, selected: true }));
      nodesRef.current = next;
      setNodes(next);
    },
    duplicate: () => {
      const c = copyCurrent();
      if (c) addNodes(c, PASTE_OFFSET);
    },
    copy: () => {
      // The copy event below writes the system clipboard; this keeps the in-page one in step with it.
      if (hasTextSelection()) return;
      const c = copyCurrent();
      if (c) memoryClipboard = c;
    },
  };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const action = matchShortcut(e);
      if (!action || (e.repeat && action !== 'undo' && action !== 'redo')) return;
      if (action === 'save') {
        e.preventDefault();
        actions.current.save();
        return;
      }
      if (isTypingTarget(e.target) || inOverlay(e.target)) return;
      if (action === 'paste') return; // handled by the paste event, which carries the clipboard text
      if (action === 'copy') {
        actions.current.copy();
        return; // the browser goes on to fire the copy event
      }
      e.preventDefault();
      actions.current[action]?.();
    };
    const onCopy = (e: ClipboardEvent) => {
      if (isTypingTarget(e.target) || inOverlay(e.target) || hasTextSelection()) return;
      const c = copyCurrent();
      if (!c) return;
      memoryClipboard = c;
      const text = serializeClipboard(c);
      pasteRound = { text, count: 0 };
      if (e.clipboardData) {
        e.clipboardData.setData('text/plain', text);
        e.preventDefault();
      }
      void message.info(t('canvas.copied', { count: c.nodes.length }));
    };
    const onPaste = (e: ClipboardEvent) => {
      if (isTypingTarget(e.target) || inOverlay(e.target)) return;
      const text = e.clipboardData?.getData('text/plain') ?? '';
      // Other text on the clipboard means the user copied something else since: it is not ours to paste.
      const content = text ? parseClipboard(text) : memoryClipboard;
      if (!content) return;
      e.preventDefault();
      const key = text || serializeClipboard(content);
      pasteRound = pasteRound.text === key ? { text: key, count: pasteRound.count + 1 } : { text: key, count: 1 };
      addNodes(content, PASTE_OFFSET * pasteRound.count);
    };
    window.addEventListener('keydown', onKey);
    document.addEventListener('copy', onCopy);
    document.addEventListener('paste', onPaste);
    return () => {
      window.removeEventListener('keydown', onKey);
      document.removeEventListener('copy', onCopy);
      document.removeEventListener('paste', onPaste);
    };
  }, [copyCurrent, addNodes, message, t]);

  const publish = async () => {
    if (changed && !(await save())) return;
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

  /** setRunning pauses or resumes the published flow; the draft is not touched. */
  const setRunning = async (action: 'pause' | 'resume') => {
    setBusy('pause');
    setError(null);
    try {
      const f = await api.post<Flow>(`/api/v1/flows/${encodeURIComponent(flow.id)}/${action}`);
      setStatus({ status: f.status, publishedVersion: f.publishedVersion });
      void queryClient.invalidateQueries({ queryKey: ['flows'] });
      void message.success(t(action === 'pause' ? 'canvas.pausedDone' : 'canvas.resumedDone'));
    } catch (err) {
      setError(err);
    } finally {
      setBusy('');
    }
  };

  const askPause = () => {
    modal.confirm({
      title: t('canvas.pauseTitle'),
      content: t('canvas.pauseBody'),
      okText: t('canvas.pauseOk'),
      okButtonProps: { danger: true },
      cancelText: t('common.cancel'),
      onOk: () => setRunning('pause'),
    });
  };

  /** refreshStatus reloads the flow's status and published version after a rollback, which leaves the draft alone. */
  const refreshStatus = async () => {
    try {
      const f = await api.get<Flow>(`/api/v1/flows/${encodeURIComponent(flow.id)}`);
      setStatus({ status: f.status, publishedVersion: f.publishedVersion });
      void queryClient.invalidateQueries({ queryKey: ['flows'] });
    } catch (err) {
      setError(err);
    }
  };

  const runTest = async (payload: unknown, trigger: string | undefined) => {
    setBusy('test');
    setError(null);
    try {
      // The canvas as it is now, saved or not, is what gets tested.
      const run = await api.post<RunDetail>(`/api/v1/flows/${encodeURIComponent(flow.id)}/test`, { payload, flow: currentDoc(), ...(trigger ? { trigger } : {}) });
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
      remember();
      setEdges((eds) => addEdge(makeEdge(c.source, c.sourceHandle, c.target, c.targetHandle), eds));
    },
    [setEdges, remember],
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
      remember();
      setNodes((ns) => {
        const nid = freshNodeId(type, ns.map((n) => n.id));
        return [...ns, { id: nid, type: 'ferry', position, data: { node: { id: nid, type, version: spec.version, name: spec.name, params: defaultParams(spec) } } }];
      });
    },
    [screenToFlowPosition, setNodes, specMap, remember],
  );

  const selectedNode = nodes.find((n) => n.id === selected);
  const published = status.status === 'published';
  const paused = status.status === 'paused';

  return (
    <EditorContext.Provider value={state}>
      <div className="ferry-editor">
        <Palette specs={specs} />
        <div className="ferry-canvas" ref={wrapper} onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'move'; }} onDrop={onDrop}>
          <div className="ferry-toolbar ferry-canvas-toolbar">
            <div className="ferry-toolbar-info">
              <Link to="/flows">← {t('nav.flows')}</Link>
              <Typography.Text strong ellipsis={{ tooltip: base.name }} className="ferry-toolbar-name">{base.name}</Typography.Text>
              <StatusTag status={status.status} />
              {status.publishedVersion ? <Tag>v{status.publishedVersion}</Tag> : null}
              <Typography.Text type="secondary" className="ferry-toolbar-revision">{t('editor.revision', { revision })}</Typography.Text>
              {changed && <Tag color="orange">{t('editor.unsaved')}</Tag>}
            </div>
            <div className="ferry-toolbar-actions">
              <Space.Compact>
                <Tooltip title={`${t('canvas.undo')} (${isMac() ? '⌘' : 'Ctrl'}+Z)`}>
                  <Button icon={<UndoOutlined />} aria-label={t('canvas.undo')} disabled={!canUndo(history)} onClick={doUndo} />
                </Tooltip>
                <Tooltip title={`${t('canvas.redo')} (${isMac() ? '⌘' : 'Ctrl'}+Shift+Z)`}>
                  <Button icon={<RedoOutlined />} aria-label={t('canvas.redo')} disabled={!canRedo(history)} onClick={doRedo} />
                </Tooltip>
              </Space.Compact>
              <Tooltip title={`${t('canvas.autoLayout')} (Shift+L)`}>
                <Button icon={<PartitionOutlined />} aria-label={t('canvas.autoLayout')} disabled={nodes.length === 0} onClick={autoLayout} />
              </Tooltip>
              <Tooltip title={t('canvas.shortcutsButton')}>
                <Button icon={<QuestionOutlined />} aria-label={t('canvas.shortcutsButton')} onClick={() => setHelpOpen(true)} />
              </Tooltip>
              <Tooltip title={t('canvas.versions')}>
                <Button icon={<HistoryOutlined />} aria-label={t('canvas.versions')} onClick={() => setVersionsOpen(true)} />
              </Tooltip>
              {/* Icon-only, like the buttons before it, so the flow's name keeps its room at 1280 px. */}
              <Tooltip title={!published && !paused ? t('canvas.pauseDraft') : paused ? t('canvas.resume') : t('canvas.pause')}>
                <Button
                  className="ferry-pause-button"
                  icon={paused ? <PlayCircleOutlined /> : <PauseCircleOutlined />}
                  aria-label={paused ? t('canvas.resume') : t('canvas.pause')}
                  loading={busy === 'pause'}
                  disabled={(!published && !paused) || !can('flows:publish')}
                  onClick={() => (paused ? void setRunning('resume') : askPause())}
                />
              </Tooltip>
              <Button icon={<ExperimentOutlined />} onClick={() => setTestOpen(true)} loading={busy === 'test'} disabled={!can('flows:write')}>{t('editor.test')}</Button>
              <Button icon={<SaveOutlined />} onClick={() => save()} loading={busy === 'save'} disabled={!changed || !can('flows:write')}>{t('editor.save')}</Button>
              <Button type="primary" icon={<CloudUploadOutlined />} onClick={() => setPublishOpen(true)} loading={busy === 'publish'} disabled={!can('flows:publish')}>{t('editor.publish')}</Button>
            </div>
          </div>
          <div style={{ position: 'absolute', zIndex: 5, top: 50, left: 10, right: 10 }}>
            {flow.webhookUrl && (
              <Space size={[16, 2]} wrap>
                <Typography.Text type="secondary" copyable={{ text: webhookAddress(flow.webhookUrl) }}>{t('flows.webhook')}: <code>{webhookAddress(flow.webhookUrl)}</code></Typography.Text>
                {can('flows:write') && <TestHookUrl flowId={flow.id} />}
              </Space>
            )}
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
            // One undo step per drag, taken when the drag starts, however far the nodes travel.
            onNodeDragStart={() => remember()}
            onSelectionDragStart={() => remember()}
            onConnect={onConnect}
            isValidConnection={isValidConnection}
            onNodeClick={(_, n) => setSelected(n.id)}
            onPaneClick={() => setSelected(null)}
            // Deleting goes through the shortcut handler so it lands in the undo history.
            deleteKeyCode={null}
            fitView
            // A flow of one or two steps is not blown up to fill the screen.
            fitViewOptions={{ maxZoom: 1 }}
            proOptions={{ hideAttribution: true }}
          >
            <Background />
            <MiniMap pannable zoomable />
            <Controls onFitView={() => void fitView({ maxZoom: 1 })} />
          </ReactFlow>
        </div>
      </div>
      {selectedNode && (
        <NodePanel
          id={selectedNode.id}
          flowId={flow.id}
          published={published}
          node={selectedNode.data.node}
          spec={specMap.get(selectedNode.data.node.type)}
          problems={state.problems.get(selectedNode.id) ?? []}
          step={state.steps.get(selectedNode.id)}
          onClose={() => setSelected(null)}
          onChange={(next) => {
            // Typing in one node's settings becomes one undo step per pause in typing.
            remember(`node:${selectedNode.id}`);
            setNodes((ns) => ns.map((n) => (n.id === selectedNode.id ? { ...n, data: { node: next } } : n)));
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
        {changed && <Alert type="info" style={{ marginBottom: 12 }} message={t('editor.publishSavesFirst')} />}
        <Input.TextArea value={publishMessage} onChange={(e) => setPublishMessage(e.target.value)} placeholder={t('editor.publishMessage')} autoSize={{ minRows: 2 }} />
      </Modal>
      <TestRunDialog
        open={testOpen}
        flowId={flow.id}
        doc={canvasToDoc(base, nodes, edges)}
        specs={specMap}
        running={busy === 'test'}
        onCancel={() => setTestOpen(false)}
        onRun={(payload, trigger) => void runTest(payload, trigger)}
      />
      <ShortcutsDialog open={helpOpen} onClose={() => setHelpOpen(false)} />
      <VersionsDrawer flowId={flow.id} draft={versionsOpen ? currentDoc() : base} open={versionsOpen} onClose={() => setVersionsOpen(false)} onRolledBack={() => void refreshStatus()} />
    </EditorContext.Provider>
  );
}

/**
 * inOverlay tells key presses inside a dialog, a menu or another drawer from those meant for the canvas. The node
 * panel counts as part of the canvas: with a node open, Delete, copy and undo still act on the canvas.
 */
function inOverlay(target: EventTarget | null): boolean {
  if (!target || typeof (target as Element).closest !== 'function') return false;
  const el = target as Element;
  if (el.closest('.ant-modal, .ant-popover, .ant-dropdown') !== null) return true;
  const drawer = el.closest('.ant-drawer');
  return drawer !== null && drawer.querySelector('.ferry-panel') === null;
}

/** hasTextSelection is true when the user selected text on the page, which Ctrl+C must copy as usual. */
function hasTextSelection(): boolean {
  const sel = typeof window === 'undefined' ? null : window.getSelection();
  return !!sel && !sel.isCollapsed && sel.toString() !== '';
}
