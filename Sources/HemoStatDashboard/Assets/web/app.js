'use strict';
// HemoStat dashboard. Every value that comes from Redis (and so possibly from a container) is
// put on the page with textContent or setAttribute, never parsed as HTML.

const state = {
  containerOffset: 0, containerLimit: 100, containerQuery: '', hostFilter: '',
  historyCursor: null, historyItems: [],
  timelineOffset: 0, timelineType: '',
  dryRun: false,
};

const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = String(v);
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, String(v));
    }
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    node.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return node;
}

function setText(id, value) { $(id).textContent = value === undefined || value === null ? '-' : String(value); }

async function api(path) {
  const res = await fetch(path, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } });
  if (res.status === 401) throw new Error('access token required: open this page as /?token=...');
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || ('HTTP ' + res.status));
  return body;
}

function showError(message) {
  const b = $('error-banner');
  if (message) { b.textContent = message; b.hidden = false; } else { b.hidden = true; }
}

// ---- formatting

function ago(ms) {
  if (!ms) return '';
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 0) return 'now';
  if (s < 60) return s + 's ago';
  if (s < 3600) return Math.floor(s / 60) + 'm ago';
  if (s < 86400) return Math.floor(s / 3600) + 'h ago';
  return Math.floor(s / 86400) + 'd ago';
}
function clock(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
function stamp(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  return d.toLocaleDateString([], { month: 'short', day: 'numeric' }) + ' ' + clock(ms);
}
function pct(x) { return typeof x === 'number' ? x.toFixed(1) + '%' : '-'; }
function bytes(n) {
  if (typeof n !== 'number') return '';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + ' ' + u[i];
}
function duration(s) {
  if (!s) return '';
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
  return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
}
function statusClass(s) {
  if (['success', 'running', 'healthy', 'closed', 'ok', 'recovered'].includes(s)) return 'ok';
  if (['rejected', 'skipped', 'half_open', 'starting', 'detected', 'remediating', 'paused', 'restarting'].includes(s)) return 'warn';
  if (['failed', 'ineffective', 'open', 'unhealthy', 'exited', 'dead', 'escalated'].includes(s)) return 'bad';
  return '';
}
function badge(text, cls) { return el('span', { class: 'badge ' + (cls === undefined ? statusClass(text) : cls), text }); }

const SVG = 'http://www.w3.org/2000/svg';
function sparkline(values, kind) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'spark ' + kind);
  svg.setAttribute('viewBox', '0 0 90 22');
  svg.setAttribute('preserveAspectRatio', 'none');
  const nums = (values || []).map((v) => (typeof v === 'number' && isFinite(v) ? v : null));
  const present = nums.filter((v) => v !== null);
  if (present.length >= 2) {
    const max = Math.max(100, ...present) || 100;
    const step = 90 / (nums.length - 1);
    const pts = [];
    nums.forEach((v, i) => { if (v !== null) pts.push((i * step).toFixed(1) + ',' + (21 - (v / max) * 20).toFixed(1)); });
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', pts.join(' '));
    svg.append(line);
  }
  return svg;
}

// ---- overview

