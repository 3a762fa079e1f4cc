// Keyboard shortcuts of the canvas. One table says which keys do what: the key handler reads it and so does the
// "?" list, so the list cannot drift from what the keys really do.

/** CanvasAction is something a shortcut does on the canvas. */
export type CanvasAction = 'undo' | 'redo' | 'copy' | 'paste' | 'duplicate' | 'delete' | 'save' | 'selectAll' | 'layout' | 'help';

/** KeyInfo is the part of a keyboard event a shortcut looks at. */
export interface KeyInfo {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

/** matchShortcut names the action a key press asks for, or null when it is not one of ours. */
export function matchShortcut(e: KeyInfo): CanvasAction | null {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (e.altKey) return null;
  if (mod) {
    switch (key) {
      case 'z': return e.shiftKey ? 'redo' : 'undo';
      case 'y': return e.shiftKey ? null : 'redo';
      case 'c': return e.shiftKey ? null : 'copy';
      case 'v': return e.shiftKey ? null : 'paste';
      case 'd': return e.shiftKey ? null : 'duplicate';
      case 's': return e.shiftKey ? null : 'save';
      case 'a': return e.shiftKey ? null : 'selectAll';
      default: return null;
    }
  }
  if (key === 'Delete' || key === 'Backspace') return 'delete';
  if (e.shiftKey && key === 'l') return 'layout';
  if (key === '?') return 'help';
  return null;
}

/**
 * isTypingTarget tells whether a key press belongs to a field the user is typing in (an input, a text area, a
 * select, anything editable, a CodeMirror editor), where the canvas must leave keys alone.
 */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!target || typeof (target as Element).closest !== 'function') return false;
  const el = target as HTMLElement;
  if (el.isContentEditable) return true;
  return el.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"], .cm-editor, [role="combobox"]') !== null;
}

/** SHORTCUT_LIST is the "?" list: the keys shown for each action, with ⌘ on a Mac and Ctrl elsewhere. */
export function shortcutList(mac: boolean): { action: CanvasAction; keys: string[][] }[] {
  const mod = mac ? '⌘' : 'Ctrl';
  return [
    { action: 'undo', keys: [[mod, 'Z']] },
    { action: 'redo', keys: [[mod, 'Shift', 'Z'], ...(mac ? [] : [['Ctrl', 'Y']])] },
    { action: 'copy', keys: [[mod, 'C']] },
    { action: 'paste', keys: [[mod, 'V']] },
    { action: 'duplicate', keys: [[mod, 'D']] },
    { action: 'delete', keys: [['Delete'], ['Backspace']] },
    { action: 'selectAll', keys: [[mod, 'A']] },
    { action: 'layout', keys: [['Shift', 'L']] },
    { action: 'save', keys: [[mod, 'S']] },
    { action: 'help', keys: [['?']] },
  ];
}

/** isMac decides which modifier the shortcut list shows. */
export function isMac(platform: string = typeof navigator === 'undefined' ? '' : navigator.platform || navigator.userAgent): boolean {
  return /Mac|iPhone|iPad/i.test(platform);
}
