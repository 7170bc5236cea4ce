// The HTML a browser gets at a repository URL (git.md §2.9): the repository page (name,
// description, "waiting for git data", clone command, nostr:// URL, HEAD and refs, links to web
// clients) and the 404 page. Pure functions of plain data; every value is HTML-escaped here.

export interface RepoPageInfo {
  npub: string;
  d: string;
  name?: string;
  description?: string;
  cloneUrl: string;
  nostrUrl: string;
  /** in purgatory: announced, no git data yet */
  waiting: boolean;
  /** HEAD's target, e.g. `refs/heads/main` */
  head?: string;
  /** ref name → oid, in display order */
  refs: Array<[string, string]>;
  webLinks: Array<{ label: string; href: string }>;
}

/** Refs listed on the page; the rest are counted. */
export const MAX_REFS_SHOWN = 200;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** `nostr://<npub>/<relay host>/<d>` (d percent-encoded), the URL ngit clones from. */
export function nostrUrl(npub: string, relayHost: string, d: string): string {
  return `nostr://${npub}/${relayHost}/${encodeURIComponent(d)}`;
}

/**
 * Links from `git.webClients` templates: `{npub}`, `{relay}` (this service's host) and `{d}`
 * (percent-encoded) substituted; a template that does not give an http(s) URL is skipped. The
 * label is the link's host.
 */
export function webClientLinks(templates: string[], npub: string, relayHost: string, d: string): Array<{ label: string; href: string }> {
  const relay = encodeURIComponent(relayHost).replace(/%3A/gi, ':');
  const out: Array<{ label: string; href: string }> = [];
  for (const t of templates) {
    const href = t.replaceAll('{npub}', npub).replaceAll('{relay}', relay).replaceAll('{d}', encodeURIComponent(d));
    let url: URL;
    try {
      url = new URL(href);
    } catch {
      continue;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') continue;
    out.push({ label: url.host, href });
  }
  return out;
}

const STYLE = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1f2328;background:#fff}
h1{font-size:1.6rem;margin:0 0 .25rem;word-break:break-word}
.owner{color:#59636e;font-size:.85rem;word-break:break-all;margin:0 0 1rem}
.desc{margin:0 0 1.25rem;white-space:pre-wrap;word-break:break-word}
.waiting{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:.6rem .9rem;margin:0 0 1.25rem}
h2{font-size:1rem;margin:1.5rem 0 .5rem}
pre{background:#f6f8fa;border:1px solid #d1d9e0;border-radius:6px;padding:.6rem .9rem;overflow-x:auto;margin:0;font-size:.85rem}
table{border-collapse:collapse;font-size:.85rem;width:100%}
td{padding:.2rem .6rem .2rem 0;vertical-align:top}
td.ref{word-break:break-all}
code,td.oid{font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
.muted{color:#59636e}
ul.links{padding-left:1.2rem}
footer{margin-top:2.5rem;color:#59636e;font-size:.8rem}
@media (prefers-color-scheme:dark){body{color:#e6edf3;background:#0d1117}pre{background:#161b22;border-color:#30363d}
.owner,.muted,footer{color:#9198a1}.waiting{background:#272115;border-color:#9e6a03}a{color:#4493f8}}
`.trim();

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
<footer>Served by grasp-relay: git over Nostr (GRASP).</footer>
</body>
</html>
`;
}

const branchName = (ref: string): string => (ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref);

export function renderRepoPage(info: RepoPageInfo): string {
  const e = escapeHtml;
  const title = info.name !== undefined && info.name.trim() !== '' ? info.name : info.d;
  const parts: string[] = [];
  parts.push(`<h1>${e(title)}</h1>`);
  parts.push(`<p class="owner">${e(info.npub)} / ${e(info.d)}</p>`);
  if (info.description !== undefined && info.description.trim() !== '') parts.push(`<p class="desc">${e(info.description)}</p>`);
  if (info.waiting) {
    parts.push(
      '<p class="waiting"><strong>Waiting for git data.</strong> The repository is announced but nothing has been pushed ' +
        'yet: it is served empty until a signed state (kind 30618) and the matching push arrive.</p>',
    );
  }
  parts.push('<h2>Clone</h2>');
  parts.push(`<pre>git clone ${e(info.cloneUrl)}</pre>`);
  parts.push('<h2>Nostr</h2>');
  parts.push(`<pre>${e(info.nostrUrl)}</pre>`);
  parts.push(`<p class="muted">Clone with <a href="https://ngit.dev">ngit</a>: <code>git clone ${e(info.nostrUrl)}</code></p>`);
  if (info.webLinks.length > 0) {
    parts.push('<h2>Browse</h2>');
    parts.push(`<ul class="links">${info.webLinks.map((l) => `<li><a href="${e(l.href)}" rel="noopener">${e(l.label)}</a></li>`).join('')}</ul>`);
  }
  parts.push('<h2>Refs</h2>');
  if (info.head !== undefined) parts.push(`<p>HEAD → <code>${e(branchName(info.head))}</code></p>`);
  if (info.refs.length === 0) parts.push('<p class="muted">No refs yet.</p>');
  else {
    const shown = info.refs.slice(0, MAX_REFS_SHOWN);
    const rows = shown.map(([ref, oid]) => `<tr><td class="oid">${e(oid.slice(0, 12))}</td><td class="ref">${e(ref)}</td></tr>`);
    parts.push(`<table>${rows.join('\n')}</table>`);
    if (info.refs.length > shown.length) parts.push(`<p class="muted">… and ${info.refs.length - shown.length} more.</p>`);
  }
  return page(`${title} · grasp-relay`, parts.join('\n'));
}

/** The 404 page: `what` (e.g. `npub1…/name`) is not hosted here. */
export function renderNotFound(what: string): string {
  return page(
    'Repository not found · grasp-relay',
    `<h1>Repository not found</h1>\n<p><code>${escapeHtml(what)}</code> is not hosted on this server.</p>\n` +
      '<p class="muted">A repository is served here once its announcement (kind 30617) lists this server in both ' +
      '<code>clone</code> and <code>relays</code>.</p>',
  );
}
