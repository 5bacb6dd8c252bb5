// The flowlua dashboard: one page over flowlua's REST API (Flink's v1 shapes,
// src/cluster/rest_routes.h). Plain ES2017, no dependencies, no build step.
// The URL hash picks the view (#/overview, #/jobs/<jid>[/tab],
// #/taskmanagers); the view is rebuilt from REST every refresh-interval.
'use strict';
(function () {
  const NO_WATERMARK = -9.2e18;  // Long.MIN_VALUE: no watermark yet
  const END_WATERMARK = 9.2e18;  // Long.MAX_VALUE: the input has ended
  const ENDED = new Set(['FINISHED', 'CANCELED', 'FAILED']);
  const RATES = 'numRecordsInPerSecond,numRecordsOutPerSecond,busyTimeMsPerSecond,' +
    'backPressuredTimeMsPerSecond,currentInputWatermark';

  const $ = (id) => document.getElementById(id);
  const state = {
    config: null,     // GET /config
    interval: 3000,   // its refresh-interval, ms
    timer: 0,
    generation: 0,    // bumped per refresh: an older one's answer is dropped
    shown: null,      // the route whose page the view holds
    secret: null,     // the cluster secret, once asked for (memory only)
  };

  // ---- HTML built from templates that escape what they interpolate ----------

  // A piece of markup already safe to insert.
  class Safe { constructor(s) { this.s = s; } toString() { return this.s; } }
  const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  function esc(v) { return String(v == null ? '' : v).replace(/[&<>"']/g, (c) => ESC[c]); }
  function piece(v) {
    if (v instanceof Safe) return v.s;
    if (Array.isArray(v)) return v.map(piece).join('');
    return esc(v);
  }
  // html`<b>${x}</b>`: x escaped unless it is itself an html`` result (or an
  // array of them); the result is Safe.
  function html(strings, ...values) {
    let out = strings[0];
    values.forEach((v, i) => { out += piece(v) + strings[i + 1]; });
    return new Safe(out);
  }

  // ---- formatting ------------------------------------------------------------

  const num = (x) => (x == null || x === '' ? NaN : Number(x));
  function fmtNum(x, digits) {
    x = num(x);
    if (!isFinite(x)) return '—';
    const d = digits != null ? digits : Math.abs(x) < 10 && x !== Math.floor(x) ? 1 : 0;
    return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  }
  const fmtPct = (x) => (isFinite(x) ? Math.round(x) + '%' : '—');
  function fmtBytes(b) {
    b = num(b);
    if (!isFinite(b) || b < 0) return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (b >= 1024 && i < units.length - 1) { b /= 1024; i++; }
    return (i === 0 ? b : b.toFixed(b < 10 ? 2 : 1)) + ' ' + units[i];
  }
  function fmtDuration(ms) {
    ms = num(ms);
    if (!isFinite(ms) || ms < 0) return '—';
    if (ms < 1000) return Math.round(ms) + ' ms';
    let s = Math.floor(ms / 1000);
    const parts = [];
    for (const [unit, n] of [['d', 86400], ['h', 3600], ['m', 60]]) {
      if (s >= n) { parts.push(Math.floor(s / n) + unit); s %= n; }
    }
    parts.push(s + 's');
    return parts.slice(0, 2).join(' ');
  }
  const pad = (n, w) => String(n).padStart(w || 2, '0');
  function fmtTime(ms) {
    ms = num(ms);
    if (!isFinite(ms) || ms <= 0) return '—';
    const d = new Date(ms);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  // A watermark is event time in ms: a date when it looks like one.
  function fmtWatermark(w) {
    if (w == null || !isFinite(w) || w <= NO_WATERMARK) return '—';
    if (w >= END_WATERMARK) return 'end of input';
    if (w > 1e11 && w < 1e14) return fmtTime(w) + '.' + pad(((w % 1000) + 1000) % 1000, 3);
    return fmtNum(w);
  }
  const cssName = (s) => String(s || 'unknown').toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const badge = (s) => html`<span class="state state-${cssName(s)}">${s || 'UNKNOWN'}</span>`;

  // ---- REST --------------------------------------------------------------------

  class RestError extends Error {
    constructor(message, status) { super(message); this.status = status; }
  }

  // GET path as JSON; throws a RestError saying what went wrong.
  async function api(path) {
    let res;
    try {
      res = await fetch(path, { cache: 'no-store' });
    } catch (e) {
      throw new RestError(`REST is unreachable: is flowlua still running? (${e.message})`, 0);
    }
    let body = null;
    try { body = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok) {
      const why = body && Array.isArray(body.errors) ? body.errors.join('; ') : res.statusText;
      throw new RestError(`GET ${path} answered ${res.status}: ${why}`, res.status);
    }
    return body;
  }

  // lowercase hex HMAC-SHA256(secret, message) with WebCrypto
  async function hmacHex(secret, message) {
    if (!window.crypto || !crypto.subtle) {
      throw new Error('signing needs WebCrypto, which browsers give only to pages over https or on 127.0.0.1');
    }
    const enc = new TextEncoder();
    const key = await crypto.subtle.importKey('raw', enc.encode(secret),
      { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, enc.encode(message)));
    return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // A change (non-GET) request; with a secret, signed as docs/rest.md says:
  // HMAC over nonce "\n" METHOD "\n" TARGET "\n" BODY, with a fresh nonce.
  async function send(method, target, secret) {
    const headers = {};
    if (secret) {
      const nonce = (await api('/auth/nonce')).nonce;
      headers['X-Flowlua-Nonce'] = nonce;
      headers['X-Flowlua-Auth'] = await hmacHex(secret, `${nonce}\n${method}\n${target}\n`);
    }
    return fetch(target, { method, headers });
  }

  // Shows the secret dialog; resolves to the secret, or null if dismissed.
  function askSecret() {
    const dlg = $('secret-dialog');
    const form = dlg.querySelector('form');
    const input = form.elements.secret;
    input.value = '';
    dlg.hidden = false;
    input.focus();
    return new Promise((resolve) => {
      const done = (v) => {
        dlg.hidden = true;
        input.value = '';
        form.onsubmit = null;
        form.querySelector('[data-dismiss]').onclick = null;
        resolve(v);
      };
      // the server trims trailing whitespace off its secret (net/auth.h)
      form.onsubmit = (e) => { e.preventDefault(); done(input.value.replace(/\s+$/, '')); };
      form.querySelector('[data-dismiss]').onclick = () => done(null);
    });
  }

  async function cancelJob(jid, name) {
    if (!window.confirm(`Cancel the job "${name}"?`)) return;
    const target = `/jobs/${jid}?mode=cancel`;
    try {
      let res = await send('PATCH', target, state.secret);
      if (res.status === 401) {
        // the cluster has a secret: ask for it (again, if the one kept was wrong)
        state.secret = await askSecret();
        if (!state.secret) return;
        res = await send('PATCH', target, state.secret);
        if (res.status === 401) {
          state.secret = null;
          throw new Error('the cluster did not accept that secret');
        }
      }
      if (!res.ok) {
        const body = await res.json().catch(() => null);
        throw new Error(`${res.status}: ${body && body.errors ? body.errors.join('; ') : res.statusText}`);
      }
      showBanner('Cancellation requested.', 'info');
    } catch (e) {
      showBanner(`Could not cancel the job: ${e.message}`, 'alert');
      return;
    }
    refresh(true);
  }

  // ---- pages -------------------------------------------------------------------

  function taskCounts(t) {
    if (!t) return '';
    const shown = ['running', 'finished', 'canceled', 'failed', 'deploying', 'scheduled', 'created',
      'initializing', 'canceling'].filter((k) => t[k] > 0);
    return html`<span class="tasks">${shown.map((k) =>
      html`<span class="count state-${k}" title="${k}">${t[k]} ${k}</span>`)}<span class="total">of ${t.total}</span></span>`;
  }

  function jobTable(jobs, empty) {
    if (!jobs.length) return html`<p class="empty">${empty}</p>`;
    return html`<table class="grid jobs"><thead><tr><th>Name</th><th>State</th><th>Start time</th>
      <th>Duration</th><th>Tasks</th></tr></thead><tbody>${jobs.map((j) => html`
      <tr class="job-row link" data-jid="${j.jid}" data-href="#/jobs/${j.jid}">
        <td><a class="job-name" href="#/jobs/${j.jid}">${j.name}</a><div class="sub mono">${j.jid}</div></td>
        <td class="job-state">${badge(j.state)}</td><td>${fmtTime(j['start-time'])}</td>
        <td>${fmtDuration(j.duration)}</td><td>${taskCounts(j.tasks)}</td></tr>`)}</tbody></table>`;
  }

  const card = (label, value, cls) => html`<div class="card ${cls || ''}"><div class="value">${value}</div>
    <div class="label">${label}</div></div>`;

  async function overviewPage() {
    const [ov, jobs] = await Promise.all([api('/overview'), api('/jobs/overview')]);
    const list = jobs.jobs || [];
    return html`<h1>Overview</h1>
      <section class="cards">
        ${card('task managers', ov.taskmanagers, 'taskmanagers')}
        ${card('slots total', ov['slots-total'], 'slots-total')}
        ${card('slots available', ov['slots-available'], 'slots-available')}
        ${card('jobs running', ov['jobs-running'], 'running')}
        ${card('jobs finished', ov['jobs-finished'], 'finished')}
        ${card('jobs cancelled', ov['jobs-cancelled'], 'canceled')}
        ${card('jobs failed', ov['jobs-failed'], 'failed')}
      </section>
      <h2>Running jobs</h2>${jobTable(list.filter((j) => !ENDED.has(j.state)), 'No job is running.')}
      <h2>Completed jobs</h2>${jobTable(list.filter((j) => ENDED.has(j.state)), 'No job has ended yet.')}`;
  }

  // An id as a path segment: escaped, but for the '@' and ':' of cluster
  // taskmanager ids ("tm-1@127.0.0.1:40123"), which a path may hold as they are
  // (the server does not percent-decode paths).
  const pathSegment = (id) => encodeURIComponent(id).replace(/%40/g, '@').replace(/%3A/gi, ':');

  async function taskmanagersPage() {
    const list = (await api('/taskmanagers')).taskmanagers || [];
    // the details add metrics{rss, threads}
    const tms = await Promise.all(list.map((t) =>
      api('/taskmanagers/' + pathSegment(t.id)).catch(() => t)));
    if (!tms.length) return html`<h1>Task managers</h1><p class="empty">No task manager is registered.</p>`;
    const metric = (t, k, f) => (t.metrics && t.metrics[k] >= 0 ? f(t.metrics[k]) : '—');
    return html`<h1>Task managers</h1>
      <table class="grid taskmanagers"><thead><tr><th>Id</th><th>Address</th><th>Slots (free / total)</th>
        <th>Last heartbeat</th><th>CPU cores</th><th>Memory (free / physical)</th><th>RSS</th><th>Threads</th>
      </tr></thead><tbody>${tms.map((t) => {
        const hw = t.hardware || {};
        const hb = num(t.timeSinceLastHeartbeat);
        return html`<tr class="taskmanager" data-tm-id="${t.id}">
          <td class="mono tm-id">${t.id}</td>
          <td>${t.path}${t.dataPort > 0 ? html`<div class="sub">data port ${t.dataPort}</div>` : ''}</td>
          <td class="tm-slots">${t.freeSlots} / ${t.slotsNumber}</td>
          <td class="tm-heartbeat">${isFinite(hb) ? fmtDuration(hb) + ' ago' : '—'}</td>
          <td class="tm-cores">${hw.cpuCores}</td>
          <td class="tm-memory">${fmtBytes(hw.freeMemory)} / ${fmtBytes(hw.physicalMemory)}</td>
          <td class="tm-rss">${metric(t, 'rss', fmtBytes)}</td>
          <td class="tm-threads">${metric(t, 'threads', String)}</td></tr>`;
      })}</tbody></table>`;
  }

  // Live numbers per vertex: rates and busy time (aggregated over subtasks),
  // the backpressure level and the low watermark (min over subtasks).
  async function vertexLive(job) {
    const live = {};
    await Promise.all(job.vertices.map(async (v) => {
      const base = `/jobs/${job.jid}/vertices/${v.id}`;
      const [m, bp, wm] = await Promise.all([api(`${base}/subtasks/metrics?get=${RATES}`),
        api(`${base}/backpressure`), api(`${base}/watermarks`)].map((p) => p.catch(() => null)));
      const agg = {};
      (m || []).forEach((x) => { agg[x.id] = x; });
      const get = (id, k) => (agg[id] ? num(agg[id][k]) : NaN);
      let low = wm && wm.length ? Math.min(...wm.map((x) => num(x.value))) : get('currentInputWatermark', 'min');
      if (!isFinite(low)) low = null;
      live[v.id] = {
        in: get('numRecordsInPerSecond', 'sum'),
        out: get('numRecordsOutPerSecond', 'sum'),
        busy: get('busyTimeMsPerSecond', 'avg') / 10,
        backpressured: get('backPressuredTimeMsPerSecond', 'avg') / 10,
        level: (bp && bp['backpressure-level']) || 'unknown',
        watermark: low,
      };
    }));
    return live;
  }

  // The vertex most likely slowing the job: the busiest one that is not
  // itself backpressured (its upstream waits on it), if busy over half the time.
  function bottleneck(job, live) {
    let best = null;
    for (const v of job.vertices) {
      const l = live[v.id];
      if (l.level !== 'ok' || !(l.busy >= 50)) continue;
      if (!best || l.busy > live[best.id].busy) best = v;
    }
    return best;
  }

  // Splits a name into at most `lines` lines of about `width` characters.
  function wrap(text, width, lines) {
    const out = [''];
    for (const word of String(text).split(' ')) {
      const cur = out[out.length - 1];
      if (!cur || cur.length + 1 + word.length <= width) out[out.length - 1] = cur ? cur + ' ' + word : word;
      else out.push(word);
    }
    if (out.length > lines) {
      out.length = lines;
      out[lines - 1] = out[lines - 1].slice(0, width - 1) + '…';
    }
    return out.map((l) => (l.length > width ? l.slice(0, width - 1) + '…' : l));
  }

  const BOX_W = 270, BOX_H = 136, GAP_X = 110, GAP_Y = 34, PAD = 24;

  // The job graph in SVG: a column per topological depth, left to right.
  function graphSvg(job, live, slow) {
    const nodes = (job.plan && job.plan.nodes) || [];
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const depth = new Map();
    const depthOf = (n, seen) => {
      if (depth.has(n.id)) return depth.get(n.id);
      if (seen.has(n.id)) return 0; // a cycle (iterations): cut it here
      seen.add(n.id);
      let d = 0;
      for (const i of n.inputs || []) if (byId.has(i.id)) d = Math.max(d, depthOf(byId.get(i.id), seen) + 1);
      depth.set(n.id, d);
      return d;
    };
    const columns = [];
    for (const n of nodes) {
      const d = depthOf(n, new Set());
      (columns[d] = columns[d] || []).push(n);
    }
    const tallest = Math.max(1, ...columns.map((c) => (c ? c.length : 0)));
    const colH = (k) => k * BOX_H + (k - 1) * GAP_Y;
    const pos = new Map();
    columns.forEach((col, d) => (col || []).forEach((n, i) => pos.set(n.id, {
      x: PAD + d * (BOX_W + GAP_X),
      y: PAD + 14 + (colH(tallest) - colH(col.length)) / 2 + i * (BOX_H + GAP_Y),
    })));
    const width = PAD * 2 + columns.length * BOX_W + (columns.length - 1) * GAP_X;
    const height = PAD * 2 + 14 + colH(tallest);

    // edges: spread the ends of several edges along a box's side
    const outs = new Map();
    nodes.forEach((n) => (n.inputs || []).forEach((i) => outs.set(i.id, (outs.get(i.id) || 0) + 1)));
    const outUsed = new Map();
    const edges = [];
    for (const n of nodes) {
      const ins = (n.inputs || []).filter((i) => pos.has(i.id));
      ins.forEach((inp, k) => {
        const a = pos.get(inp.id), b = pos.get(n.id);
        const o = outUsed.get(inp.id) || 0;
        outUsed.set(inp.id, o + 1);
        const x1 = a.x + BOX_W, y1 = a.y + (BOX_H * (o + 1)) / (outs.get(inp.id) + 1);
        const x2 = b.x - 2, y2 = b.y + (BOX_H * (k + 1)) / (ins.length + 1);
        const c = Math.max(40, (x2 - x1) / 2);
        const label = inp.ship_strategy || '';
        const lw = label.length * 7 + 12;
        const mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
        edges.push(html`<g class="edge" data-from="${inp.id}" data-to="${n.id}">
          <path d="M${x1},${y1} C${x1 + c},${y1} ${x2 - c},${y2} ${x2},${y2}" marker-end="url(#arrow)"/>
          ${label ? html`<rect class="edge-label-bg" x="${mx - lw / 2}" y="${my - 10}" width="${lw}" height="18" rx="9"/>
          <text class="edge-label" x="${mx}" y="${my + 3}" text-anchor="middle">${label}</text>` : ''}</g>`);
      });
    }

    const boxes = nodes.map((n) => {
      const p = pos.get(n.id);
      const v = job.vertices.find((x) => x.id === n.id) || {};
      const l = live[n.id] || {};
      const name = v.name || n.description || n.id;
      const level = cssName(l.level);
      const busy = isFinite(l.busy) ? Math.min(100, Math.max(0, l.busy)) : 0;
      const bpw = isFinite(l.backpressured) ? Math.min(100 - busy, Math.max(0, l.backpressured)) : 0;
      const bar = BOX_W - 28;
      const lines = wrap(name, 28, 2); // about 8.5 px a character at 13 px bold
      return html`<g class="vertex bp-${level}${slow && slow.id === n.id ? ' bottleneck' : ''}" data-vertex-id="${n.id}"
          data-backpressure="${l.level}" transform="translate(${p.x},${p.y})">
        <title>${name}</title>
        <rect class="box" width="${BOX_W}" height="${BOX_H}" rx="8"/>
        <rect class="stripe" width="6" height="${BOX_H}" rx="3"/>
        ${slow && slow.id === n.id ? html`<text class="bottleneck-label" x="${BOX_W}" y="-7" text-anchor="end">▲ likely bottleneck</text>` : ''}
        <text class="vertex-name" x="16" y="22">${lines.map((t, i) => html`<tspan x="16" dy="${i ? 16 : 0}">${t}</tspan>`)}</text>
        <text class="vertex-meta" x="16" y="58">parallelism <tspan class="vertex-parallelism">${n.parallelism}</tspan> · ${(v.status || '').toLowerCase()}</text>
        <g class="vertex-backpressure bp-${level}" data-level="${l.level}" transform="translate(${BOX_W - 72},46)">
          <rect width="60" height="17" rx="8"/><text x="30" y="12.5" text-anchor="middle">${l.level === 'unknown' ? '?' : l.level}</text>
          <title>backpressure: ${l.level}</title></g>
        <text class="vertex-rates" x="16" y="80">in <tspan class="vertex-rate-in" data-value="${isFinite(l.in) ? l.in.toFixed(3) : ''}">${fmtNum(l.in)}</tspan>/s   ·   out <tspan class="vertex-rate-out" data-value="${isFinite(l.out) ? l.out.toFixed(3) : ''}">${fmtNum(l.out)}</tspan>/s</text>
        <text class="vertex-load" x="16" y="100">busy <tspan class="vertex-busy" data-value="${isFinite(l.busy) ? l.busy.toFixed(1) : ''}">${fmtPct(l.busy)}</tspan>   ·   backpressured ${fmtPct(l.backpressured)}</text>
        <rect class="bar-track" x="16" y="106" width="${bar}" height="6" rx="3"/>
        <rect class="bar-busy" x="16" y="106" width="${(bar * busy) / 100}" height="6" rx="3"/>
        <rect class="bar-bp" x="${16 + (bar * busy) / 100}" y="106" width="${(bar * bpw) / 100}" height="6"/>
        <text class="vertex-wm" x="16" y="127">low watermark <tspan class="vertex-watermark">${fmtWatermark(l.watermark)}</tspan></text>
      </g>`;
    });

    return html`<svg class="graph" width="${width}" height="${height}"
        viewBox="0 0 ${width} ${height}" role="img" aria-label="job graph">
      <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto">
        <path d="M0,0 L10,5 L0,10 z"/></marker></defs>
      ${edges}${boxes}</svg>`;
  }

  // "A -> B -> C" that wraps only before an arrow, never inside one
  const chainName = (name) => String(name).split(' -> ').map((part, i) =>
    (i ? html` <span class="nowrap">-> ${part}</span>` : html`${part}`));

  function vertexTable(job, live) {
    return html`<div class="table-wrap"><table class="grid vertices"><thead><tr><th>Vertex</th><th>Status</th><th class="n">Parallelism</th>
      <th class="n">Records in/s</th><th class="n">Records out/s</th><th class="n">Busy</th><th>Backpressure</th>
      <th>Low watermark</th><th class="n">Records received</th><th class="n">Records sent</th>
      <th class="n">Bytes received</th><th class="n">Bytes sent</th><th class="n">Duration</th></tr></thead>
      <tbody>${job.vertices.map((v) => {
        const l = live[v.id] || {}, m = v.metrics || {};
        return html`<tr data-vertex-id="${v.id}"><td class="vertex-name">${chainName(v.name)}</td><td>${badge(v.status)}</td>
          <td class="n">${v.parallelism}</td><td class="n">${fmtNum(l.in)}</td><td class="n">${fmtNum(l.out)}</td>
          <td class="n">${fmtPct(l.busy)}</td>
          <td><span class="level bp-${cssName(l.level)}">${l.level}</span></td><td>${fmtWatermark(l.watermark)}</td>
          <td class="n">${fmtNum(m['read-records'])}</td><td class="n">${fmtNum(m['write-records'])}</td>
          <td class="n">${fmtBytes(m['read-bytes'])}</td><td class="n">${fmtBytes(m['write-bytes'])}</td>
          <td class="n">${fmtDuration(v.duration)}</td></tr>`;
      })}</tbody></table></div>`;
  }

  function graphTab(job, live) {
    const slow = ENDED.has(job.state) ? null : bottleneck(job, live);
    const pressured = job.vertices.filter((v) => ['low', 'high'].includes(live[v.id].level));
    let hint;
    if (slow) {
      hint = html`<p class="hint"><b>Where it is slow:</b> <b>${slow.name}</b> is busy
        ${fmtPct(live[slow.id].busy)} of the time${pressured.length
          ? html` and holds back ${pressured.map((v, i) => html`${i ? ', ' : ''}<b>${v.name}</b>`)} (backpressured)` : ''}.</p>`;
    } else if (!ENDED.has(job.state)) {
      hint = html`<p class="hint">No vertex is busy more than half of the time.</p>`;
    } else if (job['failure-cause']) {
      hint = html`<p class="hint failed"><b>The job failed:</b> ${job['failure-cause'].split('\n')[0]}
        · <a href="#/jobs/${job.jid}/exceptions">the full traceback</a></p>`;
    }
    return html`${hint || ''}<div class="graph-wrap">${graphSvg(job, live, slow)}</div>
      <p class="legend">backpressure: <span class="level bp-ok">ok</span> <span class="level bp-low">low</span>
        <span class="level bp-high">high</span> · bar: <span class="swatch busy"></span> busy
        <span class="swatch bp"></span> backpressured · rates are records per second, summed over subtasks</p>
      <h2>Vertices</h2>${vertexTable(job, live)}`;
  }

  function checkpointsTab(ck) {
    const c = ck.counts || {};
    const s = ck.summary || {};
    const q = ['min', 'avg', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'];
    const row = (label, x, f) => html`<tr><th>${label}</th>${q.map((k) => html`<td class="n">${f((x || {})[k])}</td>`)}</tr>`;
    const history = (ck.history || []).slice().sort((a, b) => b.id - a.id);
    const latest = ck.latest && ck.latest.completed;
    return html`<section class="cards">
        ${card('triggered', c.total)}${card('completed', c.completed, 'finished')}${card('failed', c.failed, 'failed')}
        ${card('in progress', c.in_progress, 'running')}${card('restored', c.restored)}</section>
      ${latest ? html`<p>Latest completed: #${latest.id} at ${fmtTime(latest.latest_ack_timestamp)},
        ${fmtBytes(latest.state_size)} in ${fmtDuration(latest.end_to_end_duration)}
        ${latest.external_path ? html`<span class="mono">${latest.external_path}</span>` : ''}</p>` : ''}
      <h2>Summary <span class="sub">(completed checkpoints in the history)</span></h2>
      <table class="grid summary"><thead><tr><th></th>${q.map((k) => html`<th class="n">${k}</th>`)}</tr></thead><tbody>
        ${row('end to end duration', s.end_to_end_duration, fmtDuration)}
        ${row('checkpointed size', s.checkpointed_size, fmtBytes)}
        ${row('state size', s.state_size, fmtBytes)}</tbody></table>
      <h2>History</h2>${history.length ? html`<table class="grid history"><thead><tr><th class="n">Id</th><th>Status</th>
        <th>Type</th><th>Triggered</th><th>Latest acknowledgement</th><th class="n">Duration</th><th class="n">State size</th>
        <th class="n">Acknowledged</th><th>Failure / path</th></tr></thead><tbody>${history.map((h) => html`
        <tr><td class="n">${h.id}</td><td>${badge(h.status)}</td><td>${h.checkpoint_type}</td>
          <td>${fmtTime(h.trigger_timestamp)}</td><td>${fmtTime(h.latest_ack_timestamp)}</td>
          <td class="n">${fmtDuration(h.end_to_end_duration)}</td><td class="n">${fmtBytes(h.state_size)}</td>
          <td class="n">${h.num_acknowledged_subtasks} / ${h.num_subtasks}</td>
          <td class="mono small">${h.failure_message || h.external_path || ''}</td></tr>`)}</tbody></table>`
        : html`<p class="empty">No checkpoint yet${c.total === 0 ? ' (is checkpointing enabled?)' : ''}.</p>`}`;
  }

  function exceptionsTab(ex) {
    const root = ex['root-exception'];
    if (!root) return html`<p class="empty">No exception: the job has not failed.</p>`;
    const entries = ((ex.exceptionHistory || {}).entries || []).filter((e) => e.stacktrace !== root);
    return html`<h2 class="exception-name">${root.split('\n')[0]}</h2>
      <p class="sub">at ${fmtTime(ex.timestamp)}</p><pre class="traceback">${root}</pre>
      ${entries.length ? html`<h2>Earlier exceptions</h2>${entries.map((e) => html`
        <h3>${e.exceptionName} <span class="sub">${fmtTime(e.timestamp)} ${e.taskName || ''}</span></h3>
        <pre class="traceback">${e.stacktrace}</pre>`)}` : ''}`;
  }

  function kvTable(obj, cls) {
    const keys = Object.keys(obj || {}).filter((k) => typeof obj[k] !== 'object' || obj[k] === null);
    if (!keys.length) return html`<p class="empty">Nothing set.</p>`;
    return html`<table class="grid kv ${cls}"><tbody>${keys.sort().map((k) =>
      html`<tr><th class="mono">${k}</th><td class="mono">${String(obj[k])}</td></tr>`)}</tbody></table>`;
  }

  function configTab(cfg) {
    const ec = cfg['execution-config'] || {};
    return html`<h2>Execution configuration</h2>${kvTable(ec, 'execution-config')}
      <h2>User configuration</h2>${kvTable(ec['user-config'], 'user-config')}`;
  }

  function jobHeader(job) {
    const features = (state.config && state.config.features) || {};
    const cancellable = !ENDED.has(job.state) && job.state !== 'CANCELLING' && features['web-cancel'] !== false;
    return html`<div class="job-head"><div>
        <a class="back" href="#/overview">← all jobs</a>
        <h1 class="job-title">${job.name} ${badge(job.state)}</h1>
        <div class="sub"><span class="mono">${job.jid}</span> · started ${fmtTime(job['start-time'])}
          ${job['end-time'] > 0 ? html` · ended ${fmtTime(job['end-time'])}` : ''} · ran ${fmtDuration(job.duration)}
          · ${job.plan && job.plan.type ? job.plan.type.toLowerCase() : ''}</div></div>
      ${cancellable ? html`<button class="danger cancel-job" data-action="cancel" data-jid="${job.jid}"
        data-name="${job.name}">Cancel job</button>` : ''}</div>`;
  }

  const TABS = [['graph', 'Graph'], ['checkpoints', 'Checkpoints'], ['exceptions', 'Exceptions'],
    ['config', 'Configuration']];

  async function jobPage(r) {
    if (!/^[0-9a-fA-F]{32}$/.test(r.jid)) throw new RestError(`"${r.jid}" is not a job id (32 hex digits)`, 400);
    const base = `/jobs/${r.jid}`;
    const job = await api(base);
    let body;
    if (r.tab === 'checkpoints') body = checkpointsTab(await api(base + '/checkpoints'));
    else if (r.tab === 'exceptions') body = exceptionsTab(await api(base + '/exceptions'));
    else if (r.tab === 'config') body = configTab(await api(base + '/config'));
    else body = graphTab(job, await vertexLive(job));
    const tabs = TABS.map(([k, label]) => html`<a class="tab${k === r.tab ? ' active' : ''}" data-tab="${k}"
      href="#/jobs/${r.jid}${k === 'graph' ? '' : '/' + k}">${label}</a>`);
    return html`${jobHeader(job)}<nav class="tabs">${tabs}</nav><section class="tab-body tab-${r.tab}">${body}</section>`;
  }

  // ---- routing and refresh -------------------------------------------------------

  function route() {
    const parts = location.hash.replace(/^#\/?/, '').split(/[/?]/).filter(Boolean).map(decodeURIComponent);
    if (parts[0] === 'jobs' && parts[1]) {
      const tab = TABS.some(([k]) => k === parts[2]) ? parts[2] : 'graph';
      return { page: 'job', jid: parts[1], tab, key: `job/${parts[1]}/${tab}` };
    }
    if (parts[0] === 'taskmanagers') return { page: 'taskmanagers', key: 'taskmanagers' };
    return { page: 'overview', key: 'overview' };
  }
  const PAGES = { overview: overviewPage, job: jobPage, taskmanagers: taskmanagersPage };

  // kind error: REST failed, until a refresh succeeds; info and alert (a
  // failed action) go away by themselves.
  let bannerTimer = 0;
  function showBanner(text, kind) {
    const b = $('banner');
    clearTimeout(bannerTimer);
    b.hidden = !text;
    b.className = 'banner ' + (kind || 'error');
    b.textContent = text || '';
    if (text && kind !== 'error') bannerTimer = setTimeout(() => showBanner(null), kind === 'info' ? 8000 : 20000);
  }

  async function refresh(keepBanner) {
    clearTimeout(state.timer);
    const gen = ++state.generation;
    const r = route();
    document.querySelectorAll('[data-nav]').forEach((a) =>
      a.classList.toggle('active', a.dataset.nav === r.page || (r.page === 'job' && a.dataset.nav === 'overview')));
    try {
      if (!state.config) {
        state.config = await api('/config');
        const ms = num(state.config['refresh-interval']);
        state.interval = ms >= 500 ? ms : 3000;
      }
      const page = await PAGES[r.page](r);
      if (gen !== state.generation) return; // the hash changed meanwhile
      view.innerHTML = page.s;
      state.shown = r.key;
      if (!keepBanner && $('banner').classList.contains('error')) showBanner(null);
      $('status').textContent = `live · every ${state.interval / 1000} s · updated ${fmtTime(Date.now()).slice(11)}`;
      $('status').className = 'status ok';
    } catch (e) {
      if (gen !== state.generation) return;
      showBanner(e.message, 'error');
      $('status').textContent = e.status === 0 ? 'REST unreachable' : 'REST error';
      $('status').className = 'status bad';
      // keep the last good page of this route; otherwise say what failed
      if (state.shown !== r.key) {
        view.innerHTML = html`<p class="empty">This page could not be loaded. <a href="#/overview">Back to the overview</a></p>`.s;
        state.shown = null;
      }
    }
    if (gen === state.generation) state.timer = setTimeout(() => refresh(), state.interval);
  }

  const view = $('view');
  // clicks anywhere on a job row open it; the cancel button cancels
  view.addEventListener('click', (e) => {
    const cancel = e.target.closest('[data-action="cancel"]');
    if (cancel) { cancelJob(cancel.dataset.jid, cancel.dataset.name); return; }
    const row = e.target.closest('[data-href]');
    if (row && !e.target.closest('a')) location.hash = row.dataset.href;
  });
  // the secret form never submits by itself (askSecret handles it while shown)
  $('secret-dialog').querySelector('form').addEventListener('submit', (e) => e.preventDefault());
  window.addEventListener('hashchange', () => { showBanner(null); refresh(); });
  refresh();
})();