async function loadOverview() {
  const o = await api('/api/overview');
  state.dryRun = !!o.dry_run;
  $('dry-run-banner').hidden = !o.dry_run;
  $('responder-banner').hidden = !!o.responder_running;
  const mode = $('mode');
  mode.textContent = o.responder_running ? (o.dry_run ? 'dry-run' : 'live: acting') : 'no responder';
  mode.className = 'badge ' + (o.responder_running ? (o.dry_run ? 'warn' : 'ok') : 'bad');
  setText('ov-watched', o.containers_watched);
  setText('ov-watched-s', (o.containers_excluded || 0) + ' excluded');
  setText('ov-unhealthy', o.unhealthy_now);
  $('ov-unhealthy').parentElement.className = 'card' + (o.unhealthy_now > 0 ? ' alert' : ' good');
  setText('ov-rem', o.remediations_24h);
  const rate = typeof o.success_rate_24h === 'number' ? Math.round(o.success_rate_24h * 100) + '% successful' : 'no actions taken';
  const by = o.remediations_by_status_24h || {};
  const extra = ['rejected', 'skipped'].filter((k) => by[k]).map((k) => by[k] + ' ' + k).join(', ');
  setText('ov-rem-s', rate + (extra ? ' · ' + extra : ''));
  setText('ov-fa', o.false_alarms_24h);
  setText('ov-breakers', o.breakers_open);
  $('ov-breakers').parentElement.className = 'card' + (o.breakers_open > 0 ? ' alert' : '');
  setText('ov-breakers-s', (o.breakers_half_open || 0) + ' half-open');
  setText('ov-llm', o.llm_calls_this_hour);
  setText('ov-llm-s', 'this hour · ' + o.llm_calls_24h + ' in 24 h' +
    (typeof o.llm_budget_left === 'number' ? ' · ' + o.llm_budget_left + ' left' : ''));
  const agents = $('agents');
  agents.replaceChildren(...(o.agents || []).map((a) => el('tr', null,
    el('td', null, a.agent, a.dry_run ? ' ' : '', a.dry_run ? badge('dry-run', 'warn') : null),
    el('td', { text: a.host }), el('td', { text: a.version || '' }),
    el('td', { text: a.started_at ? ago(Date.parse(a.started_at)) : '' }))));
  if (!agents.children.length) agents.append(el('tr', null, el('td', { colspan: 4, class: 'empty', text: 'no agent heartbeat' })));
  setText('updated', 'updated ' + clock(Date.now()));
}

// ---- containers

function labelChips(labels) {
  const entries = Object.entries(labels || {}).slice(0, 6);
  if (!entries.length) return null;
  return el('div', { class: 'chips' }, ...entries.map(([k, v]) => el('span', { class: 'chip', title: k + '=' + v, text: k + '=' + v })));
}

function containerRow(c) {
  const g = c.gate || {};
  const flags = [];
  if (c.protected) flags.push(badge('protected', 'info'));
  if (c.excluded) flags.push(badge('excluded', 'info'));
  if (g.held_until) flags.push(badge('held', 'warn'));
  if (g.in_flight) flags.push(badge('acting', 'info'));
  if (c.stale) flags.push(badge('stale', ''));
  const health = c.health && c.health !== 'none' ? c.health : null;
  const last = g.last_action
    ? el('div', null, el('span', { text: g.last_action }), ' ', g.last_result ? badge(g.last_result) : null,
        el('div', { class: 'sub-line', text: g.last_action_at ? ago(Date.parse(g.last_action_at)) : '' }))
    : el('span', { class: 'muted', text: 'none' });
  return el('tr', { class: c.unhealthy ? 'unhealthy' : '', 'data-container': c.name, 'data-host': c.host || '' },
    el('td', null, el('div', { class: 'name', text: c.name }),
      el('div', { class: 'sub-line', text: c.image || '' }), labelChips(c.labels)),
    el('td', { class: 'host', text: c.host || '' }),
    el('td', null, badge(c.status), health ? ' ' : null, health ? badge(health) : null,
      c.exit_code ? el('div', { class: 'sub-line', text: 'exit ' + c.exit_code + (c.oom_killed ? ', OOM killed' : '') }) : null,
      (c.anomalies || []).length ? el('div', { class: 'sub-line', text: c.anomalies.map((a) => a.type).join(', ') }) : null,
      c.waiting ? el('div', { class: 'sub-line waiting', text: c.waiting }) : null),
    el('td', null, el('div', { class: 'metric' }, el('span', { class: 'num', text: pct(c.cpu_percent) }), sparkline(c.cpu_history, 'cpu'))),
    el('td', null, el('div', { class: 'metric' }, el('span', { class: 'num', text: pct(c.memory_percent) }), sparkline(c.memory_history, 'mem')),
      el('div', { class: 'sub-line', text: c.memory_usage ? bytes(c.memory_usage) + (c.memory_limit ? ' / ' + bytes(c.memory_limit) : '') : '' })),
    el('td', { text: c.restart_count === null || c.restart_count === undefined ? '-' : c.restart_count }),
    el('td', null, last),
    el('td', { text: g.cooldown_remaining_seconds ? duration(g.cooldown_remaining_seconds) : '-' }),
    el('td', null, g.breaker_state ? badge(g.breaker_state) : '-',
      g.breaker_failures ? el('div', { class: 'sub-line', text: g.breaker_failures + ' failures' }) : null),
    el('td', null, ...flags));
}

