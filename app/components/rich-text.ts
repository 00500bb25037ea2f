import { html, nothing, type TemplateResult } from 'lit';
import type { Token } from '../state/format.ts';

/**
 * Message tokens as Lit templates: every piece of user text goes through a text binding,
 * never through HTML. With `showLinks` off, links are plain text (a per-person setting).
 */
export function renderTokens(tokens: Token[], showLinks: boolean): (TemplateResult | string | typeof nothing)[] {
  return tokens.map((token) => {
    switch (token.t) {
      case 'text':
        return token.text;
      case 'code':
        return html`<code>${token.text}</code>`;
      case 'codeblock':
        return html`<pre><code>${token.text}</code></pre>`;
      case 'bold':
        return html`<strong>${renderTokens(token.children, showLinks)}</strong>`;
      case 'italic':
        return html`<em>${renderTokens(token.children, showLinks)}</em>`;
      case 'link':
        return showLinks ? html`<a href=${token.href} target="_blank" rel="noopener noreferrer">${token.text}</a>` : token.text;
    }
  });
}
