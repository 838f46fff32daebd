// The troupe dashboard: plain JS over the admin listener's JSON API (/api/).
// Hash routes: #/ (queues), #/queues/Q/STATE?offset=N, #/queues/Q/groups,
// #/jobs/ID?queue=Q, #/workers. Every value from the engine reaches the page
// through textContent or an attribute, never as HTML.
'use strict';

(() => {
  const REFRESH_MS = 5000;
  const PAGE = 25;
  const TOKEN_KEY = 'troupe.admin.token';
  const STATES = [
    ['waiting', 'Waiting'],
    ['in_flight', 'In flight'],
    ['delayed', 'Delayed'],
    ['dead', 'Dead'],
  ];

  const state = {
    token: readToken(),
    status: null,
    prevQueues: null, // {at, byName} of the last /api/queues answer
    rates: new Map(), // queue -> {enqueued, done} per second, or null
    selected: new Set(), // dead job ids ticked on the page shown
    view: null, // {key, update()}
    timer: null,
    running: false,
    again: false,
    updatedAt: null,
  };

  // ---- small DOM helpers --------------------------------------------------

  /** h('td', {class: 'num'}, 'text', node, ...): strings become text nodes. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'checked' || k === 'disabled' || k === 'hidden') el[k] = Boolean(v);
      else if (k === 'value') el.value = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function clear(el) {
    while (el.firstChild) el.firstChild.remove();
    return el;
  }

  const $ = (sel) => document.querySelector(sel);
  const enc = encodeURIComponent;

  // ---- formatting ---------------------------------------------------------

  const pad = (n) => String(n).padStart(2, '0');

  function fmtTime(ms) {
    if (typeof ms !== 'number') return '—';
    const d = new Date(ms);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function fmtDuration(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '—';
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${s % 60} s`;
    const hr = Math.floor(m / 60);
    if (hr < 48) return `${hr} h ${m % 60} min`;
    return `${Math.floor(hr / 24)} d ${hr % 24} h`;
  }

  function relative(ms) {
    const delta = ms - Date.now();
    return delta >= 0 ? ` (in ${fmtDuration(delta)})` : ` (${fmtDuration(-delta)} ago)`;
  }

  /** A time element: the moment, with "N ago" / "in N" beside it (kept current by tick()). */
  function when(ms) {
    if (typeof ms !== 'number') return '—';
    return h('time', { datetime: new Date(ms).toISOString(), title: new Date(ms).toISOString() },
      fmtTime(ms), h('span', { class: 'rel', 'data-at': ms }, relative(ms)));
  }

  /** How long since `ms`, kept current by tick(). */
  function since(ms) {
    return h('span', { 'data-since': ms }, fmtDuration(Date.now() - ms));
  }

  /** Brings every relative time on the page up to date, without rebuilding anything. */
  function tick() {
    for (const el of document.querySelectorAll('[data-at]')) el.textContent = relative(Number(el.dataset.at));
    for (const el of document.querySelectorAll('[data-since]')) el.textContent = fmtDuration(Date.now() - Number(el.dataset.since));
  }

  /**
   * Rebuilds `el` with `build(el)` only when `data` differs from what it
   * shows: a refresh that brings nothing new leaves the page alone (focus,
   * ticked boxes and a click in progress stay put).
   */
  function renderIf(el, data, build) {
    const sig = JSON.stringify(data);
    if (el.dataset.sig === sig) return false;
    el.dataset.sig = sig;
    clear(el);
    build(el);
    return true;
  }

  function fmtNum(n) {
    return typeof n === 'number' ? n.toLocaleString('en-US') : '—';
  }

  function fmtRate(r) {
    if (typeof r !== 'number') return '—';
    if (r === 0) return '0/s';
    return r < 10 ? `${r.toFixed(1)}/s` : `${Math.round(r)}/s`;
  }

  function fmtError(err) {
    if (err === null || err === undefined) return '';
    if (typeof err === 'string') return err;
    const code = err.code ? `${err.code}: ` : '';
    const msg = err.message ?? JSON.stringify(err);
    return `${code}${msg}`;
  }

  function badge(text, kind) {
    return h('span', { class: `badge ${kind || ''}` }, text);
  }

  const stateLabel = (s) => (STATES.find(([k]) => k === s) || [s, s || 'unknown'])[1];

  // ---- the API ------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message, data = null) {
      super(message);
      this.status = status;
      this.code = code;
      this.data = data; // the answer's body, parsed, if it was JSON
    }
  }

  function readToken() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || '';
    } catch {
      return '';
    }
  }

  async function api(path, { method = 'GET', body } = {}) {
    const headers = { Accept: 'application/json' };
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    const init = { method, headers, cache: 'no-store', credentials: 'same-origin' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (err) {
      throw new ApiError(0, 'unreachable', `The engine does not answer (${err.message}).`);
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (res.status === 401) {
      showTokenForm(state.token ? 'The engine refused that token. Enter the right one.' : null);
      throw new ApiError(401, 'unauthorized', 'The admin API needs a token.');
    }
    if (!res.ok) {
      const e = (data && data.error) || {};
      throw new ApiError(res.status, e.code || `http_${res.status}`, e.message || text || res.statusText, data);
    }
    hideTokenForm();
    return data;
  }

  const qpath = (q, rest = '') => `/api/queues/${enc(q)}${rest}`;

  // ---- token form ---------------------------------------------------------

  function showTokenForm(why) {
    const form = $('#token-form');
    if (why) $('#token-why').textContent = why;
    if (form.hidden) {
      form.hidden = false;
      $('#token-input').focus();
    }
  }

  function hideTokenForm() {
    $('#token-form').hidden = true;
  }

  $('#token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = $('#token-input').value.trim();
    if (!value) return;
    state.token = value;
    try {
      sessionStorage.setItem(TOKEN_KEY, value);
    } catch {}
    $('#token-input').value = '';
    hideTokenForm();
    remount();
  });

  // ---- notices, banner, footer -------------------------------------------

  let noticeTimer = null;
  function notice(text, kind = 'ok') {
    const el = $('#notice');
    clear(el);
    el.className = kind;
    el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    el.append(h('span', {}, text), h('button', { type: 'button', class: 'link', onclick: () => clear(el) }, 'Dismiss'));
    clearTimeout(noticeTimer);
    if (kind !== 'error') noticeTimer = setTimeout(() => clear(el), 8000);
  }

  function renderBanner() {
    const el = clear($('#banner'));
    const s = state.status;
    el.className = '';
    if (!s) return;
    if (s.status === 'recovering') {
      const r = s.recovery || {};
      el.className = 'warn';
      el.append(`Recovering: ${fmtNum(r.loaded)} of ${fmtNum(r.total)} jobs loaded. Counts are incomplete until recovery is done.`);
    } else if (s.status === 'starting') {
      el.className = 'warn';
      el.append('The engine is starting.');
    } else if (s.status === 'stopping') {
      el.className = 'warn';
      el.append('The engine is stopping: queues no longer dispatch.');
    }
  }

  function renderFooter() {
    const el = clear($('#footer'));
    const s = state.status;
    if (!s) return;
    const parts = [`troupe ${s.version ?? ''}`.trim()];
    if (s.node) parts.push(`node ${typeof s.node === 'string' ? s.node : s.node.name ?? JSON.stringify(s.node)}`);
    if (typeof s.uptime_seconds === 'number') parts.push(`up ${fmtDuration(s.uptime_seconds * 1000)}`);
    if (s.read_only) parts.push('read-only: changes are refused');
    if (s.auth) parts.push('token required');
    el.append(parts.join(' · '));
    if (state.token) {
      el.append(' · ', h('button', {
        type: 'button',
        class: 'link',
        onclick: () => {
          state.token = '';
          try {
            sessionStorage.removeItem(TOKEN_KEY);
          } catch {}
          remount();
        },
      }, 'Forget token'));
    }
  }

  function setLive(text, kind = '') {
    const el = $('#live');
    el.textContent = text;
    el.className = `live ${kind}`;
  }

  const readOnly = () => Boolean(state.status && state.status.read_only);

  // ---- actions ------------------------------------------------------------

  /** Runs a change from a button: disables it, reports the answer, refreshes. */
  async function act(button, confirmText, fn) {
    if (confirmText && !window.confirm(confirmText)) return;
    if (button) button.disabled = true;
    try {
      const text = await fn();
      notice(text, 'ok');
    } catch (err) {
      notice(`${err.code ? err.code + ': ' : ''}${err.message}`, 'error');
    } finally {
      if (button) button.disabled = false;
      refresh();
    }
  }

  const count = (x, key) => (x && typeof x[key] === 'number' ? x[key] : null);
  const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

  async function redrive(q, ids) {
    const r = await api(qpath(q, '/redrive'), { method: 'POST', body: ids ? { ids } : {} });
    const n = count(r, 'redriven');
    return n === null ? 'Redrive sent.' : `Redriven: ${plural(n, 'job')}.`;
  }

  async function discard(q, ids) {
    const r = await api(qpath(q, '/discard'), { method: 'POST', body: { ids } });
    const n = count(r, 'discarded');
    return n === null ? 'Discard sent.' : `Discarded: ${plural(n, 'job')}.`;
  }

  async function retryNow(q, id) {
    const r = await api(qpath(q, '/retry_now'), { method: 'POST', body: { id } });
    return count(r, 'retried') === 0 ? 'That job is not waiting for a retry any more.' : 'The job runs again now.';
  }

  async function setPaused(q, paused) {
    await api(qpath(q, paused ? '/pause' : '/resume'), { method: 'POST', body: {} });
    return paused ? `Queue ${q} paused: no new attempts start.` : `Queue ${q} resumed.`;
  }

  function button(label, onclick, attrs = {}) {
    return h('button', { type: 'button', ...attrs, onclick: (ev) => onclick(ev.currentTarget) }, label);
  }

  // ---- queues and rates ---------------------------------------------------

  /** GET /api/queues, with rates from the previous answer. */
  async function loadQueues() {
    const data = await api('/api/queues');
    const queues = (data && data.queues) || [];
    const at = Date.now();
    const byName = new Map(queues.map((q) => [q.name, q]));
    const prev = state.prevQueues;
    if (prev && at - prev.at >= 1000) {
      const dt = (at - prev.at) / 1000;
      for (const q of queues) {
        const p = prev.byName.get(q.name);
        state.rates.set(q.name, p ? {
          enqueued: rate(p.enqueued_total, q.enqueued_total, dt),
          done: rate(p.succeeded_total, q.succeeded_total, dt),
          failed: rate(p.failed_attempts_total, q.failed_attempts_total, dt),
        } : null);
      }
    }
    if (!prev || at - prev.at >= 1000) state.prevQueues = { at, byName };
    return queues;
  }

  function rate(before, now, dt) {
    if (typeof before !== 'number' || typeof now !== 'number' || now < before) return null;
    return (now - before) / dt;
  }

  function unservedWarning(q) {
    const fns = q.unserved_functions || [];
    if (!fns.length) return null;
    return h('span', { class: 'badge warn', role: 'note' },
      `No worker for ${fns.join(', ')}`);
  }

  function oldestWait(q) {
    return typeof q.oldest_waiting_at === 'number' && q.waiting > 0 ? since(q.oldest_waiting_at) : '—';
  }

  function mountQueues(root) {
    const title = h('h1', { tabindex: '-1' }, 'Queues');
    const warnings = h('div', { id: 'warnings' });
    const body = h('div', {}, h('p', {}, 'Loading…'));
    append(root, [title, warnings, body]);
    return {
      title,
      async update() {
        const queues = await loadQueues();
        const unserved = queues.filter((q) => (q.unserved_functions || []).length)
          .map((q) => [q.name, q.unserved_functions]);
        renderIf(warnings, unserved, () => {
          if (!unserved.length) return;
          warnings.append(h('div', { class: 'panel warn', role: 'note' },
            h('h2', {}, 'Jobs wait for functions no worker serves'),
            h('ul', {}, unserved.map(([name, fns]) => h('li', {},
              h('a', { href: `#/queues/${enc(name)}/waiting` }, name), ': ', fns.join(', '))))));
        });
        const rates = queues.map((q) => state.rates.get(q.name) || null);
        renderIf(body, { queues, rates }, () => queueTable(body, queues));
      },
    };
  }

  function queueTable(body, queues) {
    if (!queues.length) {
      body.append(h('p', {}, 'This engine has no queues.'));
      return;
    }
    const head = ['Queue', 'Type', 'Group field', 'Concurrency', 'Waiting', 'In flight', 'Delayed',
      'Dead', 'Oldest wait', 'Enqueued', 'Done', 'State'];
    const numeric = new Set([3, 4, 5, 6, 7, 8, 9, 10]);
    body.append(h('table', { class: 'grid', id: 'queues' },
      h('caption', {}, 'Jobs per state; rates per second over the last refresh.'),
      h('thead', {}, h('tr', {}, head.map((t, i) => h('th', { scope: 'col', class: numeric.has(i) ? 'num' : null }, t)))),
      h('tbody', {}, queues.map((q) => {
        const r = state.rates.get(q.name);
        return h('tr', { 'data-queue': q.name },
          h('th', { scope: 'row' }, h('a', { href: `#/queues/${enc(q.name)}/waiting` }, q.name)),
          h('td', {}, q.type ?? '—'),
          h('td', {}, q.message_group_field ?? '—'),
          h('td', { class: 'num' }, fmtNum(q.concurrency)),
          h('td', { class: 'num', 'data-col': 'waiting' }, fmtNum(q.waiting)),
          h('td', { class: 'num', 'data-col': 'in_flight' }, fmtNum(q.in_flight)),
          h('td', { class: 'num', 'data-col': 'delayed' }, fmtNum(q.delayed)),
          h('td', { class: 'num', 'data-col': 'dead' },
            q.dead > 0 ? h('a', { href: `#/queues/${enc(q.name)}/dead` }, fmtNum(q.dead)) : fmtNum(q.dead)),
          h('td', { class: 'num', 'data-col': 'oldest_wait' }, oldestWait(q)),
          h('td', { class: 'num', 'data-col': 'enqueued_rate' }, fmtRate(r && r.enqueued)),
          h('td', { class: 'num', 'data-col': 'done_rate' }, fmtRate(r && r.done)),
          h('td', { 'data-col': 'state' },
            q.paused ? badge('Paused', 'paused') : badge('Running', 'ok'), ' ', unservedWarning(q)));
      }))));
  }

  // ---- one queue ------------------------------------------------------------

  function jobLink(id, q) {
    return h('a', { href: `#/jobs/${enc(id)}${q ? `?queue=${enc(q)}` : ''}`, class: 'id' }, id);
  }

  function pager(total, offset, limit, href) {
    const nav = h('nav', { class: 'pager', 'aria-label': 'Pages' });
    if (!total) return nav;
    const last = Math.min(total, offset + limit);
    nav.append(h('span', {}, `${fmtNum(offset + 1)}–${fmtNum(last)} of ${fmtNum(total)}`));
    if (offset > 0) nav.append(' ', h('a', { href: href(Math.max(0, offset - limit)) }, 'Previous'));
    if (last < total) nav.append(' ', h('a', { href: href(offset + limit) }, 'Next'));
    return nav;
  }

  function mountQueue(root, route) {
    const q = route.queue;
    const tab = route.tab;
    const offset = Math.max(0, parseInt(route.params.get('offset') || '0', 10) || 0);
    const title = h('h1', { tabindex: '-1' }, 'Queue ', h('span', { class: 'name' }, q));
    const summary = h('div', { class: 'summary' });
    const tabs = h('nav', { class: 'tabs', 'aria-label': 'Job states' });
    const list = h('section', { id: 'list', 'aria-live': 'off' }, h('p', {}, 'Loading…'));
    const form = enqueueForm(q);
    append(root, [h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Queues'), ' / ', q), title, summary, tabs, list, form.el]);

    return {
      title,
      async update() {
        const queues = await loadQueues();
        const info = queues.find((x) => x.name === q);
        if (!info) throw new ApiError(404, 'queue_not_found', `There is no queue ${q}.`);
        form.setFunctions(info.function_ids || [], info);
        renderSummary(summary, info);
        renderTabs(tabs, info, tab);
        if (tab === 'groups') await renderGroups(list, info, offset);
        else await renderJobs(list, info, tab, offset);
      },
    };
  }

  function renderSummary(el, info) {
    const shown = {
      info: [info.name, info.type, info.message_group_field, info.concurrency, info.max_retries, info.backoff_ms,
        info.waiting > 0 ? info.oldest_waiting_at : null, info.function_ids, info.paused, info.unserved_functions],
      ro: readOnly(),
    };
    renderIf(el, shown, () => buildSummary(el, info));
  }

  function buildSummary(el, info) {
    const dl = h('dl', { class: 'facts' });
    const fact = (k, v) => dl.append(h('dt', {}, k), h('dd', {}, v));
    fact('Type', info.type === 'fifo' ? `FIFO, grouped by ${info.message_group_field ?? '—'}` : (info.type ?? '—'));
    fact('Concurrency', fmtNum(info.concurrency));
    fact('Attempts', `at most ${fmtNum(info.max_retries)}, backoff from ${fmtNum(info.backoff_ms)} ms`);
    fact('Oldest waiting', oldestWait(info));
    fact('Functions', (info.function_ids || []).length ? info.function_ids.join(', ') : '—');
    const ctl = h('div', { class: 'actions' },
      info.paused ? badge('Paused', 'paused') : badge('Running', 'ok'), ' ', unservedWarning(info));
    if (!readOnly()) {
      ctl.append(' ', info.paused
        ? button('Resume dispatch', (b) => act(b, null, () => setPaused(info.name, false)), { id: 'resume' })
        : button('Pause dispatch', (b) => act(b, null, () => setPaused(info.name, true)), { id: 'pause' }));
    }
    el.append(dl, ctl);
  }

  function renderTabs(el, info, current) {
    const counts = STATES.map(([key]) => info[key]);
    renderIf(el, { counts, current, fifo: info.type === 'fifo' }, () => buildTabs(el, info, current));
  }

  function buildTabs(el, info, current) {
    const items = STATES.map(([key, label]) => [key, `${label} (${fmtNum(info[key])})`]);
    if (info.type === 'fifo') items.push(['groups', 'Groups']);
    el.append(h('ul', {}, items.map(([key, label]) => h('li', {},
      h('a', { href: `#/queues/${enc(info.name)}/${key}`, 'aria-current': key === current ? 'page' : null }, label)))));
  }

  async function renderJobs(el, info, st, offset) {
    const q = info.name;
    const page = await api(`${qpath(q, '/jobs')}?state=${enc(st)}&offset=${offset}&limit=${PAGE}`);
    const shown = { page, ro: readOnly(), dead: info.dead, type: info.type, st, offset };
    renderIf(el, shown, () => buildJobs(el, info, st, offset, page));
  }

  function buildJobs(el, info, st, offset, page) {
    const q = info.name;
    const jobs = (page && page.jobs) || [];
    el.append(h('h2', {}, `${stateLabel(st)} jobs`));
    const canChange = !readOnly();
    const dead = st === 'dead';
    const ids = jobs.map((j) => j.id);
    for (const id of [...state.selected]) if (!ids.includes(id)) state.selected.delete(id);

    if (dead && canChange) {
      const selectedIds = () => [...state.selected];
      el.append(h('div', { class: 'toolbar' },
        button('Redrive selected', (b) => {
          const chosen = selectedIds();
          if (!chosen.length) return notice('Tick the jobs to redrive first.', 'error');
          act(b, null, async () => {
            const text = await redrive(q, chosen);
            state.selected.clear();
            return text;
          });
        }, { id: 'redrive-selected' }),
        button('Discard selected', (b) => {
          const chosen = selectedIds();
          if (!chosen.length) return notice('Tick the jobs to discard first.', 'error');
          act(b, `Discard ${plural(chosen.length, 'dead job')} for good?`, async () => {
            const text = await discard(q, chosen);
            state.selected.clear();
            return text;
          });
        }, { id: 'discard-selected' }),
        button(`Redrive all dead (${fmtNum(info.dead)})`, (b) =>
          act(b, `Send all ${fmtNum(info.dead)} dead jobs of ${q} back to the queue?`, () => redrive(q, null)),
        { id: 'redrive-all', disabled: !info.dead })));
    }
    if (!jobs.length) {
      el.append(h('p', { class: 'empty' }, offset ? 'No jobs on this page.' : `No ${stateLabel(st).toLowerCase()} jobs.`));
      el.append(pager(page.total, offset, PAGE, (o) => `#/queues/${enc(q)}/${st}?offset=${o}`));
      return;
    }

    const fifo = info.type === 'fifo';
    const cols = [];
    if (dead && canChange) {
      const all = h('input', {
        type: 'checkbox',
        'aria-label': 'Select every job on this page',
        checked: ids.length > 0 && ids.every((id) => state.selected.has(id)),
        onchange: (ev) => {
          for (const id of ids) ev.target.checked ? state.selected.add(id) : state.selected.delete(id);
          for (const box of el.querySelectorAll('input[data-id]')) box.checked = ev.target.checked;
        },
      });
      cols.push(h('th', { scope: 'col' }, all));
    }
    const names = ['Job', 'Function'];
    if (fifo) names.push('Group');
    names.push('Attempts', 'Enqueued');
    if (st === 'delayed') names.push('Next retry');
    if (dead) names.push('Failed');
    if (st === 'delayed' || dead) names.push('Last error');
    names.push('Size');
    if (canChange && (dead || st === 'delayed')) names.push('Actions');
    for (const n of names) cols.push(h('th', { scope: 'col' }, n));

    const rows = jobs.map((j) => {
      const tr = h('tr', { 'data-id': j.id });
      if (dead && canChange) {
        tr.append(h('td', {}, h('input', {
          type: 'checkbox',
          'data-id': j.id,
          'aria-label': `Select job ${j.id}`,
          checked: state.selected.has(j.id),
          onchange: (ev) => (ev.target.checked ? state.selected.add(j.id) : state.selected.delete(j.id)),
        })));
      }
      tr.append(h('td', {}, jobLink(j.id, q)), h('td', {}, j.function_id ?? '—'));
      if (fifo) tr.append(h('td', {}, j.group ?? '—'));
      tr.append(h('td', { class: 'num' }, `${fmtNum(j.attempts)} / ${fmtNum(j.max_attempts)}`), h('td', {}, when(j.enqueued_at)));
      if (st === 'delayed') tr.append(h('td', {}, when(j.next_attempt_at)));
      if (dead) tr.append(h('td', {}, when(j.failed_at)));
      if (st === 'delayed' || dead) tr.append(h('td', { class: 'error' }, fmtError(j.error)));
      tr.append(h('td', { class: 'num' }, typeof j.payload_size === 'number' ? `${fmtNum(j.payload_size)} B` : '—'));
      if (canChange && dead) {
        tr.append(h('td', { class: 'row-actions' },
          button('Redrive', (b) => act(b, null, () => redrive(q, [j.id])), { 'aria-label': `Redrive job ${j.id}` }), ' ',
          button('Discard', (b) => act(b, `Discard job ${j.id} for good?`, () => discard(q, [j.id])),
            { 'aria-label': `Discard job ${j.id}` })));
      } else if (canChange && st === 'delayed') {
        tr.append(h('td', { class: 'row-actions' },
          button('Retry now', (b) => act(b, null, () => retryNow(q, j.id)), { 'aria-label': `Retry job ${j.id} now` })));
      }
      return tr;
    });
    el.append(h('table', { class: 'grid', id: 'jobs' },
      h('caption', {}, `${stateLabel(st)} jobs of ${q}`),
      h('thead', {}, h('tr', {}, cols)), h('tbody', {}, rows)));
    el.append(pager(page.total, offset, PAGE, (o) => `#/queues/${enc(q)}/${st}?offset=${o}`));
  }

  async function renderGroups(el, info, offset) {
    const q = info.name;
    const answer = await api(`${qpath(q, '/groups')}?offset=${offset}&limit=${PAGE}`);
    const groups = Array.isArray(answer) ? answer : (answer && answer.groups) || [];
    renderIf(el, { groups, ro: readOnly(), offset }, () => buildGroups(el, info, offset, groups));
  }

  function buildGroups(el, info, offset, groups) {
    const q = info.name;
    el.append(h('h2', {}, 'FIFO groups'),
      h('p', { class: 'hint' }, `Grouped by ${info.message_group_field ?? '—'}. A group whose head waits for its retry holds every later job of that group; other groups go on.`));
    if (!groups.length) {
      el.append(h('p', { class: 'empty' }, offset ? 'No groups on this page.' : 'No group has jobs.'));
      return;
    }
    const canChange = !readOnly();
    el.append(h('table', { class: 'grid', id: 'groups' },
      h('caption', {}, `Groups of ${q} with jobs, those blocked behind a retry first`),
      h('thead', {}, h('tr', {}, ['Group', 'Jobs', 'State', 'Head job', canChange ? 'Actions' : null]
        .filter(Boolean).map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, groups.map((g) => {
        let st;
        if (g.blocked_by_retry) st = h('span', {}, badge('Blocked behind a retry', 'warn'), ' until ', when(g.next_attempt_at));
        else if (g.running) st = badge('Running', 'ok');
        else if (g.held) st = badge('Held for another node', 'paused');
        else st = badge('Waiting', '');
        const tr = h('tr', { 'data-group': g.group },
          h('th', { scope: 'row' }, g.group), h('td', { class: 'num' }, fmtNum(g.jobs)), h('td', {}, st),
          h('td', {}, g.head_id ? jobLink(g.head_id, q) : '—'));
        if (canChange) {
          tr.append(h('td', {}, g.blocked_by_retry && g.head_id
            ? button('Retry head now', (b) => act(b, null, () => retryNow(q, g.head_id)), { 'aria-label': `Retry the head of group ${g.group} now` })
            : ''));
        }
        return tr;
      }))));
    const more = groups.length === PAGE;
    const nav = h('nav', { class: 'pager', 'aria-label': 'Pages' });
    if (offset > 0) nav.append(h('a', { href: `#/queues/${enc(q)}/groups?offset=${Math.max(0, offset - PAGE)}` }, 'Previous'));
    if (more) nav.append(' ', h('a', { href: `#/queues/${enc(q)}/groups?offset=${offset + PAGE}` }, 'Next'));
    el.append(nav);
  }

  function enqueueForm(q) {
    const listId = `fns-${Math.random().toString(36).slice(2)}`;
    const datalist = h('datalist', { id: listId });
    const fn = h('input', { id: 'enqueue-function', name: 'function_id', required: true, list: listId, autocomplete: 'off', spellcheck: 'false' });
    const payload = h('textarea', { id: 'enqueue-payload', name: 'payload', rows: '5', spellcheck: 'false' }, '{}');
    const hint = h('p', { class: 'hint', id: 'enqueue-hint' });
    const submit = h('button', { type: 'submit' }, 'Enqueue');
    const result = h('p', { id: 'enqueue-result', role: 'status' });
    const form = h('form', { class: 'panel', id: 'enqueue' },
      h('h2', {}, 'Enqueue a job'),
      h('label', { for: 'enqueue-function' }, 'Function'), fn, datalist,
      h('label', { for: 'enqueue-payload' }, 'Payload (JSON)'), payload, hint, submit, result);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clear(result);
      let body;
      try {
        body = JSON.parse(payload.value || 'null');
      } catch (err) {
        result.className = 'error';
        result.append(`The payload is not JSON: ${err.message}`);
        payload.focus();
        return;
      }
      submit.disabled = true;
      try {
        const r = await api(qpath(q, '/enqueue'), { method: 'POST', body: { function_id: fn.value.trim(), payload: body } });
        result.className = 'ok';
        result.append('Enqueued as ', jobLink(r.messageReceiptId, q), '.');
        refresh();
      } catch (err) {
        result.className = 'error';
        result.append(`${err.code}: ${err.message}`);
      } finally {
        submit.disabled = false;
      }
    });
    let known = '';
    return {
      el: form,
      setFunctions(ids, info) {
        form.hidden = readOnly();
        const key = ids.join('\n');
        if (key !== known) {
          known = key;
          clear(datalist);
          for (const id of ids) datalist.append(h('option', { value: id }));
          if (!fn.value && ids.length === 1) fn.value = ids[0];
        }
        hint.textContent = info.type === 'fifo'
          ? `FIFO queue: the payload must be an object with the field ${info.message_group_field}.` : '';
      },
    };
  }

  // ---- one job ------------------------------------------------------------

  function mountJob(root, route) {
    const id = route.job;
    const qHint = route.params.get('queue');
    const title = h('h1', { tabindex: '-1' }, 'Job ', h('span', { class: 'id' }, id));
    const body = h('div', { id: 'job' }, h('p', {}, 'Loading…'));
    append(root, [title, body]);
    return {
      title,
      async update() {
        let job;
        try {
          job = await api(`/api/jobs/${enc(id)}${qHint ? `?queue=${enc(qHint)}` : ''}`);
        } catch (err) {
          if (err.status !== 404) throw err;
          renderIf(body, 'gone', () => body.append(h('p', { class: 'gone', 'data-state': 'gone' },
            'This job is not in the engine: it completed, was discarded, or never existed.'),
          qHint ? h('p', {}, h('a', { href: `#/queues/${enc(qHint)}/waiting` }, `Back to queue ${qHint}`)) : null));
          return;
        }
        renderIf(body, { job, ro: readOnly() }, () => renderJob(body, job));
      },
    };
  }

  function renderJob(el, job) {
    const q = job.queue;
    const dl = h('dl', { class: 'facts' });
    const fact = (k, v, attrs) => dl.append(h('dt', {}, k), h('dd', attrs || {}, v));
    fact('Queue', q ? h('a', { href: `#/queues/${enc(q)}/${job.state || 'waiting'}` }, q) : '—');
    fact('Function', job.function_id ?? '—');
    fact('State', badge(stateLabel(job.state), job.state === 'dead' ? 'bad' : job.state === 'delayed' ? 'warn' : 'ok'),
      { 'data-field': 'state', 'data-state': job.state });
    if (job.group !== null && job.group !== undefined) fact('Group', job.group);
    if (job.node) fact('Node', job.node);
    fact('Attempts', `${fmtNum(job.attempts)} of ${fmtNum(job.max_attempts)}`);
    fact('Enqueued', when(job.enqueued_at));
    if (job.state === 'delayed') fact('Next retry', when(job.next_attempt_at));
    if (job.state === 'dead') fact('Failed', when(job.failed_at));
    if (job.error) fact('Last error', fmtError(job.error), { class: 'error', 'data-field': 'error' });
    fact('Payload size', typeof job.payload_size === 'number' ? `${fmtNum(job.payload_size)} B` : '—');
    el.append(dl);

    if (!readOnly() && q) {
      const actions = h('div', { class: 'actions' });
      if (job.state === 'dead') {
        actions.append(button('Redrive', (b) => act(b, null, () => redrive(q, [job.id])), { id: 'job-redrive' }), ' ',
          button('Discard', (b) => act(b, `Discard job ${job.id} for good?`, () => discard(q, [job.id])), { id: 'job-discard' }));
      } else if (job.state === 'delayed') {
        actions.append(button('Retry now', (b) => act(b, null, () => retryNow(q, job.id)), { id: 'job-retry-now' }));
      }
      if (actions.firstChild) el.append(actions);
    }

    el.append(h('h2', {}, 'Payload'));
    el.append(h('pre', { class: 'payload', tabindex: '0', 'aria-label': 'Payload' },
      job.payload === undefined ? '(not available)' : JSON.stringify(job.payload, null, 2)));

    el.append(h('h2', {}, 'Attempts'));
    const log = job.attempts_log || [];
    if (!log.length) {
      el.append(h('p', { class: 'empty' }, job.attempts
        ? 'No attempt of this engine process is recorded (the log starts empty after a restart).'
        : 'No attempt yet.'));
    } else {
      el.append(h('ol', { class: 'timeline', id: 'attempts' }, log.map((a) => {
        const outcome = a.ok === null || a.ok === undefined
          ? badge('Running', 'ok') : a.ok ? badge('Succeeded', 'ok') : badge('Failed', 'bad');
        return h('li', { 'data-ok': String(a.ok) },
          h('div', { class: 'line' }, h('strong', {}, `Attempt ${a.number}`), ' ', outcome, ' · started ', when(a.started_at),
            typeof a.duration_ms === 'number' ? ` · took ${fmtNum(a.duration_ms)} ms` : ''),
          a.error ? h('div', { class: 'error' }, fmtError(a.error)) : null);
      })));
      el.append(h('p', { class: 'hint' }, 'Attempts this engine process saw, oldest first (at most the last 20).'));
    }
    if (job.state === 'delayed' && typeof job.next_attempt_at === 'number') {
      el.append(h('p', { class: 'next' }, 'Next attempt ', when(job.next_attempt_at), '.'));
    }
  }

  // ---- workers --------------------------------------------------------------

  function mountWorkers(root) {
    const title = h('h1', { tabindex: '-1' }, 'Workers');
    const warn = h('div', {});
    const body = h('div', {}, h('p', {}, 'Loading…'));
    append(root, [title, warn, body]);
    return {
      title,
      async update() {
        const [data, queues] = await Promise.all([api('/api/workers'), loadQueues().catch(() => [])]);
        const workers = (data && data.workers) || [];
        const functions = (data && data.functions) || [];
        const unserved = queues.flatMap((q) => (q.unserved_functions || []).map((f) => [q.name, f]));
        renderIf(warn, unserved, () => {
          if (!unserved.length) return;
          warn.append(h('div', { class: 'panel warn', role: 'note' },
            h('h2', {}, 'Functions with waiting jobs and no worker'),
            h('ul', {}, unserved.map(([q, f]) => h('li', {}, f, ' (queue ', h('a', { href: `#/queues/${enc(q)}/waiting` }, q), ')')))));
        });
        renderIf(body, { workers, functions }, () => workerTable(body, workers, functions));
      },
    };
  }

  /** A worker's functions; a long list folds after the first few. */
  function functionList(fns) {
    const item = (f) => h('li', {}, h('code', {}, f));
    if (fns.length <= 6) return h('ul', { class: 'fns' }, fns.map(item));
    return h('div', {}, h('ul', { class: 'fns' }, fns.slice(0, 4).map(item)),
      h('details', {}, h('summary', {}, `${fns.length - 4} more`), h('ul', { class: 'fns' }, fns.slice(4).map(item))));
  }

  function workerTable(body, workers, functions) {
    // The application's workers first, the engine's own after them.
    workers = [...workers].sort((a, b) => (a.runtime === 'engine') - (b.runtime === 'engine'));
    if (!workers.length) {
      body.append(h('p', { class: 'empty' }, 'No worker is connected.'));
      return;
    }
    const fnsOf = (w) => {
      const own = functions.filter((f) => f.worker_name === w.name || (w.id && f.worker_id === w.id));
      if (own.length) return own.map((f) => f.function_id);
      if (Array.isArray(w.functions)) return w.functions.map((f) => (typeof f === 'string' ? f : f.function_id));
      return null;
    };
    body.append(h('table', { class: 'grid', id: 'workers' },
      h('caption', {}, 'Workers connected to this engine and the functions they serve'),
      h('thead', {}, h('tr', {}, ['Name', 'Runtime', 'Version', 'Status', 'Functions', 'Connected', 'Address']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, workers.map((w) => {
        const fns = fnsOf(w);
        return h('tr', { 'data-worker': w.name },
          h('th', { scope: 'row' }, w.name ?? w.id ?? '—'),
          h('td', {}, w.runtime ?? '—'),
          h('td', {}, w.version ?? '—'),
          h('td', {}, w.status ?? '—'),
          h('td', {}, fns && fns.length ? functionList(fns) : fmtNum(w.function_count)),
          h('td', {}, when(w.connected_at_ms)),
          h('td', {}, w.ip_address ?? '—'));
      }))));
  }

  // ---- routing and refresh ------------------------------------------------

  function parseRoute() {
    const raw = location.hash.replace(/^#/, '') || '/';
    const [pathPart, query = ''] = raw.split('?');
    const params = new URLSearchParams(query);
    const parts = pathPart.split('/').filter(Boolean).map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
    if (parts[0] === 'queues' && parts[1]) {
      const tab = parts[2] || 'waiting';
      const valid = tab === 'groups' || STATES.some(([k]) => k === tab);
      return { name: 'queue', queue: parts[1], tab: valid ? tab : 'waiting', params, key: raw };
    }
    if (parts[0] === 'jobs' && parts[1]) return { name: 'job', job: parts[1], params, key: raw };
    if (parts[0] === 'workers') return { name: 'workers', params, key: raw };
    return { name: 'queues', params, key: raw };
  }

  function remount() {
    const route = parseRoute();
    const root = clear($('#view'));
    delete root.dataset.loaded;
    const prevQueue = state.view && state.view.queue;
    if (route.queue !== prevQueue) state.selected.clear();
    let view;
    if (route.name === 'queue') view = mountQueue(root, route);
    else if (route.name === 'job') view = mountJob(root, route);
    else if (route.name === 'workers') view = mountWorkers(root);
    else view = mountQueues(root);
    view.key = route.key;
    view.queue = route.queue;
    view.error = h('div', { class: 'view-error', role: 'alert' });
    root.prepend(view.error);
    state.view = view;
    for (const a of document.querySelectorAll('[data-nav]')) {
      const on = a.dataset.nav === (route.name === 'workers' ? 'workers' : 'queues');
      if (on) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    document.title = `troupe · ${view.title.textContent}`;
    refresh().then(() => {
      if (document.activeElement === document.body || !document.activeElement) view.title.focus({ preventScroll: true });
    });
  }

  async function loadStatus() {
    try {
      state.status = await api('/api/status');
    } catch (err) {
      if (err.status === 401) throw err;
      // The views say what failed; the banner only needs a status it knows.
      if (err.status === 503) state.status = err.data && err.data.status ? err.data : { status: 'starting' };
      else state.status = null;
    }
    renderBanner();
    renderFooter();
  }

  async function refresh() {
    clearTimeout(state.timer);
    if (state.running) {
      state.again = true;
      return;
    }
    state.running = true;
    $('#view').dataset.busy = 'true';
    const view = state.view;
    try {
      await loadStatus();
      await view.update();
      tick();
      clear(view.error);
      if (state.view === view) $('#view').dataset.loaded = view.key;
      state.updatedAt = Date.now();
      setLive(`Live, every ${REFRESH_MS / 1000} s · updated ${fmtTime(state.updatedAt).slice(11)}`, 'ok');
    } catch (err) {
      clear(view.error);
      if (err.status === 401) {
        setLive('Token needed', 'bad');
        view.error.append('Enter the admin token to see this engine.');
      } else if (err.status === 503) {
        setLive('Engine not ready', 'bad');
        view.error.append(`The engine is not ready: ${err.message}`);
      } else {
        setLive('Refresh failed', 'bad');
        view.error.append(`${err.code}: ${err.message}`);
      }
    } finally {
      state.running = false;
      delete $('#view').dataset.busy;
      if (state.again) {
        state.again = false;
        refresh();
      } else {
        schedule();
      }
    }
  }

  function schedule() {
    clearTimeout(state.timer);
    if (document.hidden) {
      setLive('Paused while this tab is hidden', '');
      return;
    }
    state.timer = setTimeout(refresh, REFRESH_MS);
  }

  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      clearTimeout(state.timer);
      setLive('Paused while this tab is hidden', '');
    } else {
      refresh();
    }
  });
  // The skip link must not become a route: it only moves the focus.
  $('.skip').addEventListener('click', (ev) => {
    ev.preventDefault();
    $('#view').focus();
  });
  window.addEventListener('hashchange', remount);
  $('#refresh-now').addEventListener('click', () => refresh());
  remount();
})();