async function loadContainers() {
  const q = new URLSearchParams({ limit: state.containerLimit, offset: state.containerOffset });
  if (state.containerQuery) q.set('q', state.containerQuery);
  if (state.hostFilter) q.set('host', state.hostFilter);
  const r = await api('/api/containers?' + q);
  const body = $('containers');
  body.replaceChildren(...r.items.map(containerRow));
  if (!r.items.length) body.append(el('tr', null, el('td', { colspan: 10, class: 'empty', text: 'No containers reported by the monitor.' })));
  setText('container-count', r.total + (r.total === 1 ? ' container' : ' containers'));
  const from = r.total ? r.offset + 1 : 0;
  setText('containers-page', from + '-' + (r.offset + r.items.length) + ' of ' + r.total);
  $('containers-prev').disabled = r.offset === 0;
  $('containers-next').disabled = r.offset + r.items.length >= r.total;
  const names = $('container-names');
  names.replaceChildren(...r.items.map((c) => el('option', { value: c.name })));
}

// ---- incidents

function incidentCard(i) {
  return el('article', { class: 'incident ' + (i.state || ''), 'data-incident': i.incident_id || '', 'data-container': i.container || '' },
    el('div', { class: 'head' }, el('span', { class: 'name', text: i.container || '?' }), badge(i.state || '?')),
    el('div', { class: 'what', text: i.problem || '' }),
    el('div', { class: 'doing', text: i.doing || '' }),
    el('div', { class: 'meta' },
      [i.action && 'action ' + i.action, i.rule && 'rule ' + i.rule, i.analysis_method && 'by ' + i.analysis_method,
       i.dry_run && 'dry-run', i.updated_at && ago(i.updated_at)].filter(Boolean).join(' · '),
      i.incident_id ? ' · ' : null,
      i.incident_id ? el('button', { type: 'button', class: 'link', text: 'audit', onclick: () => openAudit(i.incident_id) }) : null));
}

async function loadIncidents() {
  const r = await api('/api/incidents');
  const box = $('incidents');
  box.replaceChildren(...r.items.map(incidentCard));
  if (!r.items.length) box.append(el('p', { class: 'empty', text: 'Nothing is wrong right now.' }));
  setText('incident-count', r.items.length ? String(r.items.length) : '');
}

// ---- history

function historyQuery() {
  const q = new URLSearchParams({ limit: 50 });
  const c = $('filter-container').value.trim();
  const s = $('filter-status').value;
  const since = $('filter-since').value;
  const until = $('filter-until').value;
  if (c) q.set('container', c);
  if (s) q.set('status', s);
  if (since) q.set('since', String(new Date(since).getTime()));
  if (until) q.set('until', String(new Date(until).getTime()));
  return q;
}

function historyRow(h) {
  return el('tr', { 'data-status': h.status || '' },
    el('td', { title: h.timestamp || '', text: stamp(h.at) }),
    el('td', { class: 'name', text: h.container || '' }),
    el('td', null, el('span', { text: h.action || '' }), h.dry_run ? ' ' : null, h.dry_run ? badge('dry-run', 'warn') : null),
    el('td', null, badge(h.status || '?'), h.retry_after_seconds ? el('div', { class: 'sub-line', text: 'retry in ' + duration(h.retry_after_seconds) }) : null),
    el('td', { class: 'reason' }, el('div', { text: h.reason || '' }),
      h.request_reason && h.request_reason !== h.reason ? el('div', { class: 'sub-line', text: 'why: ' + h.request_reason }) : null),
    el('td', { text: h.rule || '' }),
    el('td', { text: (h.analysis_method || '') + (typeof h.confidence === 'number' ? ' (' + h.confidence.toFixed(2) + ')' : '') }),
    el('td', null, (h.incident_id || h.request_id || h.id)
      ? el('button', { type: 'button', class: 'link', text: 'audit', onclick: () => openAudit(h.incident_id || h.request_id || h.id) }) : null));
}

