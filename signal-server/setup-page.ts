// The setup page for phones and laptops on the LAN: why they need Wisp's certificate,
// the certificate to download (PEM and DER), its fingerprint, and how to install it on
// each system. Server-rendered, no script (the CSP forbids inline script anyway); every
// value from the request is escaped.
import type http from 'node:http';
import { hostnameOf } from './loopback.ts';

export const SETUP_PATH = '/setup';
export const CA_PEM_PATH = '/setup/wisp-local-ca.pem';
export const CA_DER_PATH = '/setup/wisp-local-ca.crt';

export interface SetupSite {
  readonly ca: { readonly pem: string; readonly der: Buffer; readonly fingerprint: string };
  /** The HTTPS listener's port (known once it listens). */
  httpsPort(): number;
}

/** Answers the setup page and the two certificate downloads; false for any other request. */
export function serveSetup(req: http.IncomingMessage, res: http.ServerResponse, site: SetupSite): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const pathname = new URL(req.url ?? '/', 'http://wisp').pathname;
  if (pathname === CA_PEM_PATH) {
    send(res, req, 'application/x-pem-file', 'wisp-local-ca.pem', Buffer.from(site.ca.pem));
    return true;
  }
  if (pathname === CA_DER_PATH) {
    send(res, req, 'application/x-x509-ca-cert', 'wisp-local-ca.crt', site.ca.der);
    return true;
  }
  if (pathname !== SETUP_PATH && pathname !== `${SETUP_PATH}/`) return false;
  const html = setupPageHtml(req.headers.host, site.ca.fingerprint, site.httpsPort());
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : html);
  return true;
}

function send(res: http.ServerResponse, req: http.IncomingMessage, type: string, filename: string, body: Buffer): void {
  res.writeHead(200, {
    'Content-Type': type,
    'Content-Length': body.length,
    // The file name tells phones what it is (Android and iOS look at .crt and .pem).
    'Content-Disposition': `attachment; filename="${filename}"`,
    'Cache-Control': 'no-cache',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The HTTPS address of the host the page was asked for, on the HTTPS port. */
export function httpsAddress(hostHeader: string | undefined, httpsPort: number): string {
  const hostname = hostnameOf(hostHeader) ?? 'localhost';
  return `https://${hostname}${httpsPort === 443 ? '' : `:${httpsPort}`}/`;
}

const STYLE = `
  :root { color-scheme: dark; }
  body { margin: 0; background: #10151f; color: #e8edf6; font: 16px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }
  main { max-width: 40rem; margin: 0 auto; padding: 2rem 1.25rem 3rem; }
  h1 { font-size: 1.5rem; margin-top: 0; }
  h2 { font-size: 1.1rem; margin-top: 2rem; }
  a { color: #7dd3fc; }
  .button { display: inline-block; background: #7dd3fc; color: #06202e; padding: 0.6rem 1rem; border-radius: 10px; text-decoration: none; font-weight: 600; margin: 0 0.5rem 0.5rem 0; }
  .button.secondary { background: #1f2839; color: #e8edf6; border: 1px solid #2c3850; }
  code, .fingerprint { font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace; }
  .fingerprint { display: block; background: #171e2c; border: 1px solid #2c3850; border-radius: 10px; padding: 0.75rem; word-break: break-all; font-size: 0.9rem; }
  details { background: #171e2c; border: 1px solid #2c3850; border-radius: 10px; padding: 0.5rem 1rem; margin: 0.5rem 0; }
  summary { cursor: pointer; font-weight: 600; }
  .muted { color: #9aa7bd; }
`;

export function setupPageHtml(hostHeader: string | undefined, fingerprint: string, httpsPort: number): string {
  const appUrl = escapeHtml(httpsAddress(hostHeader, httpsPort));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Set up Wisp on this device</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>Set up Wisp on this device</h1>
<p>Browsers only give an app its encryption keys, offline start and installation on a secure (HTTPS) connection.
This Wisp server makes its own certificate for that. Install it once on this device, then open Wisp over HTTPS.</p>
<p>The certificate was made by this Wisp server only, and it only vouches for this server's own local addresses and names.</p>

<h2>1. Download the certificate</h2>
<p><a class="button" href="${CA_DER_PATH}" download="wisp-local-ca.crt">Download wisp-local-ca.crt</a>
<a class="button secondary" href="${CA_PEM_PATH}" download="wisp-local-ca.pem">PEM version (.pem)</a></p>
<p>Before you trust it, check that its SHA-256 fingerprint matches the one the server printed in its terminal:</p>
<code class="fingerprint" id="fingerprint">${escapeHtml(fingerprint)}</code>

<h2>2. Install and trust it</h2>
<details><summary>Android</summary>
<p>Open the downloaded file, or go to Settings → Security (or Security &amp; privacy) → More security settings → Encryption &amp; credentials → Install a certificate → CA certificate, and pick <code>wisp-local-ca.crt</code>. Confirm with your screen lock.</p>
</details>
<details><summary>iPhone and iPad (iOS, iPadOS)</summary>
<ol>
<li>Download the certificate in Safari and allow the configuration profile.</li>
<li>Open Settings → Profile Downloaded → Install, and enter your passcode.</li>
<li>Then Settings → General → About → Certificate Trust Settings, and turn on full trust for the Wisp local CA.</li>
</ol>
</details>
<details><summary>macOS</summary>
<p>Open the downloaded file: Keychain Access adds it. Double-click the Wisp local CA, open Trust, and set “When using this certificate” to Always Trust.</p>
</details>
<details><summary>Windows</summary>
<p>Open the downloaded file → Install Certificate → Current User → Place all certificates in the following store → Trusted Root Certification Authorities → Finish.</p>
</details>
<details><summary>Linux</summary>
<p>Chromium: Settings → Privacy and security → Security → Manage certificates → Authorities → Import, and trust it for websites. Firefox: Settings → Privacy &amp; Security → Certificates → View Certificates → Authorities → Import. For the whole system: copy the .crt file to <code>/usr/local/share/ca-certificates/</code> and run <code>sudo update-ca-certificates</code>.</p>
</details>
<details><summary>ChromeOS</summary>
<p>Settings → Privacy and security → Security → Manage certificates → Authorities → Import, pick the file, and tick “Trust this certificate for identifying websites”.</p>
</details>

<h2>3. Open Wisp</h2>
<p><a class="button" href="${appUrl}">Open ${appUrl}</a></p>
<p class="muted">If the browser still warns, the certificate is not trusted yet: check step 2, then reload.</p>
</main>
</body>
</html>
`;
}
