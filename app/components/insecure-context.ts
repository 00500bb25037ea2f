import { LitElement, css, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { shared } from '../styles/tokens.ts';

/** Shown instead of the app when the page is not a secure context (e.g. plain http on a LAN address). */
@customElement('wisp-insecure-context')
export class InsecureContext extends LitElement {
  @property() host = location.host;
  @property() missing = 'secure context';
  /** The server's setup page (plain HTTP, same host): the certificate to install and how. */
  @property() setupHref = '/setup';

  static override styles = [
    shared,
    css`
      :host {
        display: block;
        max-width: 40rem;
        margin: 0 auto;
        padding: 2rem 1.25rem;
        line-height: 1.5;
      }
      h1 {
        font-size: 1.5rem;
      }
      code {
        font-family: var(--mono);
        background: var(--surface-2);
        padding: 0.1rem 0.3rem;
        border-radius: 4px;
      }
      li {
        margin-bottom: 0.5rem;
      }
    `,
  ];

  override render() {
    return html`
      <h1>Wisp needs a secure connection</h1>
      <p>
        You opened Wisp at <code>${this.host}</code> over plain HTTP. Browsers only give encryption keys and offline
        support (the ${this.missing}) to pages served over HTTPS or from <code>localhost</code>, so Wisp cannot start
        here.
      </p>
      <p>
        If this Wisp server makes its own certificate (it does by default), set this device up once:
        <a href=${this.setupHref}>install the server's certificate</a>, then open Wisp over HTTPS.
      </p>
      <p>Otherwise, ask whoever runs this Wisp server to do one of these (the README explains each step):</p>
      <ul>
        <li>Start the server with its own certificate authority (the default: <code>--local-ca on</code>).</li>
        <li>Start it with a certificate: <code>--tls-cert</code> and <code>--tls-key</code>.</li>
        <li>Put it behind Caddy, which gets a certificate automatically.</li>
        <li>Use <code>tailscale serve</code> to publish it with HTTPS on your tailnet.</li>
      </ul>
      <p>On the server machine itself, <code>http://localhost</code> works without any of this.</p>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-insecure-context': InsecureContext;
  }
}
