/// The page and its assets, compiled into the binary: the dashboard works with no internet and
/// no files beside the executable. Values from Redis reach the page only through `textContent`
/// and `setAttribute` in the script, and the Content-Security-Policy allows no inline script.
enum DashboardAssets {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>HemoStat</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand"><img src="/assets/favicon.svg" alt="" width="22" height="22"> HemoStat</div>
  <div class="top-right">
    <span id="mode" class="badge">mode: ?</span>
    <span id="live" class="live off" title="live feed">connecting</span>
    <span id="updated" class="muted"></span>
  </div>
</header>
<div id="dry-run-banner" class="banner dry" hidden>DRY-RUN: HemoStat decides and records what it would do, but does not touch any container.</div>
<div id="responder-banner" class="banner warn" hidden>No responder is running: alerts are analyzed but nothing will be remediated.</div>
<div id="error-banner" class="banner err" hidden></div>

<main>
  <section id="overview" class="cards" aria-label="overview">
    <div class="card"><div class="k">Containers watched</div><div class="v" id="ov-watched">-</div><div class="s" id="ov-watched-s"></div></div>
    <div class="card"><div class="k">Unhealthy now</div><div class="v" id="ov-unhealthy">-</div><div class="s">from the latest samples</div></div>
    <div class="card"><div class="k">Remediations (24 h)</div><div class="v" id="ov-rem">-</div><div class="s" id="ov-rem-s"></div></div>
    <div class="card"><div class="k">False alarms (24 h)</div><div class="v" id="ov-fa">-</div><div class="s">declared by the analyzer</div></div>
    <div class="card"><div class="k">Breakers open</div><div class="v" id="ov-breakers">-</div><div class="s" id="ov-breakers-s"></div></div>
    <div class="card"><div class="k">LLM calls</div><div class="v" id="ov-llm">-</div><div class="s" id="ov-llm-s"></div></div>
  </section>

  <section class="panel" aria-labelledby="h-incidents">
    <h2 id="h-incidents">Active incidents <span id="incident-count" class="count"></span></h2>
    <div id="incidents" class="incidents"><p class="empty">Nothing is wrong right now.</p></div>
  </section>

  <section class="panel" aria-labelledby="h-containers">
    <div class="panel-head">
      <h2 id="h-containers">Containers <span id="container-count" class="count"></span></h2>
      <input id="container-search" type="search" placeholder="filter by name" aria-label="filter containers by name">
      <input id="host-filter" type="search" placeholder="host" aria-label="show one host's containers">
    </div>
    <div class="table-wrap">
      <table id="containers-table" class="grid">
        <thead><tr>
          <th>Container</th><th>Host</th><th>Status</th><th>CPU</th><th>Memory</th><th>Restarts</th>
          <th>Last action</th><th>Cooldown</th><th>Breaker</th><th>Flags</th>
        </tr></thead>
        <tbody id="containers"></tbody>
      </table>
    </div>
    <div class="pager"><button id="containers-prev" type="button">Previous</button><span id="containers-page" class="muted"></span><button id="containers-next" type="button">Next</button></div>
  </section>

  <section class="panel" aria-labelledby="h-history">
    <h2 id="h-history">Remediation history</h2>
    <form id="history-filters" class="filters">
      <label>Container <input id="filter-container" name="container" type="text" list="container-names" autocomplete="off"></label>
      <datalist id="container-names"></datalist>
      <label>Status <select id="filter-status" name="status">
        <option value="">any</option><option>success</option><option>failed</option><option>ineffective</option><option>rejected</option><option>skipped</option>
      </select></label>
      <label>Since <input id="filter-since" name="since" type="datetime-local"></label>
      <label>Until <input id="filter-until" name="until" type="datetime-local"></label>
      <button type="submit">Apply</button>
      <button type="reset" id="filter-reset">Clear</button>
    </form>
    <div class="table-wrap">
      <table id="history-table" class="grid">
        <thead><tr><th>When</th><th>Container</th><th>Action</th><th>Result</th><th>Reason</th><th>Rule</th><th>Method</th><th></th></tr></thead>
        <tbody id="history"></tbody>
      </table>
    </div>
    <div class="pager"><span id="history-info" class="muted"></span><button id="history-more" type="button" hidden>Older</button></div>
  </section>

