import { createContext, useContext } from 'react';
import type { NodeSpec, Problem, Step } from '../api/types';

/** EditorState is what canvas nodes read besides their own data: the catalog, problems and the last test run. */
export interface EditorState {
  specs: Map<string, NodeSpec>;
  problems: Map<string, Problem[]>;
  steps: Map<string, Step>;
  /** childrenOpen is how many child runs the run drawn still waits for (a split or a subflow), when it waits. */
  childrenOpen?: number;
}

export const EditorContext = createContext<EditorState>({ specs: new Map(), problems: new Map(), steps: new Map() });

export const useEditorState = () => useContext(EditorContext);