async function loadHistory(append) {
  const q = historyQuery();
  if (append && state.historyCursor) q.set('cursor', state.historyCursor);
  const r = await api('/api/history?' + q);
  state.historyItems = append ? state.historyItems.concat(r.items) : r.items;
  state.historyCursor = r.next_cursor;
  const body = $('history');
  body.replaceChildren(...state.historyItems.map(historyRow));
  if (!state.historyItems.length) body.append(el('tr', null, el('td', { colspan: 8, class: 'empty', text: 'No remediation matches.' })));
  $('history-more').hidden = !r.next_cursor;
  setText('history-info', state.historyItems.length + ' shown');
}

// ---- timeline

function timelineItem(e, fresh) {
  return el('li', { class: fresh ? 'fresh' : '' },
    el('span', { class: 't', title: e.timestamp || '', text: clock(e.at) }),
    el('span', null, badge(e.event_type, e.event_type === 'health_alert' ? 'warn' : e.event_type === 'remediation_complete' ? 'info'
      : e.event_type === 'container_recovered' ? 'ok' : e.event_type === 'escalation' ? 'bad' : '')),
    el('span', { text: e.summary || '' }));
}

async function loadTimeline(append) {
  const q = new URLSearchParams({ limit: 100, offset: append ? state.timelineOffset : 0 });
  if (state.timelineType) q.set('type', state.timelineType);
  const r = await api('/api/timeline?' + q);
  const list = $('timeline');
  if (!append) list.replaceChildren();
  list.append(...r.items.map((e) => timelineItem(e, false)));
  state.timelineOffset = r.offset + r.items.length;
  $('timeline-more').hidden = state.timelineOffset >= r.total;
  if (!list.children.length) list.append(el('li', { class: 'empty', text: 'No events stored yet.' }));
}

function pushTimeline(e) {
  if (state.timelineType && e.event_type !== state.timelineType) return;
  const list = $('timeline');
  const first = list.firstElementChild;
  if (first && first.classList.contains('empty')) first.remove();
  list.prepend(timelineItem(e, true));
  while (list.children.length > 300) list.lastElementChild.remove();
}

// ---- rules and dead letters

async function loadRules() {
  const r = await api('/api/rules');
  const body = $('rules');
  const errs = $('rules-errors');
  if (!r.available) { body.replaceChildren(); errs.replaceChildren(); return; }
  const s = r.status || {};
  const reload = s.last_reload || s.loaded_at || s.reloaded_at;
  const when = (t) => stamp(typeof t === 'number' ? t : Date.parse(t));
  const files = Array.isArray(s.files) ? s.files.length + ' files' : '';
  $('rules-meta').textContent = ['last reload ' + (reload ? when(reload) : 'unknown'), files,
    s.updated_at ? 'counts as of ' + when(s.updated_at) : ''].filter(Boolean).join(' · ');
  const loadErrors = s.load_errors || s.errors || [];
  errs.replaceChildren(...(Array.isArray(loadErrors) ? loadErrors : []).slice(0, 20).map((e) =>
    el('li', { text: typeof e === 'string' ? e : [e.location || [e.file, e.line].filter((x) => x !== undefined).join(':'), e.message].filter(Boolean).join(': ') })));
  let rules = s.rules || [];
  if (!Array.isArray(rules)) rules = Object.entries(rules).map(([name, v]) => Object.assign({ name }, v));
  const matched = (x) => x.matched ?? x.fired ?? x.fires ?? 0;
  rules.sort((a, b) => matched(b) - matched(a));
  body.replaceChildren(...rules.slice(0, 100).map((x) => el('tr', { class: x.enabled === false ? 'off' : '' },
    el('td', { text: (x.name || x.rule || '?') + (x.enabled === false ? ' (off)' : x.dry_run ? ' (dry-run)' : ''), title: x.description || '' }),
    el('td', { text: matched(x) }),
    el('td', { text: x.decisive ?? '' }),
    el('td', { class: (x.errors || 0) > 0 ? 'bad' : '', text: x.errors ?? 0 }))));
}

async function loadDeadLetters() {
  const r = await api('/api/dead-letters?limit=20');
  const body = $('dead-letters');
  body.replaceChildren(...r.items.map((d) => el('tr', null,
    el('td', { text: stamp(d.at) }), el('td', { text: d.channel || '' }), el('td', { text: d.reason || '' }))));
  if (!r.items.length) body.append(el('tr', null, el('td', { colspan: 3, class: 'empty', text: 'none' })));
}

// ---- audit

