// What the template gallery decides without drawing anything: which templates match the search, which
// credentials fit a node, and whether a "use template" form can be sent.
import type { Credential, LocalText, TemplateCredentialNeed, TemplateSummary } from '../api/types';

/** localText picks the text of the UI language (any Chinese locale gets the Chinese text). */
export function localText(text: LocalText, language: string): string {
  return language.toLowerCase().startsWith('zh') ? text.zh || text.en : text.en || text.zh;
}

/** filterTemplates keeps the templates of category (all when empty) whose name, description, tags or node
 * types contain every word of search, in either language. */
export function filterTemplates(list: TemplateSummary[], search: string, category: string): TemplateSummary[] {
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  return list.filter((t) => {
    if (category && t.category !== category) return false;
    const hay = [t.name.en, t.name.zh, t.description.en, t.description.zh, t.category, ...t.tags, ...t.nodeTypes,
      ...t.steps.map((s) => s.name)].join('\n').toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** categoriesOf lists the categories present, in the order the server sorted the templates. */
export function categoriesOf(list: TemplateSummary[]): string[] {
  return [...new Set(list.map((t) => t.category))];
}

/** credentialsFor lists the existing credentials a node accepts. */
export function credentialsFor(need: TemplateCredentialNeed, credentials: Credential[]): Credential[] {
  return credentials.filter((c) => need.types.includes(c.type));
}

/** missingCredentials lists the nodes that need a credential and have none chosen. */
export function missingCredentials(needs: TemplateCredentialNeed[], chosen: Record<string, string | undefined>): string[] {
  return needs.filter((n) => n.required && !chosen[n.nodeId]).map((n) => n.nodeId);
}

/** templateUseBody builds the body of POST /api/v1/templates/:id/use, leaving out nodes without a choice. */
export function templateUseBody(name: string, chosen: Record<string, string | undefined>): { name: string; credentials: Record<string, string> } {
  const credentials: Record<string, string> = {};
  for (const [node, id] of Object.entries(chosen)) if (id) credentials[node] = id;
  return { name: name.trim(), credentials };
}
