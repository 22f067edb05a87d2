/* The capture page's live view: fetch the newest frame from the server and draw it on a canvas.
 *
 * Two requests take turns, each at most one every data-interval-ms (none while the page is hidden); a new
 * frame is drawn at the next animation frame, and a newer answer replaces one not drawn yet, so the
 * page always draws the newest frame and skips the rest when it falls behind. The map (uint16 levels in base64, 0 to the frame's peak) is coloured
 * through data-colorscale; the centre-of-pressure trail is drawn over it; the bars and the status line are
 * text and element heights (never HTML from the server). After each draw the page dispatches
 * "plantar-live-drawn" on window with {seq, arrived_unix_ms, drawn_unix_ms}.
 */
(function () {
  "use strict";
  var IDLE_MS = 250;
  var pending = null, drawRequested = false, seq = null, lut = null, lutKey = null;
  var draws = [];  // drawn_unix_ms of the recent draws, for the frames/s drawn
  var image = null, imageCanvas = null;

  function colours(root) {
    var key = root.getAttribute("data-colorscale");
    if (lut && key === lutKey) return lut;
    var stops = JSON.parse(key), out = new Uint8ClampedArray(256 * 3);
    var rgb = stops.map(function (s) {
      var h = s[1].replace("#", "");
      return [s[0], parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
    });
    for (var i = 0; i < 256; i++) {
      var t = i / 255, k = 1;
      while (k < rgb.length - 1 && rgb[k][0] < t) k++;
      var a = rgb[k - 1], b = rgb[k], f = b[0] > a[0] ? (t - a[0]) / (b[0] - a[0]) : 0;
      for (var c = 1; c < 4; c++) out[3 * i + c - 1] = a[c] + f * (b[c] - a[c]);
    }
    lut = out; lutKey = key;
    return lut;
  }

  function drawMap(root, p) {
    var canvas = root.querySelector("#live-canvas");
    if (!canvas) return;
    var rows = p.rows, cols = p.cols, box = canvas.parentElement;
    var scale = Math.min((box.clientWidth || 420) / cols, (box.clientHeight || 420) / rows);
    var width = Math.max(1, Math.floor(cols * scale)), height = Math.max(1, Math.floor(rows * scale));
    if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
    if (!imageCanvas || imageCanvas.width !== cols || imageCanvas.height !== rows) {
      imageCanvas = document.createElement("canvas");
      imageCanvas.width = cols; imageCanvas.height = rows;
      image = imageCanvas.getContext("2d").createImageData(cols, rows);
    }
    var raw = atob(p.map), table = colours(root), px = image.data;
    for (var i = 0, n = rows * cols; i < n; i++) {
      var level = (raw.charCodeAt(2 * i) | (raw.charCodeAt(2 * i + 1) << 8)) >> 8;  // little-endian uint16 -> 0..255
      px[4 * i] = table[3 * level]; px[4 * i + 1] = table[3 * level + 1]; px[4 * i + 2] = table[3 * level + 2];
      px[4 * i + 3] = 255;
    }
    imageCanvas.getContext("2d").putImageData(image, 0, 0);
    var ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(imageCanvas, 0, 0, width, height);
    // the trail: cell (r, c) is drawn at the centre of its square
    ctx.strokeStyle = "white"; ctx.lineWidth = 2; ctx.beginPath();
    var open = false;
    for (var j = 0; j < p.trail.length; j++) {
      var q = p.trail[j];
      if (!q) { open = false; continue; }
      var x = (q[1] + 0.5) * scale, y = (q[0] + 0.5) * scale;
      if (open) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      open = true;
    }
    ctx.stroke();
  }

  function drawBars(root, p) {
    ["left", "right"].forEach(function (side) {
      var bar = root.querySelector("#live-bar-" + side), text = root.querySelector("#live-bar-" + side + "-text");
      var pct = p.map ? p[side + "_pct"] : 0;
      if (bar) bar.style.height = Math.max(0, Math.min(100, pct)) + "%";
      if (text) text.textContent = p.map ? Math.round(p[side]) + " " + p.force_unit + " (" + Math.round(pct) + " %)" : "";
    });
  }

  function showStatus(text, withDrawn) {
    var status = document.getElementById("capture-status");
    if (!status) return;
    while (draws.length && Date.now() - draws[0] > 2000) draws.shift();
    var span = draws.length > 1 ? (draws[draws.length - 1] - draws[0]) / 1000 : 0;
    var hz = span > 0 ? (draws.length - 1) / span : 0;
    status.textContent = withDrawn ? text + ", drawn " + hz.toFixed(1) + "/s" : text;
  }

  function draw(root, p) {
    var now = Date.now();
    if (p.map) {
      drawMap(root, p);
      draws.push(now);
    } else {
      var canvas = root.querySelector("#live-canvas");
      if (canvas) canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    }
    drawBars(root, p);
    var title = root.querySelector("#live-map-title");
    if (title) title.textContent = p.map ? "pressure, 0 to " + Math.round(p.scale) + " " + p.unit : "";
    showStatus(p.status, !!p.map);
    if (p.map) {
      window.dispatchEvent(new CustomEvent("plantar-live-drawn",
        {detail: {seq: p.seq, arrived_unix_ms: p.arrived_unix_ms, drawn_unix_ms: now}}));
    }
  }

  function older(a, b) {  // frame ids: decimal integers, too big for a double
    return a.length !== b.length ? a.length < b.length : a < b;
  }

  function drawPending() {
    drawRequested = false;
    var root = document.getElementById("live-view");
    if (root && pending) { var p = pending; pending = null; draw(root, p); }
  }

  function poll() {
    var root = document.getElementById("live-view");
    if (!root || document.hidden) {  // no live view on this page, or nobody looking: check again later
      seq = null;
      window.setTimeout(poll, IDLE_MS);
      return;
    }
    var started = performance.now(), interval = parseFloat(root.getAttribute("data-interval-ms")) || 25;
    var url = root.getAttribute("data-url") + (seq !== null ? "?after=" + encodeURIComponent(seq) : "");
    fetch(url, {cache: "no-store", credentials: "same-origin"})
      .then(function (r) { return r.status === 200 ? r.json() : null; })
      .then(function (p) {
        if (!p) return;
        if (p.seq !== null && seq !== null && older(p.seq, seq)) return;  // the other request brought a newer one
        seq = p.seq;
        if (!p.unchanged) {
          pending = p;  // replaces a frame not drawn yet: the newest is drawn
          if (!drawRequested) { drawRequested = true; window.requestAnimationFrame(drawPending); }
        } else if (!pending) {
          showStatus(p.status, p.seq !== null);
        }
      })
      .catch(function () {})
      .then(function () { window.setTimeout(poll, Math.max(0, started + interval - performance.now())); });
  }

  // Two requests take turns: while one answer travels, the other is on its way (a busy machine delays each
  // round trip more than it costs).
  poll();
  window.setTimeout(poll, 12);
})();
