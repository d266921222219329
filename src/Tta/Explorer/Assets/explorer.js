// tta explorer: similarity maps with a layer slider, attention decomposition, token trajectories, the logit lens, the study (layer
// statistics and CKA across the corpus) and the static figures of one experiment. Data: the JSON in #tta-data (see src/Tta/Explorer/ExplorerData.cs) and, per map, its
// 8-bit codes as base64 of raw deflate in <script id="mN">. Code q < 254 is the value min + q·scale; 254 = NaN
// (missing), 255 = masked. A symmetric map stores its upper triangle only. What is shown lives in the URL's hash
// (#view=…&model=…&text=…&layer=…, see "URL state"), so a view can be linked and bookmarked. Test hooks: window.__tta.
'use strict';
(function () {
  const LEVELS = 254, MISSING = 254, MASKED = 255;
  const data = JSON.parse(document.getElementById('tta-data').textContent);
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v; else if (k === 'class') e.className = v; else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  };
  const svgEl = (tag, attrs) => {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  };
  const fmt = (v) => v == null ? '—' : (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toPrecision(4));

  // ------------------------------------------------------------------ colours
  const hex = (s) => [parseInt(s.slice(1, 3), 16), parseInt(s.slice(3, 5), 16), parseInt(s.slice(5, 7), 16)];
  const pack = ([r, g, b]) => (255 << 24) | (b << 16) | (g << 8) | r; // little-endian RGBA in a Uint32
  const colormap = data.colormap.map(hex);
  const maskedRgb = hex(data.maskedColor), missingRgb = hex(data.missingColor);

  /** Code → packed colour for one map: per-map range, or the shared [lo, hi]. */
  function lut(map, shared) {
    const out = new Uint32Array(256);
    const hi = map.min + (LEVELS - 1) * map.scale;
    for (let q = 0; q < LEVELS; q++) {
      const v = map.min + q * map.scale;
      let t;
      if (shared) t = shared.hi > shared.lo ? (v - shared.lo) / (shared.hi - shared.lo) : 0.5;
      else t = hi > map.min ? q / (LEVELS - 1) : 0.5;
      out[q] = pack(colormap[Math.max(0, Math.min(255, Math.round(t * 255)))]);
    }
    out[MISSING] = pack(missingRgb);
    out[MASKED] = pack(maskedRgb);
    return out;
  }

  // ------------------------------------------------------------------ maps
  const decoded = new Map();
  async function inflate(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }
  /** The codes of map i (inflated once, then cached). */
  function codes(i) {
    if (!decoded.has(i)) {
      decoded.set(i, (async () => {
        const text = document.getElementById('m' + i).textContent.trim();
        const bin = atob(text);
        const bytes = new Uint8Array(bin.length);
        for (let k = 0; k < bin.length; k++) bytes[k] = bin.charCodeAt(k);
        return inflate(bytes);
      })());
    }
    return decoded.get(i);
  }
  function index(map, i, j) {
    if (map.sym) {
      if (i > j) { const t = i; i = j; j = t; }
      return i * map.cols - (i * (i - 1)) / 2 + (j - i);
    }
    return i * map.cols + j;
  }
  function valueAt(map, c, i, j) {
    const q = c[index(map, i, j)];
    if (q === MASKED) return { masked: true, value: null };
    if (q === MISSING) return { missing: true, value: null };
    return { value: map.min + q * map.scale };
  }
  /** An offscreen canvas of the map at one pixel per cell. */
  function raster(map, c, colours) {
    const canvas = document.createElement('canvas');
    canvas.width = map.cols; canvas.height = map.rows;
    const ctx = canvas.getContext('2d');
    const image = ctx.createImageData(map.cols, map.rows);
    const px = new Uint32Array(image.data.buffer);
    if (map.sym) {
      const n = map.cols;
      let k = 0;
      for (let i = 0; i < n; i++) for (let j = i; j < n; j++) { const col = colours[c[k++]]; px[i * n + j] = col; px[j * n + i] = col; }
    } else {
      for (let k = 0; k < px.length; k++) px[k] = colours[c[k]];
    }
    ctx.putImageData(image, 0, 0);
    return canvas;
  }

  // ------------------------------------------------------------------ state
  const state = { view: 'similarity', model: data.models[0] ? data.models[0].key : '', text: data.texts[0] || '', highlight: null, shared: true, panes: [],
    module: null, series: null, lens: null, figure: null, cka: null, ckaA: null, ckaB: null };
  const set = (model, text) => data.sets.find((s) => s.model === model && s.text === text);
  const tokensFor = (s, stack) => stack === 'decoder' ? [data.decoderStart, ...s.tokens.slice(0, s.tokens.length - 1)] : s.tokens;
  const tok = (list, i) => (list && i < list.length ? list[i] : '?') + ' (#' + i + ')';
  const hooks = { firstMapMs: null, drawn: 0 };
  let resolveReady;
  hooks.ready = new Promise((r) => { resolveReady = r; });

  // ------------------------------------------------------------------ tooltip
  const tooltip = $('tooltip');
  function showTip(ev, lines, attrs) {
    tooltip.textContent = lines.join('\n');
    for (const k of Object.keys(tooltip.dataset)) delete tooltip.dataset[k];
    Object.assign(tooltip.dataset, attrs || {});
    tooltip.hidden = false;
    const x = Math.min(ev.clientX + 14, window.innerWidth - tooltip.offsetWidth - 4);
    const y = Math.min(ev.clientY + 14, window.innerHeight - tooltip.offsetHeight - 4);
    tooltip.style.left = x + 'px'; tooltip.style.top = y + 'px';
  }
  const hideTip = () => { tooltip.hidden = true; };

  function setHighlight(i) {
    state.highlight = state.highlight === i ? null : i;
    writeUrl();
    for (const p of state.panes) p.paint();
    for (const r of attentionRenderers) r.paint();
    for (const r of studyRenderers) r.paint();
    paintTrajectoryHighlight();
    if (lens) lens.paint();
  }

  // ------------------------------------------------------------------ a heatmap canvas (similarity pane, attention panel)
  /** Draws map `entry` into `canvas` at `size` px; hover and click report cells. */
  function heatmap(canvas, initialSize, describe) {
    const r = { map: null, codes: null, off: null, size: 0 };
    let size = 0;
    const ctx = canvas.getContext('2d');
    /** Listeners stay as they are; only the canvas changes size. */
    r.setSize = (px) => {
      if (px === size) return;
      size = r.size = px;
      canvas.width = px; canvas.height = px;
      canvas.style.width = px + 'px'; canvas.style.height = px + 'px';
    };
    r.setSize(initialSize);
    r.paint = () => {
      ctx.clearRect(0, 0, size, size);
      if (!r.off) return;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(r.off, 0, 0, size, size);
      if (state.highlight != null && r.map) {
        const h = state.highlight, ch = size / r.map.rows, cw = size / r.map.cols;
        ctx.strokeStyle = 'rgba(214, 39, 40, 0.95)'; ctx.lineWidth = Math.max(1, Math.min(ch, 3));
        if (h < r.map.rows) ctx.strokeRect(0.5, h * ch, size - 1, Math.max(ch, 1));
        if (h < r.map.cols) ctx.strokeRect(h * cw, 0.5, Math.max(cw, 1), size - 1);
      }
    };
    r.show = (map, c, colours) => {
      r.map = map; r.codes = c; r.off = raster(map, c, colours);
      r.paint();
    };
    r.cell = (ev) => {
      if (!r.map) return null;
      const box = canvas.getBoundingClientRect();
      const i = Math.floor((ev.clientY - box.top) / box.height * r.map.rows);
      const j = Math.floor((ev.clientX - box.left) / box.width * r.map.cols);
      return i >= 0 && j >= 0 && i < r.map.rows && j < r.map.cols ? [i, j] : null;
    };
    canvas.addEventListener('mousemove', (ev) => {
      const cell = r.cell(ev);
      if (!cell) return hideTip();
      const v = valueAt(r.map, r.codes, cell[0], cell[1]);
      const d = describe(cell[0], cell[1]);
      const shown = v.masked ? 'masked' : v.missing ? 'NaN' : fmt(v.value);
      showTip(ev, [...d.lines, 'value: ' + shown + (v.value != null && r.map.scale > 0 ? '  (± ' + fmt(r.map.scale / 2) + ')' : '')],
        { row: cell[0], col: cell[1], value: v.value == null ? shown : String(v.value), query: d.query, key: d.key });
    });
    canvas.addEventListener('mouseleave', hideTip);
    canvas.addEventListener('click', (ev) => { const cell = r.cell(ev); if (cell) setHighlight(cell[0]); });
    return r;
  }

  // Intl.Segmenter is missing in older browsers (Firefox before 125): code points there.
  const graphemes = typeof Intl.Segmenter === 'function' ? new Intl.Segmenter() : null;
  /** Token labels beside a map (rows, left) and below it (columns), every k-th where cells are too small for all. */
  function axisLabels(left, bottom, tokens, n, size) {
    const gutter = 84, cell = size / n, stride = Math.max(1, Math.ceil(11 / cell));
    // Cut by graphemes: a cut inside a surrogate pair or a ZWJ sequence would draw a broken glyph.
    const cut = (t) => { const g = graphemes ? [...graphemes.segment(t)].map((s) => s.segment) : Array.from(t); return g.length > 11 ? g.slice(0, 10).join('') + '…' : t; };
    left.width = gutter; left.height = size; bottom.width = size; bottom.height = gutter;
    const a = left.getContext('2d'), b = bottom.getContext('2d');
    // The page's font stack (explorer.css), whose Noto fallbacks draw CJK, emoji and Arabic.
    const font = '10px ' + getComputedStyle(document.body).fontFamily;
    for (const [ctx, vertical] of [[a, false], [b, true]]) {
      ctx.font = font;
      ctx.textBaseline = 'middle'; ctx.textAlign = 'right';
      for (let i = 0; i < n; i++) {
        const highlighted = i === state.highlight;
        if (i % stride !== 0 && !highlighted) continue;
        ctx.fillStyle = highlighted ? '#d62728' : '#333';
        const text = cut(tokens[i] == null ? '#' + i : tokens[i]);
        if (vertical) { ctx.save(); ctx.translate((i + 0.5) * cell, 3); ctx.rotate(-Math.PI / 2); ctx.fillText(text, 0, 0); ctx.restore(); }
        else ctx.fillText(text, gutter - 3, (i + 0.5) * cell);
      }
    }
  }

  function colorbar(lo, hi) {
    const c = el('canvas', { width: 160, height: 10 });
    const ctx = c.getContext('2d');
    for (let x = 0; x < 160; x++) { const [r, g, b] = colormap[Math.round(x / 159 * 255)]; ctx.fillStyle = `rgb(${r},${g},${b})`; ctx.fillRect(x, 0, 1, 10); }
    return el('div', { class: 'colorbar', 'data-lo': lo, 'data-hi': hi }, el('span', { text: fmt(lo) }), c, el('span', { text: fmt(hi) }));
  }

  // ------------------------------------------------------------------ similarity panes
  function measuresOf(s) { return [...new Set(s.similarity.map((e) => e.measure))]; }

  function makePane(k, init) {
    const p = Object.assign({ k }, init);
    const root = el('div', { class: 'pane', 'data-pane': k });
    const modelSel = el('select', { 'aria-label': 'model' });
    for (const m of data.models) modelSel.append(el('option', { value: m.key, text: m.key }));
    const textSel = el('select', { 'aria-label': 'text' });
    for (const t of data.texts) textSel.append(el('option', { value: t, text: t }));
    const measureSel = el('select', { 'aria-label': 'measure' });
    const slider = el('input', { type: 'range', min: 0, max: 0, value: 0, step: 1, class: 'layer', 'aria-label': 'layer' });
    const label = el('span', { class: 'layer-label' }), labelName = el('span', { class: 'layer-name' }), labelCount = el('span', { class: 'layer-count' });
    label.append(labelName, ' ', labelCount);
    const canvas = el('canvas', { class: 'map' });
    const left = el('canvas', { class: 'axis' }), bottom = el('canvas', { class: 'axis' });
    const bar = el('div');
    root.append(el('div', { class: 'pane-controls' }, modelSel, textSel, measureSel), el('div', { class: 'pane-controls' }, slider, label),
      el('div', { class: 'mapgrid' }, left, canvas, el('div'), bottom), bar);
    p.root = root; p.slider = slider; p.canvas = canvas;

    p.entries = () => { const s = set(p.model, p.text); return s ? s.similarity.filter((e) => e.measure === p.measure) : []; };
    p.entry = () => p.entries()[p.index];
    p.sync = () => {
      const s = set(p.model, p.text);
      modelSel.value = p.model; textSel.value = p.text;
      measureSel.replaceChildren(...measuresOf(s).map((m) => el('option', { value: m, text: m === 'dot' ? 'dot product' : m })));
      if (!measuresOf(s).includes(p.measure)) p.measure = measuresOf(s)[0];
      measureSel.value = p.measure;
      const n = p.entries().length;
      slider.max = Math.max(0, n - 1);
      p.index = Math.max(0, Math.min(n - 1, p.index));
      slider.value = p.index;
    };
    const size = () => Math.max(240, Math.min(720, Math.floor((root.clientWidth || 600) - 24 - 90), window.innerHeight - 320));
    let view = null;
    let token = 0;
    p.draw = async () => {
      const mine = ++token;
      const entries = p.entries(), e = entries[p.index];
      const s = set(p.model, p.text);
      if (!e) { labelName.textContent = 'no similarity maps'; labelCount.textContent = ''; return; }
      labelName.textContent = e.label; // the words of the map's figure title
      labelCount.textContent = `(${p.index + 1}/${entries.length})`;
      const map = data.maps[e.map];
      const c = await codes(e.map);
      if (mine !== token) return;
      let shared = null;
      if (state.shared) {
        shared = { lo: Infinity, hi: -Infinity };
        for (const x of entries) { const m = data.maps[x.map]; shared.lo = Math.min(shared.lo, m.min); shared.hi = Math.max(shared.hi, m.min + (LEVELS - 1) * m.scale); }
      }
      const px = size();
      if (!view) {
        const tokens = () => tokensFor(set(p.model, p.text), p.entry().stack);
        view = heatmap(canvas, px, (i, j) => ({ lines: ['query: ' + tok(tokens(), i), 'key: ' + tok(tokens(), j)], query: tokens()[i], key: tokens()[j] }));
      }
      view.setSize(px);
      view.show(map, c, lut(map, shared));
      const tokens = tokensFor(s, e.stack);
      p.labels = () => axisLabels(left, bottom, tokens, map.rows, px);
      p.labels();
      Object.assign(canvas.dataset, { model: p.model, text: p.text, measure: p.measure, point: e.point, stack: e.stack, index: p.index, map: e.map });
      bar.replaceChildren(shared ? colorbar(shared.lo, shared.hi) : colorbar(map.min, map.min + (LEVELS - 1) * map.scale));
      hooks.drawn++;
      if (hooks.firstMapMs == null) { hooks.firstMapMs = performance.now(); resolveReady(); }
    };
    p.paint = () => { if (view) view.paint(); if (p.labels) p.labels(); };
    p.step = (d) => { p.index = Math.max(0, Math.min(p.entries().length - 1, p.index + d)); slider.value = p.index; writeUrl(); return p.draw(); };
    slider.addEventListener('input', () => { p.index = Number(slider.value); writeUrl(); p.draw(); });
    // The first pane shows the model and text of the page's header: changing one changes the other.
    modelSel.addEventListener('change', () => { if (k === 0) return navigateTo(modelSel.value, p.text); p.model = modelSel.value; p.sync(); writeUrl(); p.draw(); });
    textSel.addEventListener('change', () => { if (k === 0) return navigateTo(p.model, textSel.value); p.text = textSel.value; p.sync(); writeUrl(); p.draw(); });
    measureSel.addEventListener('change', () => { p.measure = measureSel.value; p.sync(); writeUrl(); p.draw(); });
    p.sync();
    return p;
  }

  /** The panes anew: as <paramref>given</paramref> (from the URL), else the first as it was and the second one layer deeper. */
  function buildPanes(given) {
    const two = $('two-panes').checked;
    const first = state.panes[0];
    const base = first ? { model: first.model, text: first.text, measure: first.measure, index: first.index } : { model: state.model, text: state.text, measure: 'cosine', index: 0 };
    const panes = [makePane(0, given ? given[0] : base)];
    if (two) panes.push(makePane(1, given && given[1] ? given[1] : Object.assign({}, base, { index: base.index + 1 })));
    state.panes = panes;
    writeUrl();
    $('panes').replaceChildren(...panes.map((p) => p.root));
    for (const p of panes) { p.sync(); p.draw(); }
  }

  // ------------------------------------------------------------------ attention
  let attentionRenderers = [];
  const PANELS = [['qk', 'Q·Kᵀ'], ['position_bias', 'Position bias'], ['scores', 'Combined score'], ['probs', 'Softmax weights']];
  function attentionModules(s) {
    const mods = [];
    for (const a of s.attention) {
      const key = a.stack + '|' + a.block + '|' + a.module;
      if (!mods.find((m) => m.key === key)) mods.push({ key, label: a.label, heads: [] });
      mods.find((m) => m.key === key).heads.push(a);
    }
    return mods;
  }
  function buildAttention() {
    const s = set(state.model, state.text);
    const sel = $('att-module');
    const mods = s ? attentionModules(s) : [];
    sel.replaceChildren(...mods.map((m) => el('option', { value: m.key, text: m.label })));
    if (!mods.find((m) => m.key === state.module)) state.module = mods.length ? mods[0].key : null;
    if (state.module != null) sel.value = state.module;
    writeUrl();
    drawAttention();
  }
  async function drawAttention() {
    const s = set(state.model, state.text);
    const grid = $('att-grid');
    attentionRenderers = [];
    delete grid.dataset.drawn;
    const mod = s ? attentionModules(s).find((m) => m.key === $('att-module').value) : null;
    if (!mod) { grid.replaceChildren(el('p', { class: 'empty', text: 'no attention decomposition for this model and text (metrics.attention)' })); return; }
    const panels = PANELS.filter(([p]) => mod.heads.some((h) => p in h.panels));
    const kernel = mod.heads.some((h) => h.kernel);
    const cols = panels.length + (kernel ? 1 : 0);
    const size = Math.max(120, Math.min(260, Math.floor((grid.clientWidth || 1000) / cols) - 40));
    grid.style.gridTemplateColumns = `5em repeat(${cols}, ${size}px)`;
    const cells = [el('div')];
    for (const [, title] of panels) cells.push(el('div', { class: 'col', text: title }));
    if (kernel) cells.push(el('div', { class: 'col', text: 'Position bias kernel' }));
    const jobs = [];
    for (const h of mod.heads) {
      cells.push(el('div', { class: 'head', text: 'head ' + h.head }));
      const qTokens = tokensFor(s, h.stack), kTokens = h.cross ? tokensFor(s, 'encoder') : qTokens;
      for (const [p, title] of panels) {
        if (!(p in h.panels)) { cells.push(el('div')); continue; }
        const canvas = el('canvas', { class: 'map', 'data-head': h.head, 'data-panel': p });
        const map = data.maps[h.panels[p]];
        const r = heatmap(canvas, size, (i, j) => ({ lines: [`head ${h.head} · ${title}`, 'query: ' + tok(qTokens, i), 'key: ' + tok(kTokens, j)], query: qTokens[i], key: kTokens[j] }));
        attentionRenderers.push(r);
        const range = map.scale > 0 ? `${fmt(map.min)} … ${fmt(map.min + (LEVELS - 1) * map.scale)}` : fmt(map.min);
        cells.push(el('div', {}, canvas, el('div', { class: 'cell', text: range + (map.masked ? ` · ${map.masked} masked` : '') })));
        jobs.push(codes(h.panels[p]).then((c) => r.show(map, c, lut(map, null))));
      }
      if (kernel) cells.push(h.kernel ? kernelChart(h.kernel, size) : el('div'));
    }
    grid.replaceChildren(...cells);
    await Promise.all(jobs);
    if ($('att-module').value === mod.key && grid.contains(cells[1])) grid.dataset.drawn = mod.key; // every panel of this module shown
  }
  function kernelChart(k, size) {
    const w = size, hgt = Math.round(size * 0.6);
    const c = el('canvas', { width: w, height: hgt, class: 'kernel' });
    const ctx = c.getContext('2d');
    const vals = k.values, lo = Math.min(0, ...vals), hi = Math.max(0, ...vals);
    const y = (v) => hgt - 4 - (v - lo) / ((hi - lo) || 1) * (hgt - 8);
    const bw = w / vals.length;
    ctx.fillStyle = '#1f5fbf';
    vals.forEach((v, j) => { const top = Math.min(y(v), y(0)); ctx.fillRect(j * bw, top, Math.max(bw - 0.5, 0.5), Math.abs(y(v) - y(0)) || 1); });
    ctx.strokeStyle = '#999'; ctx.beginPath(); ctx.moveTo(0, y(0)); ctx.lineTo(w, y(0)); ctx.stroke();
    c.addEventListener('mousemove', (ev) => {
      const j = Math.floor((ev.clientX - c.getBoundingClientRect().left) / bw);
      if (j >= 0 && j < vals.length) showTip(ev, ['relative position ' + (j - k.row), 'bias: ' + fmt(vals[j])], { rel: j - k.row, value: String(vals[j]) });
    });
    c.addEventListener('mouseleave', hideTip);
    return el('div', {}, c, el('div', { class: 'cell', text: `row ${k.row}: key j − ${k.row}` }));
  }

  // ------------------------------------------------------------------ trajectories
  let traj = null;
  function buildTrajectory() {
    const s = set(state.model, state.text);
    const sel = $('traj-series');
    const list = s ? s.projection : [];
    sel.replaceChildren(...list.map((p) => el('option', { value: p.series, text: `${p.stack} · ${p.series}` })));
    if (!list.find((p) => p.series === state.series)) state.series = list.length ? list[0].series : null;
    if (state.series != null) sel.value = state.series;
    writeUrl();
    drawTrajectory();
  }
  function drawTrajectory() {
    const s = set(state.model, state.text);
    const box = $('traj');
    const p = s ? s.projection.find((x) => x.series === $('traj-series').value) : null;
    traj = null;
    if (!p) { box.replaceChildren(el('p', { class: 'empty', text: 'no trajectory projection for this model and text (metrics.projection: true)' })); $('traj-note').textContent = ''; return; }
    const n = p.layers.length, tokens = p.x.length / n, labels = tokensFor(s, p.stack);
    const W = Math.max(360, Math.min(900, (box.clientWidth || 900) - 10)), H = W, m = 30;
    let x0 = Math.min(...p.x), x1 = Math.max(...p.x), y0 = Math.min(...p.y), y1 = Math.max(...p.y);
    if (!(x1 > x0)) { x0 -= 1; x1 += 1; }
    if (!(y1 > y0)) { y0 -= 1; y1 += 1; }
    const sx = (v) => m + (v - x0) / (x1 - x0) * (W - 2 * m), sy = (v) => H - m - (v - y0) / (y1 - y0) * (H - 2 * m);
    const svg = svgEl('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, 'data-series': p.series, 'data-layers': n, 'data-tokens': tokens });
    const defs = svgEl('defs');
    const marker = svgEl('marker', { id: 'layer-dot', viewBox: '0 0 6 6', refX: 3, refY: 3, markerWidth: 5, markerHeight: 5, markerUnits: 'userSpaceOnUse' });
    marker.append(svgEl('circle', { cx: 3, cy: 3, r: 2.4, fill: '#333', 'fill-opacity': 0.55 }));
    defs.append(marker);
    svg.append(defs);
    const lines = [];
    const stride = tokens <= 64 ? 1 : Math.ceil(tokens / 64);
    const points = [];
    for (let t = 0; t < tokens; t++) {
      const pts = [];
      for (let l = 0; l < n; l++) { const X = sx(p.x[t * n + l]), Y = sy(p.y[t * n + l]); pts.push(X.toFixed(1) + ',' + Y.toFixed(1)); points.push([X, Y, t, l]); }
      const [r, g, b] = colormap[Math.round((tokens === 1 ? 0.2 : 0.85 * t / (tokens - 1)) * 255)];
      const line = svgEl('polyline', { points: pts.join(' '), stroke: `rgb(${r},${g},${b})`, 'marker-start': 'url(#layer-dot)', 'marker-mid': 'url(#layer-dot)', 'marker-end': 'url(#layer-dot)', 'data-token': t });
      lines.push(line); svg.append(line);
    }
    for (let t = 0; t < tokens; t += stride) {
      const text = svgEl('text', { x: sx(p.x[t * n + n - 1]) + 3, y: sy(p.y[t * n + n - 1]) - 3 });
      text.textContent = labels[t] == null ? '#' + t : labels[t];
      svg.append(text);
    }
    box.replaceChildren(svg);
    $('traj-note').textContent = `PCA over all ${n} layers of the text · PC1 ${pct(p.ratio[0])}, PC2 ${pct(p.ratio[1])} of variance · markers: layers` + (stride > 1 ? ` · every ${stride}th token labelled` : '');
    const nearest = s.nearest ? s.nearest[p.series] : null;
    const vocabulary = nearest ? data.tokenTables[nearest.tokenTable].tokens : null; // token id → string shown
    let hovered = null;
    svg.addEventListener('mousemove', (ev) => {
      const b = svg.getBoundingClientRect(), X = ev.clientX - b.left, Y = ev.clientY - b.top;
      let best = null, dist = 144;
      for (const q of points) { const d = (q[0] - X) ** 2 + (q[1] - Y) ** 2; if (d < dist) { dist = d; best = q; } }
      if (hovered) hovered.classList.remove('hover');
      if (!best) { hovered = null; return hideTip(); }
      const [, , t, l] = best;
      hovered = lines[t]; hovered.classList.add('hover');
      const out = ['token: ' + tok(labels, t), p.layerLabels[l]]; // "layer N · point", as the figures say
      if (nearest) for (const [measure, byLayer] of Object.entries(nearest.byMeasure)) {
        const top = (byLayer[String(p.layers[l])] || [])[t];
        if (top) out.push(`nearest (${measure === 'ip' ? 'inner product' : measure === 'l2' ? 'L2' : measure}): ${top.map((id) => vocabulary[id]).join(' · ')}`);
      }
      showTip(ev, out, { token: t, layer: p.layers[l] });
    });
    svg.addEventListener('mouseleave', () => { if (hovered) hovered.classList.remove('hover'); hideTip(); });
    svg.addEventListener('click', () => { if (hovered) setHighlight(Number(hovered.dataset.token)); });
    traj = { lines };
    paintTrajectoryHighlight();
  }
  const pct = (r) => r == null ? '?' : (r * 100).toFixed(1) + '%';
  function paintTrajectoryHighlight() {
    if (!traj) return;
    traj.lines.forEach((l, t) => l.classList.toggle('highlight', t === state.highlight));
    const h = traj.lines[state.highlight];
    if (h) h.parentNode.append(h); // on top
  }

  // ------------------------------------------------------------------ logit lens
  // The classic grid of the static figure: rows = layers (the first at the top, as the figure draws them; a layer the
  // file does not hold is a grey row), columns = input positions, each cell its most probable token coloured by its
  // probability (the range of the series' top probabilities, as the figure's colour scale). Hover: the top k and the
  // rank and probability of the token that actually comes next.
  let lens = null;
  function buildLens() {
    const s = set(state.model, state.text);
    const sel = $('lens-series');
    const list = s && s.logitLens ? s.logitLens : [];
    sel.replaceChildren(...list.map((e) => el('option', { value: e.series, text: `${e.stack} · ${e.series}` })));
    if (!list.find((e) => e.series === state.lens)) state.lens = list.length ? list[0].series : null;
    if (state.lens != null) sel.value = state.lens;
    writeUrl();
    drawLens();
  }
  const cutTo = (ctx, t, width) => {
    if (ctx.measureText(t).width <= width) return t;
    const g = graphemes ? [...graphemes.segment(t)].map((x) => x.segment) : Array.from(t);
    for (let n = g.length - 1; n > 0; n--) { const c = g.slice(0, n).join('') + '…'; if (ctx.measureText(c).width <= width) return c; }
    return '';
  };
  function drawLens() {
    const s = set(state.model, state.text);
    const box = $('lens');
    const e = s && s.logitLens ? s.logitLens.find((x) => x.series === $('lens-series').value) : null;
    lens = null;
    delete box.dataset.drawn;
    if (!e) { box.replaceChildren(el('p', { class: 'empty', text: 'no logit lens for this model and text (metrics.logit_lens)' })); return; }
    const vocabulary = data.tokenTables[e.tokenTable].tokens, inputs = tokensFor(s, e.stack), P = e.positions, k = e.k;
    const first = e.layers[0], rows = e.layers[e.layers.length - 1] - first + 1;
    const rowOf = new Map(e.layers.map((l, i) => [l, i])); // layer → its index in the entry's cells
    let lo = Infinity, hi = -Infinity;
    for (let c = 0; c < e.layers.length * P; c++) { const v = e.probabilities[c * k]; lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const colourOf = (p) => colormap[hi > lo ? Math.round((p - lo) / (hi - lo) * 255) : 128];
    const cw = Math.max(8, Math.min(64, Math.floor(((box.clientWidth || 1000) - 60) / P))), ch = Math.max(8, Math.min(20, Math.floor(640 / rows)));
    const canvas = el('canvas', { class: 'map lens', width: P * cw, height: rows * ch, 'data-series': e.series });
    const left = el('canvas', { class: 'axis', width: 56, height: rows * ch }), bottom = el('canvas', { class: 'axis', width: P * cw, height: 84 });
    const font = '10px ' + getComputedStyle(document.body).fontFamily;
    const ctx = canvas.getContext('2d');
    const paint = () => {
      ctx.font = font; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
      for (let r = 0; r < rows; r++) {
        const i = rowOf.get(first + r);
        for (let p = 0; p < P; p++) {
          if (i == null) { ctx.fillStyle = data.missingColor; ctx.fillRect(p * cw, r * ch, cw, ch); continue; }
          const cell = i * P + p, [R, G, B] = colourOf(e.probabilities[cell * k]);
          ctx.fillStyle = `rgb(${R},${G},${B})`; ctx.fillRect(p * cw, r * ch, cw, ch);
          if (cw < 18 || ch < 10) continue;
          ctx.fillStyle = (0.2126 * R + 0.7152 * G + 0.0722 * B) / 255 > 0.35 ? '#000' : '#fff'; // the figure's rule
          ctx.fillText(cutTo(ctx, vocabulary[e.ids[cell * k]], cw - 3), (p + 0.5) * cw, (r + 0.5) * ch);
        }
      }
      if (state.highlight != null && state.highlight < P) {
        ctx.strokeStyle = 'rgba(214, 39, 40, 0.95)'; ctx.lineWidth = 2; ctx.strokeRect(state.highlight * cw + 1, 1, cw - 2, rows * ch - 2);
      }
    };
    paint();
    const a = left.getContext('2d'), b = bottom.getContext('2d');
    a.font = font; a.fillStyle = '#333'; a.textAlign = 'right'; a.textBaseline = 'middle';
    const rowStride = Math.max(1, Math.ceil(11 / ch));
    for (let r = 0; r < rows; r += rowStride) a.fillText('layer ' + (first + r), 52, (r + 0.5) * ch);
    b.font = font; b.fillStyle = '#333'; b.textAlign = 'right'; b.textBaseline = 'middle';
    const colStride = Math.max(1, Math.ceil(11 / cw));
    for (let p = 0; p < P; p += colStride) {
      b.save(); b.translate((p + 0.5) * cw, 3); b.rotate(-Math.PI / 2); b.fillText(cutTo(b, inputs[p] == null ? '#' + p : inputs[p], 78), 0, 0); b.restore();
    }
    const at = (ev) => {
      const r = canvas.getBoundingClientRect();
      const row = Math.floor((ev.clientY - r.top) / r.height * rows), p = Math.floor((ev.clientX - r.left) / r.width * P);
      return row >= 0 && p >= 0 && row < rows && p < P ? [row, p] : null;
    };
    const prob = (v) => v == null ? '—' : v.toPrecision(3);
    const quoted = (t) => '“' + t + '”';
    canvas.addEventListener('mousemove', (ev) => {
      const rp = at(ev);
      if (!rp) return hideTip();
      const [row, p] = rp, layer = first + row, i = rowOf.get(layer);
      const head = [`layer ${layer} · position ${p}`, 'input: ' + tok(inputs, p)];
      if (i == null) return showTip(ev, [...head, 'not stored'], { layer, position: p });
      const cell = i * P + p, lines = [...head, `top ${k}:`];
      for (let r = 0; r < k; r++) lines.push(`  ${r + 1}. ${quoted(vocabulary[e.ids[cell * k + r]])}  ${prob(e.probabilities[cell * k + r])}`);
      const next = e.next[p];
      lines.push(next == null ? 'next: none (the text ends here)'
        : `next: ${quoted(vocabulary[next])} · rank ${e.nextRanks[cell]} ${e.nextRanks[cell] === 0 ? '(the top token)' : `(${e.nextRanks[cell]} more probable)`} · ${prob(e.nextProbabilities[cell])}`);
      showTip(ev, lines, { layer, position: p, top: vocabulary[e.ids[cell * k]], probability: String(e.probabilities[cell * k]),
        next: next == null ? '' : vocabulary[next], nextRank: e.nextRanks[cell] == null ? '' : String(e.nextRanks[cell]),
        nextProbability: e.nextProbabilities[cell] == null ? '' : String(e.nextProbabilities[cell]) });
    });
    canvas.addEventListener('mouseleave', hideTip);
    canvas.addEventListener('click', (ev) => { const rp = at(ev); if (rp) setHighlight(rp[1]); });
    box.replaceChildren(el('div', { class: 'lens-scroll' }, el('div', { class: 'mapgrid' }, left, canvas, el('div'), bottom)),
      el('div', { class: 'hint', text: `rows: layers ${first}…${first + rows - 1} (first at the top) · columns: input tokens · colour: the top token's probability` }), colorbar(lo, hi));
    lens = { paint };
    box.dataset.drawn = `${state.model}|${state.text}|${e.series}`;
  }

  // ------------------------------------------------------------------ study (metrics over the whole corpus)
  // The statistics as one small chart per statistic, one line per model (and series) over relative depth 0…1; the CKA
  // maps as heatmaps whose cells open, below, the two layers' similarity maps for a text the page embeds.
  const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  let studyRenderers = [], compareToken = 0;
  const ckaEntry = (stem) => data.study ? data.study.cka.find((c) => c.stem === stem) : null;
  function buildStudy() {
    studyRenderers = [];
    const lines = data.study.statistics, maps = data.study.cka;
    $('study-stats').replaceChildren(...(lines.length ? statisticsCharts(lines) : [el('p', { class: 'empty', text: 'no layer statistics (metrics.statistics)' })]));
    $('study-cka').replaceChildren(...(maps.length ? maps.map(ckaMap) : [el('p', { class: 'empty', text: 'no CKA maps (metrics.cka)' })]));
    drawStudyCompare();
  }
  function statisticsCharts(lines) {
    const withSeries = new Set(lines.map((l) => l.series)).size > 1;
    const named = lines.map((l, k) => ({ line: l, colour: PALETTE[k % PALETTE.length], label: withSeries ? `${l.model} · ${l.series.replace('_hidden_states', '')}` : l.model }));
    const measures = [];
    for (const l of lines) for (const m of l.measures) if (!measures.some((x) => x.key === m.key)) measures.push({ key: m.key, label: m.label });
    const legend = el('div', { class: 'legend' }, ...named.map((n) => el('span', {}, el('span', { class: 'swatch', style: `background:${n.colour}` }), ' ' + n.label)));
    return [legend, el('div', { class: 'charts' }, ...measures.map((m) => statisticsChart(m, named)))];
  }
  function statisticsChart(measure, named) {
    const W = 340, H = 220, L = 56, R = 12, T = 24, B = 34;
    const series = named.map((n) => ({ n, values: (n.line.measures.find((m) => m.key === measure.key) || { values: [] }).values }));
    const finite = series.flatMap((s) => s.values.filter((v) => v != null));
    let lo = finite.length ? Math.min(...finite) : 0, hi = finite.length ? Math.max(...finite) : 1;
    if (!(hi > lo)) { const pad = Math.abs(lo) * 0.1 || 1; lo -= pad; hi += pad; }
    const sx = (d) => L + d * (W - L - R), sy = (v) => H - B - (v - lo) / (hi - lo) * (H - T - B);
    const svg = svgEl('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'stat-chart', 'data-measure': measure.key });
    const text = (x, y, s, attrs) => { const t = svgEl('text', Object.assign({ x, y }, attrs)); t.textContent = s; svg.append(t); };
    text(W / 2, 14, measure.label, { 'text-anchor': 'middle', class: 'title' });
    svg.append(svgEl('path', { d: `M${L},${T}V${H - B}H${W - R}`, class: 'axis' }));
    for (const d of [0, 0.25, 0.5, 0.75, 1]) { svg.append(svgEl('path', { d: `M${sx(d)},${H - B}v4`, class: 'axis' })); text(sx(d), H - B + 15, String(d), { 'text-anchor': 'middle' }); }
    text((L + W - R) / 2, H - 4, 'relative depth (hidden state / blocks)', { 'text-anchor': 'middle' });
    for (const v of [lo, (lo + hi) / 2, hi]) { svg.append(svgEl('path', { d: `M${L - 4},${sy(v)}h4`, class: 'axis' })); text(L - 6, sy(v) + 3, fmt(v), { 'text-anchor': 'end' }); }
    if (!finite.length) text((L + W - R) / 2, (T + H - B) / 2, 'no values (nothing to average in this corpus)', { 'text-anchor': 'middle', class: 'none' });
    const points = [];
    for (const { n, values } of series) {
      let d = '';
      values.forEach((v, k) => {
        if (v == null) return;
        const X = sx(n.line.depth[k]), Y = sy(v);
        d += (d && values[k - 1] != null ? 'L' : 'M') + X.toFixed(1) + ',' + Y.toFixed(1);
        points.push({ X, Y, n, k, v });
        svg.append(svgEl('circle', { cx: X, cy: Y, r: 2.5, fill: n.colour, 'data-model': n.line.model, 'data-series': n.line.series, 'data-layer': n.line.layers[k] }));
      });
      svg.insertBefore(svgEl('path', { d, stroke: n.colour, class: 'line' }), svg.querySelector('circle'));
    }
    svg.addEventListener('mousemove', (ev) => {
      const b = svg.getBoundingClientRect(), x = ev.clientX - b.left, y = ev.clientY - b.top;
      let best = null, dist = 144;
      for (const p of points) { const d = (p.X - x) ** 2 + (p.Y - y) ** 2; if (d < dist) { dist = d; best = p; } }
      if (!best) return hideTip();
      const l = best.n.line, layer = l.layers[best.k], depth = l.depth[best.k];
      showTip(ev, [best.n.label, `layer ${layer} (${l.series}.${layer})`, 'relative depth ' + depth.toFixed(3), `${measure.label}: ${fmt(best.v)}`],
        { model: l.model, series: l.series, layer, depth: String(depth), measure: measure.key, value: String(best.v) });
    });
    svg.addEventListener('mouseleave', hideTip);
    return svg;
  }
  /** A CKA map as a heatmap (rows: A's layers, columns: B's), its own colour range; a click opens the cell's two similarity maps. */
  function ckaMap(c) {
    const nA = c.layersA.length, nB = c.layersB.length, cell = Math.max(8, Math.min(28, Math.floor(360 / Math.max(nA, nB))));
    const finite = c.values.filter((v) => v != null);
    const lo = finite.length ? Math.min(...finite) : 0, hi = finite.length ? Math.max(...finite) : 0;
    const colour = (v) => v == null ? data.missingColor : (([r, g, b]) => `rgb(${r},${g},${b})`)(colormap[hi > lo ? Math.round((v - lo) / (hi - lo) * 255) : 128]);
    const canvas = el('canvas', { class: 'map cka', width: nB * cell, height: nA * cell, 'data-stem': c.stem });
    const left = el('canvas', { class: 'axis', width: 40, height: nA * cell }), bottom = el('canvas', { class: 'axis', width: nB * cell, height: 22 });
    const ctx = canvas.getContext('2d');
    const paint = () => {
      for (let i = 0; i < nA; i++) for (let j = 0; j < nB; j++) { ctx.fillStyle = colour(c.values[i * nB + j]); ctx.fillRect(j * cell, i * cell, cell, cell); }
      if (state.cka === c.stem && state.ckaA != null) {
        const i = c.layersA.indexOf(state.ckaA), j = c.layersB.indexOf(state.ckaB);
        ctx.strokeStyle = '#d62728'; ctx.lineWidth = 2; ctx.strokeRect(j * cell + 1, i * cell + 1, cell - 2, cell - 2);
      }
    };
    paint();
    const stride = Math.max(1, Math.ceil(12 / cell));
    for (const [axis, layers, vertical] of [[left, c.layersA, false], [bottom, c.layersB, true]]) {
      const a = axis.getContext('2d');
      a.font = '10px ' + getComputedStyle(document.body).fontFamily; a.fillStyle = '#333'; a.textBaseline = 'middle';
      a.textAlign = vertical ? 'center' : 'right';
      layers.forEach((l, k) => { if (k % stride === 0) a.fillText(String(l), vertical ? (k + 0.5) * cell : 36, vertical ? 9 : (k + 0.5) * cell); });
    }
    const at = (ev) => {
      const box = canvas.getBoundingClientRect();
      const i = Math.floor((ev.clientY - box.top) / box.height * nA), j = Math.floor((ev.clientX - box.left) / box.width * nB);
      return i >= 0 && j >= 0 && i < nA && j < nB ? [i, j] : null;
    };
    canvas.addEventListener('mousemove', (ev) => {
      const ij = at(ev);
      if (!ij) return hideTip();
      const [i, j] = ij, v = c.values[i * nB + j];
      showTip(ev, [`${c.modelA} layer ${c.layersA[i]} × ${c.modelB} layer ${c.layersB[j]}: ${v == null ? 'NaN' : fmt(v)}`, 'click: the two layers\' similarity maps'],
        { stem: c.stem, a: c.layersA[i], b: c.layersB[j], value: v == null ? 'NaN' : String(v) });
    });
    canvas.addEventListener('mouseleave', hideTip);
    canvas.addEventListener('click', (ev) => {
      const ij = at(ev);
      if (!ij) return;
      Object.assign(state, { cka: c.stem, ckaA: c.layersA[ij[0]], ckaB: c.layersB[ij[1]] });
      writeUrl();
      for (const r of studyRenderers) if (r.cka) r.paint();
      drawStudyCompare();
    });
    studyRenderers.push({ cka: true, paint });
    const pair = c.modelA === c.modelB ? `${c.modelA} (layer × layer)` : `${c.modelA} × ${c.modelB}`;
    return el('figure', { class: 'pane cka-map', 'data-stem': c.stem },
      el('figcaption', {}, el('strong', { text: 'linear CKA · ' + pair }), el('div', { class: 'hint', text: `${c.rows} ${c.pairing} · ${c.rule}` })),
      el('div', { class: 'mapgrid' }, left, canvas, el('div'), bottom),
      el('div', { class: 'hint', text: `rows: ${c.modelA} layer · columns: ${c.modelB} layer` }), colorbar(lo, hi));
  }
  /** The clicked cell's two layers as similarity maps side by side, for a text whose per-text data the page embeds. */
  async function drawStudyCompare() {
    const box = $('study-compare');
    studyRenderers = studyRenderers.filter((r) => r.cka);
    const c = ckaEntry(state.cka);
    if (!c || state.ckaA == null) { box.replaceChildren(el('p', { class: 'hint', text: 'click a cell of a CKA map: its two layers\' similarity maps, side by side, for a text of your choice' })); return; }
    const texts = data.texts.filter((t) => set(c.modelA, t) && set(c.modelB, t));
    if (!texts.length) { box.replaceChildren(el('p', { class: 'empty', text: `the page embeds no per-text maps of ${c.modelA} and ${c.modelB}` })); return; }
    const text = texts.includes(state.text) ? state.text : texts[0];
    const textSel = el('select', { id: 'study-text', 'aria-label': 'text' }, ...texts.map((t) => el('option', { value: t, text: t })));
    textSel.value = text;
    textSel.addEventListener('change', () => navigateTo(state.model, textSel.value));
    const sides = [['a', c.modelA, c.seriesA, state.ckaA], ['b', c.modelB, c.seriesB, state.ckaB]];
    const panels = sides.map(([side, model, series, layer]) => {
      const s = set(model, text), measure = measuresOf(s).includes('cosine') ? 'cosine' : measuresOf(s)[0];
      const e = s.similarity.find((x) => x.measure === measure && x.point === `${series}.${layer}`);
      const root = el('div', { class: 'pane study-map', 'data-side': side, 'data-model': model, 'data-layer': layer });
      const title = el('div', { class: 'layer-label', text: `${side.toUpperCase()}: ${model} · ` + (e ? `${e.label} · ${measure}` : `layer ${layer}`) });
      if (!e) { root.append(title, el('p', { class: 'empty', text: `no ${measure} similarity map of ${series}.${layer} for ${model} · ${text}` })); return { root }; }
      root.dataset.point = e.point;
      const canvas = el('canvas', { class: 'map', 'data-map': e.map }), left = el('canvas', { class: 'axis' }), bottom = el('canvas', { class: 'axis' }), bar = el('div');
      root.append(title, el('div', { class: 'mapgrid' }, left, canvas, el('div'), bottom), bar);
      return { root, s, e, canvas, left, bottom, bar };
    });
    box.replaceChildren(el('div', { class: 'toolbar' }, el('strong', { text: `${c.modelA} layer ${state.ckaA} × ${c.modelB} layer ${state.ckaB}` }), el('label', {}, 'Text ', textSel)),
      el('div', { class: 'study-pair' }, ...panels.map((p) => p.root)));
    const px = Math.max(200, Math.min(480, Math.floor((box.clientWidth || 1000) / 2) - 130));
    const mine = ++compareToken;
    await Promise.all(panels.filter((p) => p.e).map(async (p) => {
      const map = data.maps[p.e.map], tokens = tokensFor(p.s, p.e.stack), mapCodes = await codes(p.e.map);
      if (mine !== compareToken) return; // a later click or text drew its own maps
      const r = heatmap(p.canvas, px, (i, j) => ({ lines: ['query: ' + tok(tokens, i), 'key: ' + tok(tokens, j)], query: tokens[i], key: tokens[j] }));
      r.show(map, mapCodes, lut(map, null));
      const labels = () => axisLabels(p.left, p.bottom, tokens, map.rows, px);
      labels();
      studyRenderers.push({ paint: () => { r.paint(); labels(); } });
      p.bar.replaceChildren(colorbar(map.min, map.min + (LEVELS - 1) * map.scale));
    }));
    if (mine === compareToken) box.dataset.drawn = `${state.cka}|${state.ckaA}|${state.ckaB}|${text}`;
  }

  // ------------------------------------------------------------------ static figures
  let observer = null;
  function buildGallery() {
    const s = set(state.model, state.text);
    const box = $('gallery');
    if (observer) observer.disconnect();
    observer = new IntersectionObserver((entries) => {
      for (const e of entries) if (e.isIntersecting) { const img = e.target; img.src = img.dataset.src; observer.unobserve(img); }
    }, { rootMargin: '200px 0px' });
    if (!s || s.figures.length === 0) { box.replaceChildren(el('p', { class: 'empty', text: 'no static figures for this model and text' })); return; }
    const sections = [];
    let current = null;
    for (const f of s.figures) {
      if (!current || current.group !== f.group) {
        current = { group: f.group, grid: el('div', { class: 'grid' }) };
        sections.push(el('section', {}, el('h2', { text: f.group }), current.grid));
      }
      const links = el('span', { class: 'formats' });
      for (const fmtName of ['png', 'pdf', 'svg']) if (f.files[fmtName]) links.append(el('a', { href: f.files[fmtName], text: fmtName.toUpperCase() }));
      let img = null;
      const src = f.thumb || f.files.svg;
      if (src) {
        img = el('img', { 'data-src': src, alt: f.caption, class: 'thumb' });
        if (f.thumbWidth) { img.width = f.thumbWidth; img.height = f.thumbHeight; }
        img.addEventListener('click', () => openFigure(s.figures.filter((g) => g.group === f.group), f));
        observer.observe(img);
      }
      current.grid.append(el('figure', {}, img, el('figcaption', {}, el('span', { text: f.caption }), links)));
    }
    box.replaceChildren(...sections);
  }
  // The lightbox steps through the figures of one gallery group (← →), in gallery order: layer after layer for every
  // figure kind, also those without a view of their own.
  let shown = { list: [], index: 0 };
  function openFigure(list, f) {
    flushUrl();
    shown = { list, index: Math.max(0, list.indexOf(f)) };
    showFigure();
    writeUrl('push');
  }
  function stepFigure(d) {
    const i = Math.min(shown.list.length - 1, Math.max(0, shown.index + d));
    if (i !== shown.index) { shown.index = i; showFigure(); writeUrl(); }
  }
  function closeFigure() {
    if ($('lightbox').hidden) return;
    flushUrl();
    $('lightbox').hidden = true;
    state.figure = null;
    writeUrl('push');
  }
  /** The figure with this stem in the current model × text, with the figures of its gallery group. */
  function figureByStem(stem) {
    const s = set(state.model, state.text);
    const f = s ? s.figures.find((g) => g.stem === stem) : null;
    return f ? { list: s.figures.filter((g) => g.group === f.group), f } : null;
  }
  function showFigure() {
    const f = shown.list[shown.index];
    state.figure = f.stem;
    $('lightbox-position').textContent = `${shown.index + 1} / ${shown.list.length}`;
    $('lightbox-prev').disabled = shown.index === 0;
    $('lightbox-next').disabled = shown.index === shown.list.length - 1;
    $('lightbox-caption').textContent = f.caption;
    const links = $('lightbox-links');
    links.replaceChildren(...['png', 'pdf', 'svg'].filter((x) => f.files[x]).map((x) => el('a', { href: f.files[x], text: x.toUpperCase() + ' ' })));
    const full = f.files.png || f.files.svg;
    $('lightbox-image').replaceChildren(full ? el('img', { src: full, alt: f.caption }) : el('p', { class: 'empty', text: 'PDF only' }));
    $('lightbox').hidden = false;
  }
  $('lightbox-close').addEventListener('click', closeFigure);
  $('lightbox-prev').addEventListener('click', () => stepFigure(-1));
  $('lightbox-next').addEventListener('click', () => stepFigure(1));
  $('lightbox').addEventListener('click', (ev) => { if (ev.target === $('lightbox')) closeFigure(); });

  // ------------------------------------------------------------------ run details
  function buildRun() {
    const body = document.querySelector('#run-models tbody');
    body.replaceChildren(...data.models.map((m) => el('tr', {}, el('td', {}, el('code', { text: m.key })), el('td', { text: m.id }), el('td', { text: m.source }),
      el('td', {}, el('code', { text: m.revision })), el('td', {}, el('code', { text: m.resolved || '' })), el('td', { text: m.dType }))));
    $('run-yaml').textContent = data.yaml;
    document.querySelector('#run-units tbody').replaceChildren(...data.run.map((u) => el('tr', {}, el('td', { text: u.stage }), el('td', {}, el('code', { text: u.unit })),
      el('td', {}, el('code', { text: u.fingerprint.slice(0, 16) })), el('td', { text: String(u.outputs) }))));
  }

  // ------------------------------------------------------------------ navigation
  // A view has a tab only when some model × text has data for it (the Study view: when the page has study data);
  // where the shown one has none, its tab is disabled and says why.
  const VIEWS = [
    { view: 'similarity', name: 'Similarity', has: (s) => s.similarity.length > 0, none: 'no similarity maps' },
    { view: 'attention', name: 'Attention', has: (s) => s.attention.length > 0, none: 'no attention decomposition (metrics.attention)' },
    { view: 'trajectory', name: 'Trajectories', has: (s) => s.projection.length > 0, none: 'no trajectory projection (metrics.projection)' },
    { view: 'lens', name: 'Logit lens', has: (s) => s.logitLens != null && s.logitLens.length > 0, none: 'no logit lens (metrics.logit_lens)' },
    { view: 'study', name: 'Study', has: () => data.study != null, none: 'no study (metrics.statistics, metrics.cka)', page: true },
    { view: 'figures', name: 'Figures', has: (s) => s.figures.length > 0, none: 'no static figures' },
    { view: 'run', name: 'Run details', has: () => true, none: '' },
  ];
  const views = VIEWS.filter((v) => v.view === 'run' || (v.page ? v.has() : data.sets.some(v.has)));
  function showView(v, mode) {
    if (mode === 'push') flushUrl();
    if (!views.some((x) => x.view === v)) v = views[0].view;
    const changed = state.view !== v;
    state.view = v;
    syncTabs();
    for (const s of document.querySelectorAll('.view')) s.hidden = s.dataset.view !== v;
    hideTip();
    if (v === 'attention') buildAttention();
    if (v === 'trajectory') buildTrajectory();
    if (v === 'lens') buildLens();
    if (v === 'figures') buildGallery();
    if (v === 'study') buildStudy();
    writeUrl(changed ? mode : undefined);
  }
  function syncTabs() {
    const s = set(state.model, state.text);
    for (const b of $('views').children) {
      const v = views.find((x) => x.view === b.dataset.view);
      const has = !s || v.has(s);
      b.disabled = !has;
      b.title = has ? '' : `${v.none} for ${state.model} · ${state.text}`;
      b.setAttribute('aria-selected', String(b.dataset.view === state.view));
    }
  }
  function navigateTo(model, text) {
    $('model').value = model; $('text').value = text;
    navigate();
  }
  function navigate() {
    flushUrl();
    const changed = state.model !== $('model').value || state.text !== $('text').value;
    state.model = $('model').value; state.text = $('text').value;
    if (state.panes[0]) { Object.assign(state.panes[0], { model: state.model, text: state.text }); state.panes[0].sync(); state.panes[0].draw(); }
    if (state.figure && !figureByStem(state.figure)) { $('lightbox').hidden = true; state.figure = null; }
    if (changed) writeUrl('push');
    showView(state.view);
  }

  // ------------------------------------------------------------------ URL state
  // The hash holds what is shown: view, model, text, the first pane's measure and layer (its map's capture point),
  // the colour scale, the second pane (compare=1 with model2, text2, measure2, layer2), the highlighted token, the
  // attention module, the trajectory series, the logit lens's series, the study's CKA cell (cka: the map's file stem, a and b: its layers) and
  // the full-size figure (its file stem). A change of view, model, text
  // or full-size figure is a new history entry (back returns to the view before); a step within a view replaces
  // the entry. A value the page does not have falls back to the default.
  let restoring = false, lastHash = null;
  function urlOf() {
    const q = new URLSearchParams();
    q.set('view', state.view); q.set('model', state.model); q.set('text', state.text);
    state.panes.forEach((p, k) => {
      const e = p.entry(), n = k === 0 ? '' : String(k + 1);
      if (k > 0) { q.set('compare', '1'); q.set('model' + n, p.model); q.set('text' + n, p.text); }
      if (p.measure) q.set('measure' + n, p.measure);
      if (e) q.set('layer' + n, e.point);
    });
    if (!state.shared) q.set('scale', 'per-map');
    if (state.highlight != null) q.set('token', String(state.highlight));
    if (state.view === 'attention' && state.module != null) q.set('module', state.module);
    if (state.view === 'trajectory' && state.series != null) q.set('series', state.series);
    if (state.view === 'lens' && state.lens != null) q.set('lens', state.lens);
    if (state.view === 'study' && state.cka != null) {
      q.set('cka', state.cka);
      if (state.ckaA != null) { q.set('a', String(state.ckaA)); q.set('b', String(state.ckaB)); }
    }
    if (state.figure != null) q.set('figure', state.figure);
    return '#' + q.toString();
  }
  /**
   * Puts the state in the URL: a new history entry with 'push' (at once), else in place of the current one, at most
   * every 100 ms (a dragged slider would otherwise hit the browser's limit on URL changes).
   */
  let pendingWrite = null;
  function writeUrl(mode) {
    if (restoring) return;
    if (mode !== 'push') { if (pendingWrite == null) pendingWrite = setTimeout(() => setUrl('replace'), 100); return; }
    setUrl('push');
  }
  /** Writes a pending replacement now: before a new entry is pushed, the current one keeps what it showed last. */
  function flushUrl() { if (pendingWrite != null && !restoring) setUrl('replace'); }
  function setUrl(mode) {
    clearTimeout(pendingWrite); pendingWrite = null;
    const hash = urlOf();
    lastHash = hash;
    if (hash === location.hash) return;
    try { history[mode === 'push' ? 'pushState' : 'replaceState'](null, '', hash); } catch (e) { /* a browser that will not let the page change its URL: the view still works */ }
  }
  /** The state a URL asks for, each value checked against the page's data (else the default). */
  function readUrl() {
    const q = new URLSearchParams(location.hash.replace(/^#/, ''));
    const pick = (value, allowed, fallback) => allowed.includes(value) ? value : fallback;
    const model = pick(q.get('model'), data.models.map((m) => m.key), data.models[0] ? data.models[0].key : '');
    const text = pick(q.get('text'), data.texts, data.texts[0] || '');
    const pane = (n, fallback) => {
      const m = pick(q.get('model' + n), data.models.map((x) => x.key), fallback.model);
      const t = pick(q.get('text' + n), data.texts, fallback.text);
      const s = set(m, t);
      const measures = s ? measuresOf(s) : [];
      const measure = pick(q.get('measure' + n), measures, measures.includes(fallback.measure) ? fallback.measure : measures[0]);
      const entries = s ? s.similarity.filter((e) => e.measure === measure) : [];
      const at = entries.findIndex((e) => e.point === q.get('layer' + n));
      return { model: m, text: t, measure, index: at >= 0 ? at : fallback.index };
    };
    const first = pane('', { model, text, measure: 'cosine', index: 0 });
    const compare = q.get('compare') === '1';
    const second = compare ? pane('2', Object.assign({}, first, { index: first.index + 1 })) : null;
    const s = set(model, text);
    const tokens = s ? s.tokens.length : 0;
    const token = /^[0-9]+$/.test(q.get('token') || '') && Number(q.get('token')) < tokens ? Number(q.get('token')) : null;
    // A CKA cell: the map's file stem and the two layers (as the map numbers them), both or neither.
    const cka = ckaEntry(q.get('cka')) ? q.get('cka') : null;
    const layerOf = (value, layers) => /^[0-9]+$/.test(value || '') && layers.includes(Number(value)) ? Number(value) : null;
    let ckaA = cka ? layerOf(q.get('a'), ckaEntry(cka).layersA) : null, ckaB = cka ? layerOf(q.get('b'), ckaEntry(cka).layersB) : null;
    if (ckaA == null || ckaB == null) ckaA = ckaB = null;
    return {
      view: pick(q.get('view'), views.map((v) => v.view), views[0].view), model, text, panes: second ? [first, second] : [first],
      shared: q.get('scale') !== 'per-map', token, module: q.get('module'), series: q.get('series'), lens: q.get('lens'), figure: q.get('figure'), cka, ckaA, ckaB,
    };
  }
  /** Shows what the URL asks for, then writes back what is shown (an invalid value replaced by its default). */
  function applyUrl() {
    const u = readUrl();
    restoring = true;
    try {
      $('model').value = u.model; $('text').value = u.text;
      state.model = u.model; state.text = u.text;
      state.shared = u.shared; $('shared-scale').checked = u.shared;
      state.highlight = u.token;
      state.module = u.module; state.series = u.series; state.lens = u.lens;
      Object.assign(state, { cka: u.cka, ckaA: u.ckaA, ckaB: u.ckaB });
      $('two-panes').checked = u.panes.length > 1;
      buildPanes(u.panes);
      state.view = null;
      showView(u.view);
      const figure = u.figure != null ? figureByStem(u.figure) : null;
      if (figure) openFigure(figure.list, figure.f); else { $('lightbox').hidden = true; state.figure = null; }
    } finally { restoring = false; }
    setUrl('replace');
  }
  const onUrlChange = () => { if (location.hash !== lastHash) applyUrl(); };

  function init() {
    document.title = data.title;
    for (const m of data.models) $('model').append(el('option', { value: m.key, text: m.key }));
    for (const t of data.texts) $('text').append(el('option', { value: t, text: t }));
    $('model').addEventListener('change', navigate);
    $('text').addEventListener('change', navigate);
    for (const { view, name } of views) {
      const b = el('button', { type: 'button', role: 'tab', 'data-view': view, text: name });
      b.addEventListener('click', () => showView(view, 'push'));
      $('views').append(b);
    }
    $('masked-swatch').style.background = data.maskedColor;
    $('shared-scale').addEventListener('change', () => { state.shared = $('shared-scale').checked; writeUrl(); for (const p of state.panes) p.draw(); });
    $('two-panes').addEventListener('change', () => buildPanes());
    $('att-module').addEventListener('change', () => { state.module = $('att-module').value; writeUrl(); drawAttention(); });
    $('traj-series').addEventListener('change', () => { state.series = $('traj-series').value; writeUrl(); drawTrajectory(); });
    $('lens-series').addEventListener('change', () => { state.lens = $('lens-series').value; writeUrl(); drawLens(); });
    let resizing = null;
    window.addEventListener('resize', () => {
      clearTimeout(resizing);
      resizing = setTimeout(() => { for (const p of state.panes) p.draw(); if (state.view === 'trajectory') drawTrajectory(); if (state.view === 'lens') drawLens(); }, 150);
    });
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') { closeFigure(); return; }
      if (!$('lightbox').hidden) {
        if (ev.key === 'ArrowRight') { stepFigure(1); ev.preventDefault(); }
        if (ev.key === 'ArrowLeft') { stepFigure(-1); ev.preventDefault(); }
        return;
      }
      const tag = (ev.target && ev.target.tagName) || '';
      if (state.view !== 'similarity' || tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA' || !state.panes[0]) return;
      if (ev.key === 'ArrowRight') { state.panes[0].step(1); ev.preventDefault(); }
      if (ev.key === 'ArrowLeft') { state.panes[0].step(-1); ev.preventDefault(); }
      if (ev.key === 'Home') { state.panes[0].step(-1e9); ev.preventDefault(); }
      if (ev.key === 'End') { state.panes[0].step(1e9); ev.preventDefault(); }
    });
    buildRun();
    applyUrl();
    window.addEventListener('popstate', onUrlChange);
    window.addEventListener('hashchange', onUrlChange);
  }

  // Test hooks: the state, the values a pane shows, and when the first map was drawn (ms since navigation start).
  window.__tta = Object.assign(hooks, {
    data,
    state: () => ({ view: state.view, model: state.model, text: state.text, highlight: state.highlight, shared: state.shared,
      module: state.module, series: state.series, lens: state.lens, figure: state.figure, views: views.map((v) => v.view), cka: state.cka, a: state.ckaA, b: state.ckaB,
      panes: state.panes.map((p) => { const e = p.entry(); return { model: p.model, text: p.text, measure: p.measure, index: p.index, point: e && e.point, stack: e && e.stack, map: e && e.map }; }) }),
    paneValues: async (k) => {
      const p = state.panes[k], e = p.entry(), map = data.maps[e.map], c = await codes(e.map);
      const out = [];
      for (let i = 0; i < map.rows; i++) for (let j = 0; j < map.cols; j++) out.push(valueAt(map, c, i, j).value);
      return { rows: map.rows, cols: map.cols, scale: map.scale, values: out };
    },
    showView,
    step: (k, d) => state.panes[k].step(d),
    navigate: (model, text) => { $('model').value = model; $('text').value = text; navigate(); },
  });

  try { init(); } catch (e) { console.error('explorer failed to start: ' + (e && e.stack || e)); throw e; }
})();
