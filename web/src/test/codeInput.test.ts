import { describe, expect, it } from 'vitest';
import { codeDiagnostics } from '../editor/CodeInput';

// The server says where a script is wrong by line and column; the code editor marks that place.
describe('code diagnostics', () => {
  const doc = 'const a = 1;\nreturn a +;\n';
  it('marks from the column to the end of its line', () => {
    const [d] = codeDiagnostics(doc, [{ code: 'code_syntax', message: 'Unexpected token ;', line: 2, column: 11 }]);
    expect(d.severity).toBe('error');
    expect(doc.slice(d.from, d.to)).toBe(';');
  });
  it('keeps a place outside the text inside it', () => {
    const [far, none] = codeDiagnostics(doc, [
      { code: 'code_syntax', message: 'x', line: 40, column: 99 },
      { code: 'code_syntax', message: 'y' },
    ]);
    expect(far.from).toBeLessThanOrEqual(doc.length);
    expect(none.from).toBe(0);
  });
});