async function openAudit(id) {
  const dialog = $('audit-dialog');
  const body = $('audit-body');
  $('audit-title').textContent = 'Audit: ' + id;
  body.replaceChildren(el('p', { class: 'muted', text: 'loading' }));
  if (!dialog.open) dialog.showModal();
  try {
    const r = await api('/api/audit?id=' + encodeURIComponent(id));
    body.replaceChildren();
    if (!r.items.length) body.append(el('p', { class: 'empty', text: 'No audit record mentions this id (searched ' + r.scanned + ' records).' }));
    for (const item of r.items) {
      body.append(el('h3', { class: 'muted', text: stamp(item.at) }), el('pre', { text: JSON.stringify(item.record, null, 2) }));
    }
  } catch (e) {
    body.replaceChildren(el('p', { class: 'empty', text: String(e.message || e) }));
  }
}

// ---- refresh scheduling

const loaders = { overview: loadOverview, containers: loadContainers, incidents: loadIncidents, history: () => loadHistory(false), rules: loadRules, deadLetters: loadDeadLetters };
const pending = new Set();
let timer = null;
let running = false;

function schedule(...names) {
  names.forEach((n) => pending.add(n));
  if (!timer) timer = setTimeout(flush, 150);
}

async function flush() {
  timer = null;
  if (running) { timer = setTimeout(flush, 150); return; }
  running = true;
  const names = [...pending];
  pending.clear();
  try {
    await Promise.all(names.map((n) => loaders[n]()));
    showError(null);
  } catch (e) {
    showError('Could not refresh: ' + (e.message || e));
  } finally {
    running = false;
  }
}

function connect() {
  const source = new EventSource('/api/events');
  const live = $('live');
  const setLive = (on) => { live.className = 'live ' + (on ? 'on' : 'off'); live.textContent = on ? 'live' : 'reconnecting'; };
  source.addEventListener('hello', (ev) => { setLive(JSON.parse(ev.data).live); schedule('overview', 'containers', 'incidents', 'history'); });
  source.addEventListener('status', (ev) => setLive(JSON.parse(ev.data).live));
  source.addEventListener('tick', () => schedule('overview', 'containers', 'incidents', 'rules'));
  source.addEventListener('message', (ev) => {
    const m = JSON.parse(ev.data);
    if (m.event) pushTimeline(m.event);
    const names = ['incidents', 'overview'];
    if (m.channel === 'remediation_complete') names.push('history', 'containers');
    if (m.channel === 'dead_letter') names.push('deadLetters');
    schedule(...names);
  });
  source.onerror = () => setLive(false);
}

function wire() {
  $('history-filters').addEventListener('submit', (e) => { e.preventDefault(); loadHistory(false).catch((x) => showError(x.message)); });
  $('history-filters').addEventListener('reset', () => setTimeout(() => loadHistory(false).catch((x) => showError(x.message)), 0));
  $('filter-status').addEventListener('change', () => loadHistory(false).catch((x) => showError(x.message)));
  $('history-more').addEventListener('click', () => loadHistory(true).catch((x) => showError(x.message)));
  let searchTimer = null;
  $('container-search').addEventListener('input', (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.containerQuery = e.target.value.trim(); state.containerOffset = 0; schedule('containers'); }, 200);
  });
  $('host-filter').addEventListener('input', (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.hostFilter = e.target.value.trim(); state.containerOffset = 0; schedule('containers'); }, 200);
  });
  $('containers-prev').addEventListener('click', () => { state.containerOffset = Math.max(0, state.containerOffset - state.containerLimit); schedule('containers'); });
  $('containers-next').addEventListener('click', () => { state.containerOffset += state.containerLimit; schedule('containers'); });
  $('timeline-type').addEventListener('change', (e) => { state.timelineType = e.target.value; loadTimeline(false).catch((x) => showError(x.message)); });
  $('timeline-more').addEventListener('click', () => loadTimeline(true).catch((x) => showError(x.message)));
  $('audit-close').addEventListener('click', () => $('audit-dialog').close());
}

document.addEventListener('DOMContentLoaded', () => {
  wire();
  schedule('overview', 'containers', 'incidents', 'history', 'rules', 'deadLetters');
  loadTimeline(false).catch((x) => showError(x.message));
  setInterval(() => schedule('rules', 'deadLetters'), 15000);
  connect();
});