  <div class="two">
    <section class="panel" aria-labelledby="h-timeline">
      <div class="panel-head">
        <h2 id="h-timeline">Timeline</h2>
        <select id="timeline-type" aria-label="event type">
          <option value="">all events</option><option>health_alert</option><option>remediation_needed</option><option>remediation_complete</option><option>false_alarm</option><option>escalation</option><option>container_recovered</option>
        </select>
      </div>
      <ol id="timeline" class="timeline"></ol>
      <div class="pager"><button id="timeline-more" type="button" hidden>More</button></div>
    </section>

    <section class="panel" aria-labelledby="h-rules">
      <h2 id="h-rules">Rules</h2>
      <div id="rules-meta" class="muted">no status published by the analyzer yet</div>
      <ul id="rules-errors" class="errors"></ul>
      <table class="grid compact"><thead><tr><th>Rule</th><th title="alerts the rule matched">Matched</th><th title="times its answer was the decision">Decided</th><th>Errors</th></tr></thead><tbody id="rules"></tbody></table>
      <h2 class="sub">Agents</h2>
      <table class="grid compact"><thead><tr><th>Agent</th><th>Host</th><th>Version</th><th>Since</th></tr></thead><tbody id="agents"></tbody></table>
      <h2 class="sub">Dead letters</h2>
      <table class="grid compact"><thead><tr><th>When</th><th>Channel</th><th>Reason</th></tr></thead><tbody id="dead-letters"></tbody></table>
    </section>
  </div>
</main>

<dialog id="audit-dialog" aria-labelledby="audit-title">
  <div class="dialog-head"><h2 id="audit-title">Audit</h2><button id="audit-close" type="button" aria-label="close">Close</button></div>
  <div id="audit-body"></div>
</dialog>
</body>
</html>
"""#

    static let css = #"""
:root {
  --bg: #0f1419; --panel: #171d24; --line: #273039; --text: #d8dee6; --muted: #8a96a3;
  --ok: #3fb56b; --warn: #e0a526; --bad: #e5534b; --info: #4c9aff; --accent: #7cc4ff;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  font-size: 14px; color: var(--text); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
.top { display: flex; justify-content: space-between; align-items: center; padding: 10px 18px; border-bottom: 1px solid var(--line); background: #121920; position: sticky; top: 0; z-index: 5; }
.brand { font-weight: 700; font-size: 17px; display: flex; gap: 8px; align-items: center; }
.top-right { display: flex; gap: 12px; align-items: center; }
.badge { padding: 2px 8px; border-radius: 10px; background: var(--line); font-size: 12px; white-space: nowrap; }
.badge.ok { background: rgba(63,181,107,.18); color: var(--ok); }
.badge.warn { background: rgba(224,165,38,.18); color: var(--warn); }
.badge.bad { background: rgba(229,83,75,.2); color: var(--bad); }
.badge.info { background: rgba(76,154,255,.18); color: var(--info); }
.live::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; background: var(--bad); }
.live.on::before { background: var(--ok); box-shadow: 0 0 6px var(--ok); }
.live { font-size: 12px; color: var(--muted); }
.muted { color: var(--muted); font-size: 12px; }
.waiting { color: var(--warn); }
.banner { padding: 9px 18px; font-weight: 600; }
.banner.dry { background: #5c4708; color: #ffe08a; border-bottom: 1px solid #8a6a0c; }
.banner.warn { background: #3b2f12; color: #f0c860; }
.banner.err { background: #4a1916; color: #ffb4ae; }
main { padding: 14px 18px 40px; display: flex; flex-direction: column; gap: 14px; max-width: 1600px; margin: 0 auto; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .k { color: var(--muted); font-size: 12px; }
.card .v { font-size: 26px; font-weight: 700; margin: 2px 0; font-variant-numeric: tabular-nums; }
.card .s { color: var(--muted); font-size: 12px; min-height: 1em; }
.card.alert .v { color: var(--bad); }
.card.good .v { color: var(--ok); }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
.panel h2 { font-size: 15px; margin: 0 0 10px; }
.panel h2.sub { margin-top: 16px; }
.panel-head { display: flex; justify-content: space-between; align-items: center; gap: 10px; }
.count { color: var(--muted); font-weight: 400; font-size: 13px; }
.two { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 14px; }
@media (max-width: 1000px) { .two { grid-template-columns: 1fr; } }
.table-wrap { overflow-x: auto; }
table.grid { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.grid th { text-align: left; color: var(--muted); font-weight: 600; font-size: 12px; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
table.grid td { padding: 6px 8px; border-bottom: 1px solid #1f272f; vertical-align: top; }
table.grid tr.unhealthy td:first-child { box-shadow: inset 3px 0 var(--bad); }
table.compact td, table.compact th { padding: 4px 6px; font-size: 12px; }
.name { font-weight: 600; word-break: break-all; }
.sub-line { color: var(--muted); font-size: 12px; word-break: break-all; }
.chips { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 3px; }
.chip { font-size: 11px; padding: 1px 6px; border-radius: 8px; background: #222b34; color: #aab6c2; max-width: 320px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.metric { display: flex; align-items: center; gap: 6px; white-space: nowrap; }
.metric .num { min-width: 48px; text-align: right; }
svg.spark { width: 90px; height: 22px; }
svg.spark polyline { fill: none; stroke-width: 1.5; }
svg.spark.cpu polyline { stroke: var(--accent); }
svg.spark.mem polyline { stroke: #c59cff; }
.incidents { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 10px; }
.incident { border: 1px solid var(--line); border-left: 4px solid var(--bad); border-radius: 6px; padding: 9px 11px; background: #1b2129; }
.incident.remediating { border-left-color: var(--info); }
.incident.detected { border-left-color: var(--warn); }
.incident.dry-run { border-left-color: var(--warn); }
tr.off td { color: var(--muted); }
.incident .head { display: flex; justify-content: space-between; gap: 8px; align-items: baseline; }
.incident .what { margin: 5px 0 3px; }
.incident .doing { color: var(--accent); }
.incident .meta { color: var(--muted); font-size: 12px; margin-top: 4px; }
.empty { color: var(--muted); margin: 4px 0; }
.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; margin-bottom: 8px; }
.filters label { display: flex; flex-direction: column; gap: 3px; font-size: 12px; color: var(--muted); }
input, select, button { background: #0f1419; color: var(--text); border: 1px solid var(--line); border-radius: 5px; padding: 5px 8px; font: inherit; }
button { cursor: pointer; background: #1f2a36; }
button:hover { border-color: var(--accent); }
button.link { background: none; border: none; color: var(--accent); padding: 0; text-decoration: underline; }
.pager { display: flex; gap: 10px; align-items: center; justify-content: flex-end; margin-top: 8px; }
.timeline { list-style: none; margin: 0; padding: 0; max-height: 520px; overflow-y: auto; }
.timeline li { display: grid; grid-template-columns: 74px 150px 1fr; gap: 8px; padding: 5px 2px; border-bottom: 1px solid #1f272f; font-size: 13px; }
.timeline li.fresh { animation: flash 2s ease-out; }
@keyframes flash { from { background: rgba(76,154,255,.25); } to { background: transparent; } }
.timeline .t { color: var(--muted); font-variant-numeric: tabular-nums; }
.errors { color: var(--bad); padding-left: 18px; margin: 6px 0; }
.reason { max-width: 420px; }
dialog { background: var(--panel); color: var(--text); border: 1px solid var(--line); border-radius: 8px; width: min(900px, 92vw); max-height: 85vh; padding: 12px 16px; }
dialog::backdrop { background: rgba(0,0,0,.55); }
.dialog-head { display: flex; justify-content: space-between; align-items: center; }
pre { background: #0c1015; border: 1px solid var(--line); border-radius: 6px; padding: 10px; overflow: auto; font-size: 12px; white-space: pre-wrap; word-break: break-word; }
"""#

    static let javascript = #"""
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
"""#

    static let favicon = #"""
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#14202b"/><path d="M3 17h7l3-8 5 15 3-7h8" fill="none" stroke="#e5534b" stroke-width="2.6" stroke-linecap="round" stroke-linejoin="round"/></svg>
"""#
}
