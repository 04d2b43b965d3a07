// The projects page: each project with its DSN and the few lines that
// point an SDK at it.

import { h, mount, copyButton, when } from './dom.js';
import { projects, isCurrent, link } from './nav.js';

const snippets = {
  go: {
    label: 'Go',
    install: 'go get github.com/getsentry/sentry-go',
    code: (dsn) => `import "github.com/getsentry/sentry-go"

func main() {
	err := sentry.Init(sentry.ClientOptions{
		Dsn:         "${dsn}",
		Environment: "production",
		Release:     "my-app@1.0.0",
	})
	if err != nil {
		log.Fatalf("sentry.Init: %s", err)
	}
	defer sentry.Flush(2 * time.Second)

	sentry.CaptureException(errors.New("my first Telltale error"))
}`,
  },
  python: {
    label: 'Python',
    install: 'pip install sentry-sdk',
    code: (dsn) => `import sentry_sdk

sentry_sdk.init(
    dsn="${dsn}",
    environment="production",
    release="my-app@1.0.0",
)

division_by_zero = 1 / 0`,
  },
  javascript: {
    label: 'JavaScript',
    install: 'npm install @sentry/node   # or @sentry/browser',
    code: (dsn) => `import * as Sentry from "@sentry/node";

Sentry.init({
  dsn: "${dsn}",
  environment: "production",
  release: "my-app@1.0.0",
});

Sentry.captureException(new Error("my first Telltale error"));`,
  },
};

// dsnFor fills in this page's host when the server knows no public URL
// (the DSN then has an empty or port-0 host): the browser reached the
// server there, so an SDK most likely can too.
function dsnFor(dsn) {
  const m = /^(https?:\/\/[^@/]*@)([^/]*)(\/.*)$/.exec(dsn || '');
  if (!m || (m[2] && !/:0$/.test(m[2]))) return dsn;
  return `${location.protocol}//${m[1].replace(/^https?:\/\//, '')}${location.host}${m[3]}`;
}

function initialTab(platform) {
  const p = (platform || '').toLowerCase();
  if (p.startsWith('python')) return 'python';
  if (p.startsWith('javascript') || p.startsWith('node')) return 'javascript';
  return 'go';
}

function setup(p) {
  const panel = h('div.snippet');
  const tabs = h('div.tabs', { role: 'tablist', 'aria-label': `SDK setup for ${p.slug}` });
  const show = (key) => {
    for (const b of tabs.children) b.setAttribute('aria-selected', String(b.dataset.key === key));
    const sn = snippets[key];
    const text = `${sn.code(p.dsn)}`;
    mount(panel,
      h('pre', { id: `snippet-${p.id}`, role: 'tabpanel', tabindex: '0' }, h('code', h('span.install', `# ${sn.install}\n\n`), text)),
      copyButton(() => text));
  };
  for (const [key, sn] of Object.entries(snippets)) {
    tabs.append(h('button', {
      type: 'button', role: 'tab', 'data-key': key, 'aria-controls': `snippet-${p.id}`,
      onclick: () => show(key),
      onkeydown: (ev) => {
        const keys = Object.keys(snippets);
        const i = keys.indexOf(key);
        const next = ev.key === 'ArrowRight' ? keys[(i + 1) % keys.length] : ev.key === 'ArrowLeft' ? keys[(i + keys.length - 1) % keys.length] : null;
        if (!next) return;
        show(next);
        tabs.querySelector(`[data-key="${next}"]`).focus();
      },
    }, sn.label));
  }
  show(initialTab(p.platform));
  return [tabs, panel];
}

export async function projectsView(main, token) {
  const list = (await projects()).map((p) => ({ ...p, dsn: p.dsn && dsnFor(p.dsn) }));
  if (!isCurrent(token)) return;
  document.title = 'Projects · Telltale';
  mount(main,
    h('div.page-head', h('div', h('h1', 'Projects'), h('p.sub', 'Point a Sentry SDK at a project\'s DSN; its errors show up under Issues.'))),
    list.length === 0
      ? h('div.card', h('div.empty', h('h2', 'No projects'), h('p', 'Add one under projects: in the config file and restart.')))
      : h('div.projects', list.map((p) => h('section.card.project', { 'aria-labelledby': `project-${p.id}` },
        h('div.card-body',
          h('div.project-head',
            h('h2', { id: `project-${p.id}` }, p.name || p.slug),
            h('span.badge', p.platform || 'other'),
            h('span.faint', `id ${p.id} · slug ${p.slug}`),
            h('span', { style: { marginLeft: 'auto' } }, h('a.btn.btn-sm', { href: link('/issues', { project: p.slug }) }, 'View issues →'))),
          p.dateCreated ? h('p.faint', { style: { fontSize: '12px', marginTop: '2px' } }, 'Created ' + when(p.dateCreated)) : null,
          h('h3', { style: { marginTop: '14px' } }, 'DSN'),
          p.dsn
            ? h('div.dsn', h('code', p.dsn), copyButton(() => p.dsn, 'Copy DSN'))
            : h('p.muted', 'This project has no key.'),
          p.dsn ? setup(p) : null)))));
}
