(function (prefix) {
  const script = document.currentScript;
  const root = (script && script.closest && script.closest('.cr-stepper')) ||
               document.getElementById(prefix + 'root');
  if (!root || root.getAttribute('data-ready')) return;
  root.setAttribute('data-ready', '1');
  const DATA = JSON.parse(root.querySelector('script.cr-data').textContent);
  const page = root.classList.contains('cr-page');
  const q = sel => root.querySelector(sel);
  const panel = q('.cr-panel'), pos = q('.cr-pos'), prev = q('.cr-prev'), next = q('.cr-next');
  const svg = q('.cr-graph svg');
  let mode = 'backward', at = 0;
  function esc(text) {
    return String(text).replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
  }
  function graphNode(id) {
    return svg && id ? svg.querySelector('[id="' + prefix + id + '"]') : null;
  }
  function unmark() {
    root.querySelectorAll('.cr-current, .cr-covered, .cr-source, .selected, li.cr-on').forEach(e =>
      e.classList.remove('cr-current', 'cr-covered', 'cr-source', 'selected', 'cr-on'));
  }
  function mark(id, cls) {
    const e = graphNode(id);
    if (e) e.classList.add(cls);
    return e;
  }
  function array(a, role, missing) {
    if (!a) return `<p class="cr-muted">${esc(missing)}</p>`;
    return (a.stats ? `<p class="cr-muted">summarised: ${esc(a.stats)}</p>` : '') +
           `<pre class="cr-array" data-role="${role}">${esc(a.text)}</pre>`;
  }
  function kicker(s, n) {
    return `<p class="cr-kicker">${mode} step ${s.index} of ${n}` +
           (s.module ? ` &middot; module ${esc(s.module)}` : '') + '</p>' +
           `<h2 class="cr-title">${esc(s.definition)}</h2>`;
  }
  function backwardHtml(s, n) {
    let h = kicker(s, n) + '<h3>chain rule</h3>' +
      `<code class="cr-formula">${esc(s.formula)}</code>` +
      `<code class="cr-shapes">shapes: ${esc(s.shapes)}</code>`;
    if (s.upstream) {
      if (!s.upstream.length) {
        h += '<h3>upstream gradient</h3><p class="cr-muted">none: the backward pass starts ' +
             `here, with ${esc(s.gradient)} = 1</p>`;
      } else {
        h += `<h3>upstream gradient${s.upstream.length > 1 ? 's' : ''}</h3>`;
        s.upstream.forEach(u => {
          h += `<p class="cr-from"><b>${esc(u.label)}</b> ${esc(u.shape)}</p>` +
               array(u.value, 'upstream', 'not kept');
        });
      }
    }
    if (s.contributions && s.contributions.length) {
      const k = s.contributions.length;
      h += `<h3>fan-out: ${esc(s.name)} went into ${s.consumers} op${s.consumers > 1 ? 's' : ''} ` +
           `(${k} inputs), so its gradient is the sum of ${k} contributions</h3>` +
           '<div class="cr-sum">';
      s.contributions.forEach((c, i) => {
        h += `<p class="cr-part">${i ? '+ ' : ''}<b>${esc(c.label)}</b> ${esc(c.shape)}, ` +
             `norm ${esc(c.norm)}</p>` +
             array(c.value, 'contribution', 'not kept');
      });
      h += `<p>= <b>${esc(s.gradient)}</b>, the sum (below)</p></div>`;
    }
    h += '<h3>gradient</h3>' +
      `<p class="cr-grad"><b>${esc(s.gradient)}</b> ${esc(s.grad_shape)}, ` +
      `norm |${esc(s.gradient)}| = ${esc(s.norm)}</p>` + array(s.grad, 'gradient', 'not recorded');
    if (s.notes.length) {
      h += '<h3>notes</h3>';
      s.notes.forEach(note => { h += `<p class="cr-muted">${esc(note)}</p>`; });
    }
    return h;
  }
  function forwardHtml(s, n) {
    return kicker(s, n) + '<h3>the op</h3>' +
      `<code class="cr-formula">${esc(s.definition)}</code>` +
      `<code class="cr-shapes">shapes: ${esc(s.shapes)}</code>` +
      `<h3>value of ${esc(s.name)}</h3>` + array(s.value, 'value',
        'not kept by the graph: no VJP needs it, so it was freed after the forward pass');
  }
  function intro(n) {
    const what = mode === 'backward' ? 'the backward pass, in the order the engine runs it'
                                     : 'the forward pass, in the order it ran';
    return `<p class="cr-muted">${n} steps: ${what}. Press Next (or the &rarr; key) for the ` +
           `first.${svg ? ' Or click a node of the graph.' : ''}</p>`;
  }
  function go(i) {
    const steps = DATA[mode] || [];
    at = Math.max(0, Math.min(steps.length, i));
    unmark();
    prev.disabled = at <= 1;
    next.disabled = at >= steps.length;
    if (at === 0) {
      pos.textContent = `${steps.length} steps`;
      panel.innerHTML = intro(steps.length);
      return;
    }
    const s = steps[at - 1];
    pos.textContent = `step ${at} of ${steps.length}`;
    (s.sources || []).forEach(id => mark(id, 'cr-source'));
    (s.covered || []).forEach(id => mark(id, 'cr-covered'));
    const main = mark(s.node, 'cr-current');
    panel.innerHTML = mode === 'backward' ? backwardHtml(s, steps.length)
                                          : forwardHtml(s, steps.length);
    panel.scrollTop = 0;
    const list = q(`ol.cr-steps[data-mode="${mode}"]`);
    const item = list && list.children[at - 1];
    if (item) {
      item.classList.add('cr-on');
      const top = item.offsetTop, bottom = top + item.offsetHeight;
      if (top < list.scrollTop || bottom > list.scrollTop + list.clientHeight) {
        list.scrollTop = top - list.clientHeight / 3;
      }
    }
    if (main) reveal(main);
  }
  function setMode(m) {
    mode = m;
    root.querySelectorAll('button.cr-mode').forEach(b =>
      b.setAttribute('aria-pressed', b.dataset.mode === m ? 'true' : 'false'));
    root.querySelectorAll('ol.cr-steps').forEach(l => { l.hidden = l.dataset.mode !== m; });
    go(0);
  }
  function step(delta) { go(delta > 0 ? at + 1 : Math.max(at ? 1 : 0, at - 1)); }
  prev.addEventListener('click', () => step(-1));
  next.addEventListener('click', () => step(1));
  root.querySelectorAll('button.cr-mode').forEach(b =>
    b.addEventListener('click', () => setMode(b.dataset.mode)));
  root.querySelectorAll('ol.cr-steps').forEach(list =>
    Array.from(list.children).forEach((li, i) => li.addEventListener('click', () => {
      if (list.dataset.mode !== mode) setMode(list.dataset.mode);
      go(i + 1);
    })));
  (page ? document : root).addEventListener('keydown', ev => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
      step(ev.key === 'ArrowRight' ? 1 : -1);
      ev.preventDefault();
      ev.stopPropagation();
    }
  });

  // Clicking a node: its value, gradient, chain-rule step and the bytes it keeps for backward.
  function show(id) {
    const d = (DATA.nodes || {})[id];
    if (!d) return;
    unmark();
    mark(id, 'selected');
    let h = `<h2>${esc(d.label)}</h2><p class="cr-muted">${esc(d.kind)}: ${esc(d.op)}, ` +
            `${esc(d.shape)} ${esc(d.dtype)}, module ${esc(d.scope)}</p>`;
    h += '<h3>value</h3>';
    h += d.value && d.value.min !== undefined
      ? `<p>min ${esc(d.value.min)}, max ${esc(d.value.max)}, mean ${esc(d.value.mean)} (${d.value.size} entries)</p>`
      : '<p class="cr-muted">not kept by the graph: no VJP needed it, so it was freed after the forward pass</p>';
    h += '<h3>gradient</h3>';
    h += d.grad ? `<p>shape ${esc(d.grad.shape)}, norm |g| = ${esc(d.grad.norm)}</p>`
                : '<p class="cr-muted">none: this input needs no gradient</p>';
    h += '<h3>chain rule</h3>';
    if (d.step) {
      h += `<p>step ${d.step.index} of ${d.step.of} of the backward pass: ${esc(d.step.definition)}</p>`;
      h += `<code class="formula">${esc(d.step.formula)}</code><code>${esc(d.step.shapes)}</code>`;
      d.step.notes.forEach(n => { h += `<p class="cr-muted">${esc(n)}</p>`; });
    } else {
      h += '<p class="cr-muted">no step: no gradient flows to it</p>';
    }
    h += '<h3>memory kept for backward</h3>';
    if (d.kind === 'variable' && d.op === 'leaf') {
      h += '<p class="bytes">a parameter: 0 extra bytes (the model holds it in prediction too)</p>';
    } else if (d.kind === 'constant') {
      h += '<p class="bytes">an input: 0 extra bytes (the caller holds it either way)</p>';
    } else if (d.saved) {
      h += `<p class="bytes">this op saved ${d.saved.bytes.toLocaleString('en-US')} bytes extra:</p><ul>`;
      d.saved.items.forEach(i => { h += `<li>${esc(i)}</li>`; });
      h += '</ul>';
    } else {
      h += '<p class="bytes">this op saved 0 bytes for backward</p>';
    }
    if (d.held_by.length) {
      h += `<p>this value is kept by: ${d.held_by.map(esc).join('; ')}</p>`;
    }
    panel.innerHTML = h;
  }

  // The graph fits the pane: its viewBox is the camera; the wheel zooms, a drag pans.
  let reveal = () => {};
  if (svg) {
    const b = svg.viewBox.baseVal;
    const home = [b.x, b.y, b.width, b.height];
    let view = home.slice(), drag = null, moved = false;
    const apply = () => svg.setAttribute('viewBox', view.join(' '));
    const toGraph = (x, y) => {
      const p = svg.createSVGPoint();
      p.x = x; p.y = y;
      return p.matrixTransform(svg.getScreenCTM().inverse());
    };
    const zoom = (factor, cx, cy) => {
      const w = Math.min(home[2] * 2, Math.max(home[2] / 50, view[2] * factor));
      const f = w / view[2];
      view = [cx - (cx - view[0]) * f, cy - (cy - view[1]) * f, view[2] * f, view[3] * f];
      apply();
    };
    const centre = () => [view[0] + view[2] / 2, view[1] + view[3] / 2];
    svg.addEventListener('wheel', ev => {
      if (!page && !root.contains(document.activeElement)) return;  // let the notebook scroll
      ev.preventDefault();
      const p = toGraph(ev.clientX, ev.clientY);
      zoom(Math.exp(ev.deltaY * 0.0015), p.x, p.y);
    }, {passive: false});
    svg.addEventListener('pointerdown', ev => {
      if (ev.button !== 0) return;
      drag = {x: ev.clientX, y: ev.clientY, view: view.slice(), scale: svg.getScreenCTM().a,
              id: ev.pointerId};
      moved = false;
    });
    svg.addEventListener('pointermove', ev => {
      if (!drag) return;
      const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (!moved && Math.hypot(dx, dy) < 4) return;
      if (!moved) {
        moved = true;
        svg.setPointerCapture(drag.id);
        svg.classList.add('cr-dragging');
      }
      view = [drag.view[0] - dx / drag.scale, drag.view[1] - dy / drag.scale, view[2], view[3]];
      apply();
    });
    const stop = () => { drag = null; svg.classList.remove('cr-dragging'); };
    svg.addEventListener('pointerup', stop);
    svg.addEventListener('pointercancel', stop);
    svg.addEventListener('click', ev => {
      if (moved) { moved = false; ev.stopPropagation(); ev.preventDefault(); }
    }, true);
    q('.cr-zoom-in').addEventListener('click', () => zoom(1 / 1.3, ...centre()));
    q('.cr-zoom-out').addEventListener('click', () => zoom(1.3, ...centre()));
    q('.cr-fit').addEventListener('click', () => { view = home.slice(); apply(); });
    reveal = e => {  // pan so that a highlighted node is in sight
      const r = e.getBoundingClientRect(), pane = svg.getBoundingClientRect();
      if (r.left >= pane.left && r.right <= pane.right && r.top >= pane.top &&
          r.bottom <= pane.bottom) return;
      const p = toGraph((r.left + r.right) / 2, (r.top + r.bottom) / 2);
      view = [p.x - view[2] / 2, p.y - view[3] / 2, view[2], view[3]];
      apply();
    };
    svg.querySelectorAll('g.node').forEach(g => {
      g.addEventListener('click', () => show(g.id.slice(prefix.length)));
    });
  }
  go(0);
})
